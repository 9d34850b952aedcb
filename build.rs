//! Compiles the gRPC contract in `proto/` with protox (pure Rust), so
//! building needs no system `protoc`, and writes its encoded descriptor set
//! for gRPC server reflection.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/isthmus/v1/alert.proto",
        "proto/isthmus/v1/ledger.proto",
        "proto/isthmus/v1/service.proto",
        "proto/isthmus/v1/sealed.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("isthmus_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::StrictCodec")
        .compile_fds(fds)?;
    Ok(())
}
