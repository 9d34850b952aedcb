//! The hostile-input corpus: a table of malformed, oversized, mis-signed,
//! replayed and unauthorised requests across every RPC. Each must get its
//! exact gRPC status and leave the ledger's size and root unchanged. The
//! table is documented case by case in docs/hostile-inputs.md.

use crate::util::*;
use isthmus::client::Client;
use isthmus::devcerts::DevFederation;
use isthmus::envelope::pae;
use isthmus::pb;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use tonic::Code;

/// One request, typed or raw (raw: exact bytes as the gRPC message body).
enum Call {
    Publish(pb::Envelope),
    Subscribe(pb::SubscribeRequest),
    GetEntry(Option<pb::get_entry_request::Key>),
    WhoAmI,
    Checkpoint(u64),
    Inclusion(u64, u64),
    Consistency(u64, u64),
    Raw(&'static str, Vec<u8>),
}

struct Case {
    name: &'static str,
    caller: &'static str,
    call: Call,
    code: Code,
    /// Text the status message must contain ("" for any).
    says: &'static str,
}

fn case(name: &'static str, caller: &'static str, call: Call, code: Code) -> Case {
    Case {
        name,
        caller,
        call,
        code,
        says: "",
    }
}

/// A case whose refusal message must also contain `says`.
fn case_saying(name: &'static str, call: Call, code: Code, says: &'static str) -> Case {
    Case {
        says,
        ..case(name, "CO", call, code)
    }
}

/// The status code of one call (`Code::Ok` when it succeeds).
async fn code_of(c: &mut Client, raw: &mut raw::RawClient, call: Call) -> (Code, String) {
    let r = match call {
        Call::Publish(e) => c.publish(e).await.map(drop),
        Call::Subscribe(r) => c.subscribe(r).await.map(drop),
        Call::GetEntry(key) => c.get_entry(pb::GetEntryRequest { key }).await.map(drop),
        Call::WhoAmI => c.who_am_i(pb::WhoAmIRequest {}).await.map(drop),
        Call::Checkpoint(min_size) => c
            .get_checkpoint(pb::GetCheckpointRequest {
                min_size,
                ..Default::default()
            })
            .await
            .map(drop),
        Call::Inclusion(index, tree_size) => c
            .get_inclusion_proof(pb::InclusionProofRequest { index, tree_size })
            .await
            .map(drop),
        Call::Consistency(old_size, new_size) => c
            .get_consistency_proof(pb::ConsistencyProofRequest { old_size, new_size })
            .await
            .map(drop),
        Call::Raw(method, body) => raw.call(method, body).await.map(drop),
    };
    match r {
        Ok(()) => (Code::Ok, String::new()),
        Err(s) => (s.code(), s.message().to_owned()),
    }
}

/// Runs every case against `s`, asserting code and an unchanged ledger.
async fn run(s: &TestServer, cases: Vec<Case>, stranger: &isthmus::tls::TlsFiles) -> usize {
    let mut clients: HashMap<&str, (Client, raw::RawClient)> = HashMap::new();
    let n = cases.len();
    for c in cases {
        if !clients.contains_key(c.caller) {
            let tls = match c.caller {
                "ZZ" => stranger.clone(),
                id => tls_of(&s.fed, id),
            };
            let typed = isthmus::client::connect(&s.server(), &tls).await.expect("connect");
            let raw = raw::RawClient::connect(&s.server(), &tls).await;
            clients.insert(c.caller, (typed, raw));
        }
        let (typed, raw) = clients.get_mut(c.caller).expect("client");
        let (size, root) = (s.size(), s.hub.ledger().root(s.size()).expect("root"));
        let (code, msg) = code_of(typed, raw, c.call).await;
        assert_eq!(code, c.code, "case {:?}: got {code:?} ({msg})", c.name);
        assert!(
            msg.contains(c.says),
            "case {:?}: message {msg:?} lacks {:?}",
            c.name,
            c.says
        );
        assert_eq!(s.size(), size, "case {:?} changed the ledger size", c.name);
        let after = s.hub.ledger().root(size).expect("root");
        assert_eq!(after, root, "case {:?} changed the ledger root", c.name);
    }
    n
}

/// A correction of `seed-1` (CO to PA, TLP:AMBER) to `to` at `tlp`.
fn amending_seed(to: &[&str], tlp: pb::Tlp) -> pb::Alert {
    let mut a = alert("h-amends", "CO", to);
    a.tlp = tlp as i32;
    a.amends = Some(pb::Amendment {
        id: "seed-1".into(),
        kind: pb::AmendmentKind::Correction as i32,
        reason: "corrected".into(),
        widens_distribution: false,
    });
    a
}

/// A valid CO alert to PA, changed by `f`.
fn with(f: impl FnOnce(&mut pb::Alert)) -> pb::Alert {
    let mut a = alert("h-1", "CO", &["PA"]);
    f(&mut a);
    a
}

/// Seals `a` with CO's key.
fn co(fed: &DevFederation, a: pb::Alert) -> Call {
    Call::Publish(signed(fed, "CO", &a))
}

/// An envelope over arbitrary payload bytes, properly signed by `who`.
fn signed_raw(fed: &DevFederation, who: &str, payload_type: &str, payload: Vec<u8>) -> pb::Envelope {
    let key = signing(fed, who);
    pb::Envelope {
        signatures: vec![pb::Signature {
            sig: key.sign(&pae(payload_type, &payload)).to_bytes().to_vec(),
            keyid: key.public_key().key_id(),
        }],
        payload,
        payload_type: payload_type.to_owned(),
    }
}

fn raw_payload(fed: &DevFederation, payload: Vec<u8>) -> Call {
    Call::Publish(signed_raw(fed, "CO", pb::ALERT_PAYLOAD_TYPE, payload))
}

fn ts(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

fn good_bytes() -> Vec<u8> {
    with(|_| {}).encode_to_vec()
}

/// A valid alert followed by field 10 (title) holding invalid UTF-8.
fn non_utf8_title() -> Vec<u8> {
    let mut b = good_bytes();
    b.extend_from_slice(&[0x52, 0x02, 0xff, 0xfe]);
    b
}

/// A valid alert followed by an unknown group field 99 nested 200 deep.
fn deeply_nested() -> Vec<u8> {
    let mut b = good_bytes();
    for _ in 0..200 {
        b.extend_from_slice(&[0x9b, 0x06]);
    }
    for _ in 0..200 {
        b.extend_from_slice(&[0x9c, 0x06]);
    }
    b
}

fn publish_cases(fed: &DevFederation) -> Vec<Case> {
    use Code::*;
    let env = |f: &dyn Fn(&mut pb::Envelope)| {
        let mut e = signed(fed, "CO", &with(|_| {}));
        f(&mut e);
        Call::Publish(e)
    };
    let truncated = {
        let b = good_bytes();
        b[..b.len() - 5].to_vec()
    };
    let subjects = (0..10_000)
        .map(|i| pb::Subject {
            name: format!("subject-{i}"),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    vec![
        case(
            "garbage payload, signed",
            "CO",
            raw_payload(fed, vec![0xff; 40]),
            InvalidArgument,
        ),
        case(
            "truncated payload, signed",
            "CO",
            raw_payload(fed, truncated),
            InvalidArgument,
        ),
        case("empty payload, signed", "CO", raw_payload(fed, vec![]), InvalidArgument),
        case(
            "non-UTF-8 title, signed",
            "CO",
            raw_payload(fed, non_utf8_title()),
            InvalidArgument,
        ),
        case(
            "groups nested 200 deep",
            "CO",
            raw_payload(fed, deeply_nested()),
            InvalidArgument,
        ),
        case(
            "wrong payload type, signed over it",
            "CO",
            Call::Publish(signed_raw(fed, "CO", "application/json", good_bytes())),
            InvalidArgument,
        ),
        case(
            "envelope over 64000 bytes",
            "CO",
            co(fed, with(|a| a.summary = "x".repeat(70_000))),
            ResourceExhausted,
        ),
        case(
            "10,000 subjects",
            "CO",
            co(fed, with(|a| a.subjects = subjects)),
            ResourceExhausted,
        ),
        case(
            "title of 201 chars",
            "CO",
            co(fed, with(|a| a.title = "t".repeat(201))),
            InvalidArgument,
        ),
        case(
            "summary of 16,001 bytes",
            "CO",
            co(fed, with(|a| a.summary = "s".repeat(16_001))),
            InvalidArgument,
        ),
        case("no created", "CO", co(fed, with(|a| a.created = None)), InvalidArgument),
        case(
            "no language",
            "CO",
            co(fed, with(|a| a.language.clear())),
            InvalidArgument,
        ),
        case("no tlp", "CO", co(fed, with(|a| a.tlp = 0)), InvalidArgument),
        case(
            "no evaluation",
            "CO",
            co(fed, with(|a| a.evaluation = None)),
            InvalidArgument,
        ),
        case("no category", "CO", co(fed, with(|a| a.category = 0)), InvalidArgument),
        case(
            "blank title",
            "CO",
            co(fed, with(|a| a.title = "   ".into())),
            InvalidArgument,
        ),
        case("no id", "CO", co(fed, with(|a| a.id.clear())), InvalidArgument),
        case(
            "id of 65 chars",
            "CO",
            co(fed, with(|a| a.id = "i".repeat(65))),
            InvalidArgument,
        ),
        case("tlp 99", "CO", co(fed, with(|a| a.tlp = 99)), InvalidArgument),
        case("category 99", "CO", co(fed, with(|a| a.category = 99)), InvalidArgument),
        case(
            "handling 99",
            "CO",
            co(fed, with(|a| a.handling = vec![1, 99])),
            InvalidArgument,
        ),
        case(
            "source reliability 9",
            "CO",
            co(
                fed,
                with(|a| {
                    a.evaluation = Some(pb::Evaluation {
                        source_reliability: 9,
                        information_credibility: 1,
                    })
                }),
            ),
            InvalidArgument,
        ),
        case(
            "recipients empty",
            "CO",
            co(fed, with(|a| a.recipients.clear())),
            InvalidArgument,
        ),
        case(
            "recipient GB not a member",
            "CO",
            co(fed, with(|a| a.recipients = vec!["GB".into()])),
            InvalidArgument,
        ),
        case(
            "recipient XX not a country",
            "CO",
            co(fed, with(|a| a.recipients = vec!["XX".into()])),
            InvalidArgument,
        ),
        case(
            "recipient AUDITOR",
            "CO",
            co(fed, with(|a| a.recipients = vec!["AUDITOR".into()])),
            InvalidArgument,
        ),
        case(
            "recipients duplicated",
            "CO",
            co(
                fed,
                with(|a| a.recipients = vec!["PA".into(), "US".into(), "PA".into()]),
            ),
            InvalidArgument,
        ),
        case(
            "ALL mixed with PA",
            "CO",
            co(fed, with(|a| a.recipients = vec!["ALL".into(), "PA".into()])),
            InvalidArgument,
        ),
        case(
            "TLP:RED to ALL",
            "CO",
            co(
                fed,
                with(|a| {
                    a.tlp = pb::Tlp::Red as i32;
                    a.recipients = vec!["ALL".into()];
                }),
            ),
            InvalidArgument,
        ),
        case(
            "created in 1970",
            "CO",
            co(fed, with(|a| a.created = ts(0, 0))),
            InvalidArgument,
        ),
        case(
            "created in 3000",
            "CO",
            co(fed, with(|a| a.created = ts(32_503_680_000, 0))),
            InvalidArgument,
        ),
        case(
            "negative nanos",
            "CO",
            co(fed, with(|a| a.created = ts(now_ts().seconds, -1))),
            InvalidArgument,
        ),
        case(
            "nanos of 1e9",
            "CO",
            co(fed, with(|a| a.created = ts(now_ts().seconds, 1_000_000_000))),
            InvalidArgument,
        ),
        case(
            "latitude 91",
            "CO",
            co(
                fed,
                with(|a| {
                    a.locations = vec![pb::Location {
                        latitude: 91.0,
                        ..Default::default()
                    }]
                }),
            ),
            InvalidArgument,
        ),
        case(
            "amends itself",
            "CO",
            co(
                fed,
                with(|a| {
                    a.amends = Some(pb::Amendment {
                        widens_distribution: false,
                        id: "h-1".into(),
                        kind: pb::AmendmentKind::Retraction as i32,
                        reason: "x".into(),
                    })
                }),
            ),
            InvalidArgument,
        ),
        case(
            "amends an unknown alert",
            "CO",
            co(
                fed,
                with(|a| {
                    a.amends = Some(pb::Amendment {
                        widens_distribution: false,
                        id: "never".into(),
                        kind: pb::AmendmentKind::Retraction as i32,
                        reason: "x".into(),
                    })
                }),
            ),
            FailedPrecondition,
        ),
        case_saying(
            "correction of seed-1 adding a recipient, not flagged as widening",
            co(fed, amending_seed(&["PA", "US"], pb::Tlp::Amber)),
            FailedPrecondition,
            "widens its distribution (new recipients US)",
        ),
        case_saying(
            "correction of seed-1 lowering its TLP, not flagged as widening",
            co(fed, amending_seed(&["PA"], pb::Tlp::Green)),
            FailedPrecondition,
            "TLP TLP_AMBER -> TLP_GREEN",
        ),
        case_saying(
            "title carrying a terminal escape and a forged header line",
            co(
                fed,
                with(|a| a.title = "Red\u{1b}[1A\u{1b}[2K\r#9  US -> PA  TLP:RED".into()),
            ),
            InvalidArgument,
            "U+001B",
        ),
        case_saying(
            "summary carrying a right-to-left override",
            co(fed, with(|a| a.summary = "pay to \u{202e}1234 account".into())),
            InvalidArgument,
            "U+202E",
        ),
        case_saying(
            "title on two lines",
            co(fed, with(|a| a.title = "one\ntwo".into())),
            InvalidArgument,
            "this field is one line",
        ),
        case_saying(
            "network.description of 4,001 bytes",
            co(
                fed,
                with(|a| {
                    a.network = Some(pb::Network {
                        description: "d".repeat(4_001),
                        ..Default::default()
                    })
                }),
            ),
            InvalidArgument,
            "network.description: 4001 bytes of UTF-8; at most 4000",
        ),
        case_saying(
            "subject nationality not an ISO 3166-1 code",
            co(
                fed,
                with(|a| {
                    a.subjects = vec![pb::Subject {
                        name: "x".into(),
                        nationality: "Colombia".into(),
                        ..Default::default()
                    }]
                }),
            ),
            InvalidArgument,
            "subjects.nationality",
        ),
        case(
            "alert says PA, cert and key are CO",
            "CO",
            co(fed, with(|a| a.publisher = "PA".into())),
            PermissionDenied,
        ),
        case(
            "alert and key are PA, cert is CO",
            "CO",
            Call::Publish(signed(fed, "PA", &with(|a| a.publisher = "PA".into()))),
            PermissionDenied,
        ),
        case(
            "CO alert signed with PA's key",
            "CO",
            Call::Publish(signed(fed, "PA", &with(|_| {}))),
            PermissionDenied,
        ),
        case(
            "key not in the roster",
            "CO",
            Call::Publish(isthmus::envelope::sign(
                &with(|_| {}),
                &isthmus::crypto::SigningKey::generate(),
            )),
            PermissionDenied,
        ),
        case(
            "empty keyid",
            "CO",
            env(&|e| e.signatures[0].keyid.clear()),
            PermissionDenied,
        ),
        case("auditor publishes", "AUDITOR", co(fed, with(|_| {})), PermissionDenied),
        case(
            "bit flip in signature",
            "CO",
            env(&|e| e.signatures[0].sig[7] ^= 0x80),
            InvalidArgument,
        ),
        case(
            "bit flip in payload",
            "CO",
            env(&|e| e.payload[3] ^= 0x01),
            InvalidArgument,
        ),
        case(
            "63-byte signature",
            "CO",
            env(&|e| e.signatures[0].sig.truncate(63)),
            InvalidArgument,
        ),
        case(
            "all-zero signature",
            "CO",
            env(&|e| e.signatures[0].sig = vec![0; 64]),
            InvalidArgument,
        ),
        case(
            "two signatures",
            "CO",
            env(&|e| e.signatures.push(e.signatures[0].clone())),
            InvalidArgument,
        ),
        case("no signature", "CO", env(&|e| e.signatures.clear()), InvalidArgument),
        case_saying(
            "torsion-R signature (valid only under the cofactored equation)",
            Call::Publish(torsion_signed(fed, &with(|a| a.id = "h-torsion".into()))),
            InvalidArgument,
            "verifies only under the cofactored (ZIP-215) equation",
        ),
        case_saying(
            "keyid in upper-case hex",
            env(&|e| e.signatures[0].keyid = e.signatures[0].keyid.to_ascii_uppercase()),
            InvalidArgument,
            "lowercase hex",
        ),
        case(
            "replayed id, different content",
            "CO",
            co(fed, with(|a| a.id = "seed-1".into())),
            AlreadyExists,
        ),
    ]
}

/// One over-the-limit case per repeated field (limits in
/// `isthmus::alert::MAX_COUNTS`); each envelope is far below 64,000 bytes,
/// so the count limit, not the size limit, refuses it.
fn count_cases(fed: &DevFederation) -> Vec<Case> {
    use Code::InvalidArgument;
    let reference = pb::AlertReference {
        publisher: "PA".into(),
        id: "r-1".into(),
        relation: String::new(),
    };
    vec![
        case_saying(
            "250 recipients",
            co(fed, with(|a| a.recipients = vec!["PA".into(); 250])),
            InvalidArgument,
            "recipients: 250 entries; at most 249",
        ),
        case_saying(
            "17 handling restrictions",
            co(fed, with(|a| a.handling = vec![1; 17])),
            InvalidArgument,
            "handling: 17 entries; at most 16",
        ),
        case_saying(
            "257 subjects",
            co(fed, with(|a| a.subjects = vec![pb::Subject::default(); 257])),
            InvalidArgument,
            "subjects: 257 entries; at most 256",
        ),
        case_saying(
            "513 identifiers",
            co(fed, with(|a| a.identifiers = vec![pb::Identifier::default(); 513])),
            InvalidArgument,
            "identifiers: 513 entries; at most 512",
        ),
        case_saying(
            "257 locations",
            co(fed, with(|a| a.locations = vec![pb::Location::default(); 257])),
            InvalidArgument,
            "locations: 257 entries; at most 256",
        ),
        case_saying(
            "65 references",
            co(fed, with(|a| a.references = vec![reference; 65])),
            InvalidArgument,
            "references: 65 entries; at most 64",
        ),
        case_saying(
            "subject kind 99",
            co(
                fed,
                with(|a| {
                    a.subjects = vec![pb::Subject {
                        kind: 99,
                        ..Default::default()
                    }]
                }),
            ),
            InvalidArgument,
            "subjects.kind: 99 is not a known value",
        ),
        case_saying(
            "validity.not_before with nanos -1",
            co(
                fed,
                with(|a| {
                    a.validity = Some(pb::Validity {
                        not_before: ts(now_ts().seconds, -1),
                        not_after: None,
                    })
                }),
            ),
            InvalidArgument,
            "validity.not_before: nanos must be in 0..1e9",
        ),
        case_saying(
            "33 network aliases",
            co(
                fed,
                with(|a| {
                    a.network = Some(pb::Network {
                        name: "n".into(),
                        aliases: vec!["a".into(); 33],
                        description: String::new(),
                    })
                }),
            ),
            InvalidArgument,
            "network.aliases: 33 entries; at most 32",
        ),
    ]
}

fn read_cases(fed: &DevFederation, size: u64, seed: &pb::Envelope) -> Vec<Case> {
    use pb::get_entry_request::Key;
    use Code::*;
    let key = |publisher: &str, id: &str| {
        Some(Key::Alert(pb::AlertKey {
            publisher: publisher.into(),
            id: id.into(),
        }))
    };
    let filter = |p: &str| pb::SubscribeRequest {
        from_index: 0,
        filter: Some(pb::SubscribeFilter {
            publishers: vec![p.into()],
            include_roster: false,
            ..Default::default()
        }),
        ..Default::default()
    };
    let _ = fed;
    vec![
        case(
            "exact replay returns the receipt",
            "CO",
            Call::Publish(seed.clone()),
            Ok,
        ),
        case(
            "subscribe beyond the end",
            "PA",
            Call::Subscribe(subscribe_req(size + 1)),
            OutOfRange,
        ),
        case(
            "subscribe from u64::MAX",
            "PA",
            Call::Subscribe(subscribe_req(u64::MAX)),
            OutOfRange,
        ),
        case(
            "subscribe filter 'Colombia'",
            "PA",
            Call::Subscribe(filter("Colombia")),
            InvalidArgument,
        ),
        case(
            "subscribe filter empty string",
            "PA",
            Call::Subscribe(filter("")),
            InvalidArgument,
        ),
        Case {
            says: "list each at most once",
            ..case(
                "subscribe filter of 300 codes (more than there are delegations)",
                "PA",
                Call::Subscribe(pb::SubscribeRequest {
                    filter: Some(pb::SubscribeFilter {
                        publishers: vec!["CO".into(); 300],
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                InvalidArgument,
            )
        },
        case("get entry with no key", "PA", Call::GetEntry(None), InvalidArgument),
        case(
            "get entry beyond the end",
            "PA",
            Call::GetEntry(Some(Key::Index(size))),
            NotFound,
        ),
        case(
            "get entry u64::MAX",
            "PA",
            Call::GetEntry(Some(Key::Index(u64::MAX))),
            NotFound,
        ),
        case(
            "get entry not addressed to BR",
            "BR",
            Call::GetEntry(Some(Key::Index(1))),
            NotFound,
        ),
        case(
            "get entry by key, not addressed to BR",
            "BR",
            Call::GetEntry(key("CO", "seed-1")),
            NotFound,
        ),
        case(
            "get entry by unknown key",
            "PA",
            Call::GetEntry(key("CO", "nope")),
            NotFound,
        ),
        case(
            "get entry by garbage key",
            "PA",
            Call::GetEntry(key("../\u{0}", &"z".repeat(900))),
            NotFound,
        ),
        case(
            "get entry by a 5,000-character id",
            "PA",
            Call::GetEntry(key("CO", &"z".repeat(5000))),
            ResourceExhausted,
        ),
        case(
            "checkpoint min_size beyond size",
            "PA",
            Call::Checkpoint(size + 1),
            OutOfRange,
        ),
        case(
            "checkpoint min_size u64::MAX",
            "PA",
            Call::Checkpoint(u64::MAX),
            OutOfRange,
        ),
        case(
            "inclusion index == tree_size",
            "PA",
            Call::Inclusion(size, size),
            InvalidArgument,
        ),
        case("inclusion tree_size 0", "PA", Call::Inclusion(0, 0), OutOfRange),
        case(
            "inclusion tree_size > size",
            "PA",
            Call::Inclusion(0, size + 1),
            OutOfRange,
        ),
        case(
            "inclusion u64::MAX",
            "PA",
            Call::Inclusion(u64::MAX, u64::MAX),
            OutOfRange,
        ),
        case(
            "inclusion of an entry BR may not see",
            "BR",
            Call::Inclusion(1, size),
            NotFound,
        ),
        case(
            "consistency old_size 0",
            "PA",
            Call::Consistency(0, size),
            InvalidArgument,
        ),
        case("consistency old > new", "PA", Call::Consistency(2, 1), InvalidArgument),
        case("consistency new_size 0", "PA", Call::Consistency(0, 0), OutOfRange),
        case(
            "consistency new > size",
            "PA",
            Call::Consistency(1, size + 1),
            OutOfRange,
        ),
    ]
}

fn stranger_cases(fed: &DevFederation) -> Vec<Case> {
    use Code::*;
    vec![
        case(
            "stranger: Publish",
            "ZZ",
            co(fed, with(|a| a.id = "zz".into())),
            Unauthenticated,
        ),
        case(
            "stranger: Subscribe",
            "ZZ",
            Call::Subscribe(subscribe_req(0)),
            Unauthenticated,
        ),
        case("stranger: GetEntry", "ZZ", Call::GetEntry(None), Unauthenticated),
        case("stranger: WhoAmI", "ZZ", Call::WhoAmI, Unauthenticated),
        case("stranger: GetCheckpoint", "ZZ", Call::Checkpoint(0), Unauthenticated),
        case(
            "stranger: GetInclusionProof",
            "ZZ",
            Call::Inclusion(0, 1),
            Unauthenticated,
        ),
        case(
            "stranger: GetConsistencyProof",
            "ZZ",
            Call::Consistency(1, 1),
            Unauthenticated,
        ),
    ]
}

/// Raw gRPC bodies that are not valid protobuf for the method's message.
fn raw_cases(fed: &DevFederation) -> Vec<Case> {
    use Code::*;
    let mut truncated = signed(fed, "CO", &with(|a| a.id = "raw-1".into())).encode_to_vec();
    truncated.truncate(truncated.len() / 2);
    vec![
        case(
            "Publish: truncated envelope body",
            "CO",
            Call::Raw("Publish", truncated),
            InvalidArgument,
        ),
        case(
            "Publish: garbage body",
            "CO",
            Call::Raw("Publish", vec![0xff; 64]),
            InvalidArgument,
        ),
        case(
            "WhoAmI: garbage body",
            "CO",
            Call::Raw("WhoAmI", vec![0x0a, 0xff]),
            InvalidArgument,
        ),
        case(
            "GetEntry: garbage body",
            "PA",
            Call::Raw("GetEntry", vec![0x12, 0x05, 0x01]),
            InvalidArgument,
        ),
        case_saying(
            "Publish: 300 kB message (over the transport's limit)",
            Call::Raw("Publish", vec![0; 300_000]),
            ResourceExhausted,
            "a Publish envelope may be at most 64000 bytes, this one is 300000",
        ),
        case_saying(
            "WhoAmI: 2 kB message (over its own limit)",
            Call::Raw("WhoAmI", vec![0; 2_000]),
            ResourceExhausted,
            "a WhoAmIRequest may be at most 256 bytes",
        ),
        case_saying(
            "Subscribe: 60 kB filter (over its own limit)",
            Call::Raw("Subscribe", vec![0; 60_000]),
            ResourceExhausted,
            "a SubscribeRequest may be at most 4096 bytes",
        ),
    ]
}

#[tokio::test]
async fn hostile_requests_get_exact_statuses_and_change_nothing() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();
    let seed = signed(&fed, "CO", &alert("seed-1", "CO", &["PA"]));
    s.client("CO").await.publish(seed.clone()).await.expect("seed");
    let stranger = fed.ca.issue_client("ZZ", -1, 30).expect("cert");
    let stranger =
        isthmus::tls::TlsFiles::from_pem(&fed.ca.cert_pem(), &stranger.cert_pem, &stranger.key_pem).expect("pem");
    let mut cases = publish_cases(&fed);
    cases.extend(count_cases(&fed));
    cases.extend(read_cases(&fed, s.size(), &seed));
    cases.extend(stranger_cases(&fed));
    cases.extend(raw_cases(&fed));
    let n = run(&s, cases, &stranger).await;
    eprintln!("hostile: {n} cases refused as expected");
    assert!(n >= 40);
    s.stop().await;
}

#[tokio::test]
async fn signing_keys_outside_their_window_are_refused() {
    let mut fed = DevFederation::generate(30).expect("federation");
    let now = isthmus::time::unix_now();
    for p in &mut fed.principals {
        match p.member.id.as_str() {
            "CO" => p.member.keys[0].not_after = now - 60,
            "PA" => p.member.keys[0].not_before = now + 3600,
            _ => {}
        }
    }
    let s = TestServer::start(Arc::new(fed)).await;
    let fed = s.fed.clone();
    let stranger = tls_of(&fed, "US");
    let cases = vec![
        case(
            "expired signing key",
            "CO",
            co(&fed, with(|_| {})),
            Code::PermissionDenied,
        ),
        case(
            "signing key not yet valid",
            "PA",
            Call::Publish(signed(&fed, "PA", &alert("p-1", "PA", &["CO"]))),
            Code::PermissionDenied,
        ),
    ];
    assert_eq!(run(&s, cases, &stranger).await, 2);
    s.stop().await;
}

/// A gRPC client that sends exact bytes as the message body.
mod raw {
    use isthmus::tls::TlsFiles;
    use prost::bytes::{Buf, BufMut};
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
    use tonic::codegen::http::uri::PathAndQuery;
    use tonic::transport::Channel;
    use tonic::Status;

    #[derive(Clone, Copy, Default)]
    pub(super) struct Bytes;

    impl Codec for Bytes {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = Bytes;
        type Decoder = Bytes;
        fn encoder(&mut self) -> Bytes {
            Bytes
        }
        fn decoder(&mut self) -> Bytes {
            Bytes
        }
    }

    impl Encoder for Bytes {
        type Item = Vec<u8>;
        type Error = Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for Bytes {
        type Item = Vec<u8>;
        type Error = Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
            let v = src.copy_to_bytes(src.remaining()).to_vec();
            Ok(Some(v))
        }
    }

    pub(super) struct RawClient(tonic::client::Grpc<Channel>);

    impl RawClient {
        pub(super) async fn connect(server: &str, tls: &TlsFiles) -> Self {
            let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(
                isthmus::tls::client_config(tls).expect("config"),
            ));
            let addr = server.to_owned();
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{server}"))
                .expect("uri")
                .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
                    let (connector, addr) = (connector.clone(), addr.clone());
                    async move {
                        let tcp = tokio::net::TcpStream::connect(&addr).await?;
                        let name = isthmus::tls::server_name("127.0.0.1").expect("name");
                        let tls = connector.connect(name, tcp).await?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
                    }
                }))
                .await
                .expect("raw channel");
            RawClient(tonic::client::Grpc::new(channel))
        }

        pub(super) async fn call(&mut self, method: &str, body: Vec<u8>) -> Result<Vec<u8>, Status> {
            self.0.ready().await.map_err(|e| Status::unknown(e.to_string()))?;
            let path = PathAndQuery::try_from(format!("/isthmus.v1.Isthmus/{method}")).expect("path");
            let r = self.0.unary(tonic::Request::new(body), path, Bytes).await?;
            Ok(r.into_inner())
        }
    }
}
