//! gRPC server reflection, asked by tonic-reflection's own client (the
//! client grpcurl-like tools use is the same protocol): both `v1` and
//! `v1alpha` list the services and resolve `isthmus.v1.Isthmus` into a
//! descriptor whose methods are the contract's, and only for roster
//! principals.

use crate::util::*;
use prost::Message;
use prost_types::FileDescriptorProto;
use tonic::Code;
use tonic_reflection::pb::{v1, v1alpha};

async fn channel(s: &TestServer, who: &str) -> tonic::transport::Channel {
    let config = isthmus::tls::client_config(&tls_of(&s.fed, who)).expect("config");
    isthmus::client::channel(&s.server(), config).await.expect("channel")
}

/// Sends `requests` on one reflection stream (v1) and returns the answers.
async fn ask_v1(
    ch: tonic::transport::Channel,
    requests: Vec<v1::server_reflection_request::MessageRequest>,
) -> Result<Vec<v1::server_reflection_response::MessageResponse>, tonic::Status> {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(ch);
    let n = requests.len();
    let out = requests.into_iter().map(|r| v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(r),
    });
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(out))
        .await?
        .into_inner();
    let mut answers = Vec::new();
    while answers.len() < n {
        let msg = stream.message().await?.expect("one answer per request");
        answers.push(msg.message_response.expect("a response"));
    }
    Ok(answers)
}

fn services(r: &v1::server_reflection_response::MessageResponse) -> Vec<String> {
    match r {
        v1::server_reflection_response::MessageResponse::ListServicesResponse(l) => {
            l.service.iter().map(|s| s.name.clone()).collect()
        }
        other => panic!("expected a service list, got {other:?}"),
    }
}

#[tokio::test]
async fn reflection_lists_and_resolves_the_api_for_members_only() {
    use v1::server_reflection_request::MessageRequest as Req;
    use v1::server_reflection_response::MessageResponse as Resp;
    let s = TestServer::start(federation()).await;
    let answers = ask_v1(
        channel(&s, "PA").await,
        vec![
            Req::ListServices(String::new()),
            Req::FileContainingSymbol("isthmus.v1.Isthmus".into()),
        ],
    )
    .await
    .expect("reflection answers a member");
    let listed = services(&answers[0]);
    for want in [
        "isthmus.v1.Isthmus",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(listed.iter().any(|s| s == want), "{want} missing from {listed:?}");
    }
    let Resp::FileDescriptorResponse(files) = &answers[1] else {
        panic!("expected descriptors, got {:?}", answers[1]);
    };
    let files: Vec<FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|b| FileDescriptorProto::decode(b.as_slice()).expect("a descriptor"))
        .collect();
    let service = files
        .iter()
        .flat_map(|f| &f.service)
        .find(|s| s.name() == "Isthmus")
        .expect("the Isthmus service");
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "Publish",
            "Subscribe",
            "GetEntry",
            "WhoAmI",
            "GetCheckpoint",
            "GetInclusionProof",
            "GetConsistencyProof",
            "Witness"
        ]
    );
    // A client then fetches each dependency by name, as grpcurl does.
    let deps: Vec<Req> = files[0]
        .dependency
        .iter()
        .map(|d| Req::FileByFilename(d.clone()))
        .collect();
    assert!(!deps.is_empty(), "service.proto imports ledger.proto");
    let more = ask_v1(channel(&s, "PA").await, deps).await.expect("dependencies");
    let imported = more
        .iter()
        .all(|r| matches!(r, Resp::FileDescriptorResponse(f) if !f.file_descriptor_proto.is_empty()));
    assert!(imported, "every dependency resolves: {more:?}");

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel(&s, "US").await);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .expect("v1alpha")
        .into_inner();
    let first = stream.message().await.expect("answer").expect("one");
    assert!(matches!(
        first.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(_))
    ));

    let roster = s.fed.roster().expect("roster");
    let without_br = isthmus::roster::Roster::new(
        roster.members().filter(|m| m.id.as_str() != "BR").cloned().collect(),
        roster.terms(),
    )
    .expect("roster");
    let t = TestServer::start_with_roster(s.fed.clone(), without_br).await;
    let err = ask_v1(channel(&t, "BR").await, vec![Req::ListServices(String::new())])
        .await
        .expect_err("a certificate outside the roster");
    assert_eq!(err.code(), Code::Unauthenticated, "{}", err.message());
    t.stop().await;
    s.stop().await;
}
