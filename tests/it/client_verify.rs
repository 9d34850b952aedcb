//! `isthmus tail` and `get` check what the hub serves: a hub that forges an alert
//! (here, an entry appended straight to the ledger, bypassing ingest, as a
//! compromised operator could) is caught at that entry. Also the bounded
//! and roster-only subscriptions the check is built on.

use crate::util::*;
use isthmus::ledger::entry::NewEntry;
use isthmus::pb;
use std::process::{Command, Output};
use tonic::Code;

/// Runs `isthmus --as PA ARGS` off the runtime's threads (the hub under
/// test runs on them).
async fn isthmus_as_pa(dir: &std::path::Path, s: &TestServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_isthmus"));
    cmd.args(["--server", &s.server(), "--certs-dir"])
        .arg(dir)
        .args(["--as", "PA"])
        .env("XDG_STATE_HOME", dir.join("state"))
        .args(args)
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().expect("run isthmus"))
        .await
        .expect("join")
}

/// `isthmus tail --limit N`, N being every alert PA may see.
async fn tail(dir: &std::path::Path, s: &TestServer, extra: &[&str]) -> Output {
    let alerts = (s.size() - 1).to_string();
    let args: Vec<&str> = ["tail", "--limit", &alerts]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    isthmus_as_pa(dir, s, &args).await
}

/// Appends `env` from CO to PA straight to the ledger, behind ingest's back
/// (as a dishonest or an old hub would); returns its index.
async fn append_unchecked(s: &TestServer, fed: &isthmus::devcerts::DevFederation, env: pb::Envelope, id: &str) -> u64 {
    let submission = pb::Submission {
        envelope: Some(env),
        principal: "CO".into(),
        tls_spki_sha256: principal(fed, "CO").tls.spki.to_vec(),
        accepted: Some(now_ts()),
        recipients: vec!["PA".into()],
        salt: vec![0; 16],
    };
    let at = s.size();
    s.hub
        .ledger()
        .append(NewEntry::submission(submission, id, i64::MAX))
        .await
        .expect("append")
        .expect("in time");
    at
}

#[tokio::test]
async fn tail_verifies_signatures_and_stops_at_a_forged_alert() {
    let fed = federation();
    let dir = tempfile::tempdir().expect("certs");
    fed.write(dir.path()).expect("write certs");
    let s = TestServer::start(fed.clone()).await;
    let mut co = s.client("CO").await;
    co.publish(signed(&fed, "CO", &alert("honest", "CO", &["PA"])))
        .await
        .expect("publish");

    let out = tail(dir.path(), &s, &[]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // CO's key id, a signature by some other key: what a hub would have to
    // do to put words in CO's mouth.
    let mut forged = signed(&fed, "CO", &alert("forged", "CO", &["PA"]));
    let other = isthmus::envelope::sign(
        &alert("forged", "CO", &["PA"]),
        &isthmus::crypto::SigningKey::generate(),
    );
    forged.signatures[0].sig = other.signatures[0].sig.clone();
    let at = append_unchecked(&s, &fed, forged, "forged").await;

    let out = tail(dir.path(), &s, &[]).await;
    assert_eq!(out.status.code(), Some(1), "a forged alert is an integrity failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("entry #{at} failed verification")) && err.contains("does not verify"),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("honest"),
        "entries before it were printed"
    );

    let out = isthmus_as_pa(dir.path(), &s, &["get", &at.to_string()]).await;
    assert_eq!(out.status.code(), Some(1), "get checks too");
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed verification"));
    let out = isthmus_as_pa(dir.path(), &s, &["get", "1"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = tail(dir.path(), &s, &["--no-verify"]).await;
    assert!(out.status.success(), "--no-verify prints on trust");

    let wrong = "00".repeat(32);
    let out = tail(dir.path(), &s, &["--genesis", &wrong]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pinned with --genesis"));
    s.stop().await;
}

/// Two hubs with the same log key (a split view, or a hub restored from an
/// old backup): once the CLI has verified one tree, it refuses a smaller one
/// (rollback) and a different one of the same size (fork), from the
/// checkpoint it kept.
#[tokio::test]
async fn tail_refuses_a_rollback_and_a_fork_of_what_it_saw() {
    let fed = federation();
    let dir = tempfile::tempdir().expect("certs");
    fed.write(dir.path()).expect("write certs");
    let a = TestServer::start(fed.clone()).await;
    let mut co = a.client("CO").await;
    for i in 0..3 {
        co.publish(signed(&fed, "CO", &alert(&format!("a-{i}"), "CO", &["PA"])))
            .await
            .expect("publish");
    }
    a.hub
        .ledger()
        .checkpoint_at_least(4, std::time::Duration::from_secs(5))
        .await
        .expect("signed");
    let out = tail(dir.path(), &a, &[]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let b = TestServer::start(fed.clone()).await;
    b.hub
        .ledger()
        .checkpoint_at_least(1, std::time::Duration::from_secs(5))
        .await
        .expect("signed");
    let out = isthmus_as_pa(dir.path(), &b, &["tail", "--limit", "0"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rollback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut co = b.client("CO").await;
    for i in 0..3 {
        co.publish(signed(&fed, "CO", &alert(&format!("b-{i}"), "CO", &["PA"])))
            .await
            .expect("publish");
    }
    b.hub
        .ledger()
        .checkpoint_at_least(4, std::time::Duration::from_secs(5))
        .await
        .expect("signed");
    let out = isthmus_as_pa(dir.path(), &b, &["tail", "--limit", "0"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fork"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn bounded_and_roster_only_subscriptions_end_where_asked() {
    let fed = federation();
    let s = TestServer::start(fed.clone()).await;
    let mut co = s.client("CO").await;
    for i in 0..3 {
        co.publish(signed(&fed, "CO", &alert(&format!("b-{i}"), "CO", &["PA"])))
            .await
            .expect("publish");
    }
    let mut pa = s.client("PA").await;
    let bounded = pb::SubscribeRequest {
        from_index: 1,
        until_index: 3,
        ..Default::default()
    };
    let mut stream = pa.subscribe(bounded).await.expect("bounded").into_inner();
    let got = take(&mut stream, 2, 10).await;
    assert_eq!(got.iter().map(|e| e.index).collect::<Vec<_>>(), vec![1, 2]);
    assert!(
        stream.message().await.expect("clean end").is_none(),
        "the stream ends at until_index"
    );

    let rosters = pb::SubscribeRequest {
        until_index: s.size(),
        filter: Some(pb::SubscribeFilter {
            roster_only: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut stream = pa.subscribe(rosters).await.expect("roster only").into_inner();
    let got = take(&mut stream, 1, 10).await;
    assert_eq!(got[0].index, 0, "the genesis roster");
    assert!(stream.message().await.expect("clean end").is_none(), "no alerts");

    let backwards = pb::SubscribeRequest {
        from_index: 2,
        until_index: 1,
        ..Default::default()
    };
    let err = pa.subscribe(backwards).await.expect_err("until below from");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("until_index 1 is below from_index 2"));
    s.stop().await;
}

/// What an old ledger (written before ingest refused terminal codes) may
/// hold is printed escaped, even unverified: a title carrying ESC and CR
/// cannot overwrite the header line on a recipient's terminal.
#[tokio::test]
async fn terminal_codes_in_stored_text_are_printed_escaped() {
    let fed = federation();
    let dir = tempfile::tempdir().expect("certs");
    fed.write(dir.path()).expect("write certs");
    let s = TestServer::start(fed.clone()).await;
    let mut a = alert("old", "CO", &["PA"]);
    a.title = "Red\u{1b}[1A\u{1b}[2K\r#9  US -> PA  TLP:RED forged".into();
    let at = append_unchecked(&s, &fed, signed(&fed, "CO", &a), "old").await;
    for json in [false, true] {
        let mut args = vec!["get", "--no-verify"];
        if json {
            args.insert(0, "--json");
        }
        let index = at.to_string();
        args.push(&index);
        let out = isthmus_as_pa(dir.path(), &s, &args).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            !out.stdout.contains(&0x1b) && !out.stdout.contains(&b'\r'),
            "raw control bytes printed"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("\\u001b[1A"), "{text}");
        if json {
            let v: serde_json::Value = serde_json::from_str(text.trim()).expect("valid JSON");
            assert!(
                v["alert"]["title"].as_str().expect("title").contains('\u{1b}'),
                "same text once decoded"
            );
        }
    }
    s.stop().await;
}
