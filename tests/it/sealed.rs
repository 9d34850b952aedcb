//! Sealed alerts end to end (docs/sealing.md): a real `isthmusd`, the real
//! `isthmus` CLI sealing a TLP:RED alert, and the hub's disk and the
//! auditor's export searched for its content; the hub's refusals of
//! malformed sealed objects, each with its status and nothing stored; and a
//! sealing key rotated out while its alerts stay readable.

use crate::util::processes::*;
use crate::util::*;
use isthmus::ledger::entry;
use isthmus::pb;
use isthmus::roster::Roster;
use isthmus::seal::{self, make, OpenError, SealingPrivateKey};
use prost::Message;
use std::path::Path;
use std::sync::Arc;
use tonic::Code;

const TITLE: &str = "Ruta nocturna Necocli-Acandi TITLEMARK-7Q2";
const SUMMARY: &str = "Salidas martes y jueves SUMMARYMARK-4Z9 desde el muelle norte.";
const PHONE: &str = "+57 300 555 0199 IDMARK-8K1";
const CLEAR_TITLE: &str = "Clear control alert CLEARMARK-3J5";

fn alert_toml(tlp: &str, title: &str, summary: &str, phone: &str) -> String {
    format!(
        r#"language = "es"
tlp = "{tlp}"
recipients = ["PA", "US"]
category = "migrant_smuggling"
title = "{title}"
summary = "{summary}"
[evaluation]
source_reliability = "B"
information_credibility = 2
[[identifiers]]
kind = "phone"
value = "{phone}"
"#
    )
}

/// Every file under `dir` (recursively) that contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    tree_files(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn a_red_alert_is_readable_by_its_recipients_and_nowhere_else() {
    let (_fed, certs) = write_federation(30);
    let certs = certs.path();
    let data = tempfile::tempdir().expect("data");
    let d = Daemon::start(certs, data.path());
    let ok = |args: &[&str]| {
        let out = cli(certs, &d.addr, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let red = certs.join("red.toml");
    std::fs::write(&red, alert_toml("RED", TITLE, SUMMARY, PHONE)).expect("write");
    let clear = certs.join("clear.toml");
    std::fs::write(
        &clear,
        alert_toml("AMBER", CLEAR_TITLE, "Control summary", "+57 300 555 0100"),
    )
    .expect("write");
    ok(&["--as", "CO", "publish", red.to_str().expect("utf-8")]);
    ok(&["--as", "CO", "publish", clear.to_str().expect("utf-8")]);
    for reader in ["PA", "US", "CO"] {
        let shown = ok(&["--as", reader, "get", "1", "--json"]);
        assert!(shown.contains(TITLE) && shown.contains(PHONE), "{reader}: {shown}");
        assert!(shown.contains("\"sealed\":true"), "{shown}");
    }
    // PA's identity with only US's sealing key: a precise refusal naming
    // the entry and the key PA's stanza needs, never garbage.
    let path = |p: std::path::PathBuf| p.to_str().expect("utf-8").to_owned();
    let pa_dir = certs.join("PA");
    let wrong = cli(
        certs,
        &d.addr,
        &[
            "--ca",
            &path(certs.join("ca.pem")),
            "--cert",
            &path(pa_dir.join("client.pem")),
            "--key",
            &path(pa_dir.join("client.key.pem")),
            "--log-key",
            &path(certs.join("log.pub")),
            "--decryption-key",
            &path(certs.join("US").join("sealing.key.pem")),
            "get",
            "1",
        ],
    );
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{err}");
    assert!(
        err.contains("entry #1") && err.contains("sealed to PA under key"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&wrong.stdout).contains(TITLE));
    // PA discloses it; a third party checks it offline, and a changed
    // opener no longer opens the header's commitment.
    let disclosure = certs.join("red.disclosure.json");
    let disclosure_path = path(disclosure.clone());
    ok(&["--as", "PA", "disclose", "1", "--out", &disclosure_path]);
    let roster = path(certs.join("roster.toml"));
    let valid = ok(&["verify-disclosure", &disclosure_path, "--roster", &roster]);
    assert!(valid.starts_with("VALID") && valid.contains(TITLE), "{valid}");
    let text = std::fs::read_to_string(&disclosure).expect("read");
    let opener = serde_json::from_str::<serde_json::Value>(&text).expect("json")["opener"]
        .as_str()
        .expect("opener")
        .to_owned();
    let flipped = format!("{}{}", if opener.starts_with('0') { "1" } else { "0" }, &opener[1..]);
    std::fs::write(&disclosure, text.replace(&opener, &flipped)).expect("tamper");
    let bad = cli(
        certs,
        &d.addr,
        &["verify-disclosure", &disclosure_path, "--roster", &roster],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("disclosure commitment"));
    let br = cli(certs, &d.addr, &["--as", "BR", "get", "1"]);
    assert_eq!(br.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&br.stderr).contains("NotFound"));
    let auditor = ok(&["--as", "AUDITOR", "get", "1"]);
    assert!(
        auditor.contains("[sealed to its recipients") && !auditor.contains(TITLE),
        "{auditor}"
    );
    let (_out, export) = export_as_auditor(certs, &d);
    let (code, report) = audit(&export, &certs.join("log.pub"));
    assert_eq!(code, 0, "{report}");
    d.terminate();
    // The clear alert's content is on disk (so the search works), the
    // sealed one's is nowhere: not in sled's files, not in the export.
    assert!(!files_containing(data.path(), CLEAR_TITLE).is_empty());
    assert!(!files_containing(&export, CLEAR_TITLE).is_empty());
    for marker in ["TITLEMARK-7Q2", "SUMMARYMARK-4Z9", "IDMARK-8K1"] {
        for dir in [data.path(), export.as_path()] {
            let found = files_containing(dir, marker);
            assert!(found.is_empty(), "{marker} in {found:?}");
        }
    }
}

/// The sealed envelope of entry `index` and its acceptance time.
async fn fetch(s: &TestServer, who: &str, index: u64) -> Result<(pb::Envelope, i64), tonic::Status> {
    let e = s
        .client(who)
        .await
        .get_entry(pb::GetEntryRequest {
            key: Some(pb::get_entry_request::Key::Index(index)),
        })
        .await?
        .into_inner();
    let decoded = entry::decode(&e.entry).expect("decodes");
    let entry::Body::Submission(sub) = entry::body(&decoded) else {
        panic!("a submission")
    };
    Ok((
        sub.envelope.clone().expect("envelope"),
        sub.accepted.expect("accepted").seconds,
    ))
}

fn opens(
    env: &pb::Envelope,
    who: &str,
    keys: &[SealingPrivateKey],
    roster: &Roster,
    at: i64,
) -> Result<pb::Alert, OpenError> {
    Ok(seal::open(&env.payload, who, keys)?.check(roster, at)?.alert)
}

fn sealing(fed: &isthmus::devcerts::DevFederation, id: &str) -> SealingPrivateKey {
    principal(fed, id).sealing.clone().expect("a delegation's sealing key")
}

fn red(id: &str, to: &[&str]) -> pb::Alert {
    let mut a = alert(id, "CO", to);
    a.tlp = pb::Tlp::Red as i32;
    a
}

#[tokio::test]
async fn the_hub_refuses_malformed_sealed_alerts_and_stores_nothing() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();
    let mut co = s.client("CO").await;
    let good = fed.sealed(&red("ok-1", &["PA", "US"])).expect("sealed");
    let resign = |change: &dyn Fn(&mut pb::SealedAlert)| {
        let mut sealed = pb::SealedAlert::decode(good.payload.as_slice()).expect("decodes");
        change(&mut sealed);
        make::sign_sealed(&sealed, signing(&fed, "CO"))
    };
    let reheader = |change: &dyn Fn(&mut pb::SealedHeader)| {
        resign(&|sealed: &mut pb::SealedAlert| {
            let mut h = pb::SealedHeader::decode(sealed.header.as_slice()).expect("header");
            change(&mut h);
            sealed.header = h.encode_to_vec();
        })
    };
    let mut dup = red("dup-1", &["PA", "US"]);
    dup.recipients.push("PA".into());
    let mut stranger = red("fr-1", &["PA"]);
    stranger.recipients.push("FR".into());
    let cases: Vec<(&str, pb::Envelope, Code, &str)> = vec![
        (
            "clear RED",
            signed(&fed, "CO", &red("c-1", &["PA"])),
            Code::InvalidArgument,
            "must be sealed",
        ),
        (
            "a non-member recipient",
            fed.sealed(&stranger).expect("sealed"),
            Code::InvalidArgument,
            "FR is not a member",
        ),
        (
            "duplicate recipients",
            fed.sealed(&dup).expect("sealed"),
            Code::InvalidArgument,
            "twice",
        ),
        (
            "header recipients differ from the stanzas",
            reheader(&|h| h.recipients = vec!["PA".into()]),
            Code::InvalidArgument,
            "stanza for US",
        ),
        (
            "truncated ciphertext",
            resign(&|s| s.ciphertext.truncate(s.ciphertext.len() - 1)),
            Code::InvalidArgument,
            "padded length",
        ),
        (
            "unknown suite",
            reheader(&|h| {
                h.suite = Some(pb::Suite {
                    kem: 0x647a,
                    kdf: 1,
                    aead: 3,
                })
            }),
            Code::InvalidArgument,
            "suite",
        ),
        (
            "oversized header",
            resign(&|s| s.header = vec![0; 5000]),
            Code::InvalidArgument,
            "4096",
        ),
        (
            "a stanza to another delegation's key",
            resign(&|s| {
                let us = s
                    .stanzas
                    .iter()
                    .find(|st| st.recipient == "US")
                    .expect("US")
                    .key_id
                    .clone();
                s.stanzas.iter_mut().find(|st| st.recipient == "PA").expect("PA").key_id = us;
            }),
            Code::InvalidArgument,
            "not one of PA's roster sealing keys",
        ),
        (
            "a flipped ciphertext byte",
            {
                let mut env = good.clone();
                let n = env.payload.len() - 3;
                env.payload[n] ^= 1;
                env
            },
            Code::InvalidArgument,
            "signature does not verify",
        ),
    ];
    let before = s.size();
    for (what, env, code, says) in cases {
        let err = co.publish(env).await.expect_err(what);
        assert_eq!(err.code(), code, "{what}: {}", err.message());
        assert!(err.message().contains(says), "{what}: {}", err.message());
        assert_eq!(s.size(), before, "{what} changed the ledger");
    }
    let r = co.publish(good.clone()).await.expect("the good one").into_inner();
    let again = co.publish(good).await.expect("idempotent").into_inner();
    assert!(again.duplicate && again.index == r.index);
    s.stop().await;
}

#[tokio::test]
async fn different_content_keys_are_caught_by_every_recipient_they_would_fool() {
    let s = TestServer::start(federation()).await;
    let fed = s.fed.clone();
    let a = red("k-1", &["PA", "US"]);
    let inner = isthmus::envelope::sign(&a, signing(&fed, "CO")).encode_to_vec();
    let header = make::header_for(&a, &inner, &[9; 32]).encode_to_vec();
    let h = seal::header_hash(&header);
    let content = pb::SealedContent {
        envelope: inner,
        opener: vec![9; 32],
    }
    .encode_to_vec();
    let committed = [1u8; 32];
    let (key_commitment, ciphertext) = seal::encrypt_content(&committed, &h, &content);
    let keys = fed_keys(&fed);
    let stanza = |id: &str, k: &[u8; 32]| {
        let key = keys
            .iter()
            .find(|(i, _)| i == id)
            .expect("reader")
            .1
            .public_key()
            .clone();
        make::wrap(k, &h, seal::Reader { id, key: &key })
    };
    let sealed = pb::SealedAlert {
        header,
        stanzas: vec![
            stanza("CO", &committed),
            stanza("PA", &committed),
            stanza("US", &[2; 32]),
        ],
        key_commitment: key_commitment.to_vec(),
        ciphertext,
    };
    let index = s
        .client("CO")
        .await
        .publish(make::sign_sealed(&sealed, signing(&fed, "CO")))
        .await
        .expect("the hub cannot tell")
        .into_inner()
        .index;
    let roster = s.hub.roster();
    let (env, at) = fetch(&s, "US", index).await.expect("US may fetch it");
    assert_eq!(
        opens(&env, "US", &[sealing(&fed, "US")], &roster, at).expect_err("US was given another key"),
        OpenError::KeyCommitment("US".into())
    );
    let (env, at) = fetch(&s, "PA", index).await.expect("PA may fetch it");
    assert_eq!(
        opens(&env, "PA", &[sealing(&fed, "PA")], &roster, at)
            .expect("PA")
            .title,
        a.title
    );
    s.stop().await;
}

fn fed_keys(fed: &isthmus::devcerts::DevFederation) -> Vec<(String, SealingPrivateKey)> {
    fed.principals
        .iter()
        .filter_map(|p| Some((p.member.id.to_string(), p.sealing.clone()?)))
        .collect()
}

#[tokio::test]
async fn a_rotated_out_key_still_opens_what_was_sealed_to_it() {
    let fed = federation();
    let now = isthmus::time::unix_now();
    let old = sealing(&fed, "PA");
    let new = SealingPrivateKey::generate();
    // PA's old key is valid for 2 more seconds, its new one from then on.
    let mut members: Vec<_> = fed.roster().expect("roster").members().cloned().collect();
    let pa = members.iter_mut().find(|m| m.id.as_str() == "PA").expect("PA");
    pa.sealing[0].not_after = now + 2;
    let mut next = pa.sealing[0].clone();
    next.key = new.public_key().clone();
    next.not_before = now + 2;
    next.not_after = now + 86_400;
    pa.sealing.push(next);
    let roster = Roster::new(members, fed.roster().expect("roster").terms()).expect("roster");
    let s = TestServer::start_with_roster(Arc::clone(&fed), roster.clone()).await;
    let mut co = s.client("CO").await;
    let before = co
        .publish(fed.sealed(&red("rot-1", &["PA"])).expect("sealed"))
        .await
        .expect("old key")
        .into_inner();
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let late = co
        .publish(fed.sealed(&red("rot-2", &["PA"])).expect("sealed"))
        .await
        .expect_err("rotated out");
    assert_eq!(late.code(), Code::FailedPrecondition, "{}", late.message());
    assert!(late.message().contains("not valid now"), "{}", late.message());
    // What a publisher's CLI does: the newest key valid now.
    let reader_key = roster
        .member("PA")
        .expect("PA")
        .sealing
        .iter()
        .filter(|k| k.valid_at(isthmus::time::unix_now()))
        .max_by_key(|k| k.not_before)
        .expect("a current key")
        .key
        .clone();
    assert_eq!(&reader_key, new.public_key());
    let a = red("rot-3", &["PA"]);
    let co_key = sealing(&fed, "CO");
    let readers = [
        seal::Reader {
            id: "CO",
            key: co_key.public_key(),
        },
        seal::Reader {
            id: "PA",
            key: &reader_key,
        },
    ];
    let env = seal::seal(
        &isthmus::envelope::sign(&a, signing(&fed, "CO")),
        &a,
        &readers,
        signing(&fed, "CO"),
    );
    let after = co.publish(env).await.expect("new key").into_inner();
    let both = [old.clone(), new.clone()];
    for (index, id) in [(before.index, "rot-1"), (after.index, "rot-3")] {
        let (env, at) = fetch(&s, "PA", index).await.expect("PA fetches");
        assert_eq!(opens(&env, "PA", &both, &roster, at).expect("opens").id, id);
    }
    let (env, at) = fetch(&s, "PA", before.index).await.expect("PA fetches");
    let e = opens(&env, "PA", &[new], &roster, at).expect_err("the new key alone");
    assert!(matches!(e, OpenError::NoKey { .. }), "{e}");
    assert!(e.to_string().contains(&old.key_id()), "{e}");
    s.stop().await;
}
