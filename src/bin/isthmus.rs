//! `isthmus`: the liaison officers' CLI. All logic is in `isthmus::cli`.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = isthmus::cli::Cli::parse();
    let code = isthmus::cli::main(cli).await;
    std::process::exit(code);
}
