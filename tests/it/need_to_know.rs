//! Need-to-know, randomised: alerts from random delegations with random
//! recipient sets and TLP labels, read back by every delegation and the
//! auditor through every path that reveals content (live stream, replay
//! from random cursors, get by index, get by id, inclusion proofs). Zero
//! leaks and zero missing deliveries. The seed is printed and can be set
//! with ISTHMUS_NTK_SEED.

use crate::util::*;
use isthmus::devcerts::{AUDITOR, DELEGATIONS};
use isthmus::pb;
use std::collections::{BTreeMap, BTreeSet};
use tonic::Code;

const ALERTS: usize = 60;

/// A random alert and who may see it.
fn random_alert(rng: &mut Prng, n: usize) -> (pb::Alert, BTreeSet<String>) {
    let delegations: Vec<&str> = DELEGATIONS.iter().map(|d| d.0).collect();
    let publisher = delegations[rng.below(20) as usize];
    let tlp = [
        pb::Tlp::Clear,
        pb::Tlp::Green,
        pb::Tlp::Amber,
        pb::Tlp::AmberStrict,
        pb::Tlp::Red,
    ][rng.below(5) as usize];
    let all = tlp != pb::Tlp::Red && rng.below(8) == 0;
    let mut to = BTreeSet::new();
    while !all && (to.is_empty() || rng.below(3) == 0) && to.len() < 6 {
        to.insert(delegations[rng.below(20) as usize].to_string());
    }
    let mut a = alert(&format!("ntk-{n}"), publisher, &[]);
    a.tlp = tlp as i32;
    a.recipients = if all {
        vec!["ALL".into()]
    } else {
        to.iter().cloned().collect()
    };
    let mut sees: BTreeSet<String> = if all {
        delegations.iter().map(|d| d.to_string()).collect()
    } else {
        to
    };
    sees.insert(publisher.to_string());
    sees.insert(AUDITOR.to_string());
    (a, sees)
}

fn principals() -> Vec<&'static str> {
    DELEGATIONS.iter().map(|d| d.0).chain([AUDITOR]).collect()
}

#[tokio::test]
async fn every_principal_sees_exactly_what_it_is_entitled_to_on_every_path() {
    let seed = std::env::var("ISTHMUS_NTK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x15_7A_u64);
    eprintln!("need-to-know seed {seed}");
    let mut rng = Prng(seed | 1);
    let s = TestServer::start(federation()).await;
    let start = s.size();
    let mut live = BTreeMap::new();
    for who in principals() {
        live.insert(
            who,
            s.client(who)
                .await
                .subscribe(subscribe_req(start))
                .await
                .expect("subscribe")
                .into_inner(),
        );
    }
    // index -> (publisher, alert id, who may see it)
    let mut book: BTreeMap<u64, (String, String, BTreeSet<String>)> = BTreeMap::new();
    for n in 0..ALERTS {
        let (a, sees) = random_alert(&mut rng, n);
        let mut c = s.client(&a.publisher).await;
        let r = c.publish(publishable(&s.fed, &a)).await.expect("publish").into_inner();
        book.insert(r.index, (a.publisher.clone(), a.id.clone(), sees));
    }
    let end = s.size();
    let visible_from = |who: &str, from: u64| -> Vec<u64> {
        book.range(from..)
            .filter(|(_, (_, _, sees))| sees.contains(who))
            .map(|(i, _)| *i)
            .collect()
    };

    for (who, stream) in live.iter_mut() {
        let want = visible_from(who, start);
        let got: Vec<u64> = take(stream, want.len(), 30).await.iter().map(|e| e.index).collect();
        assert_eq!(got, want, "live stream of {who}");
        nothing_within(stream, 100).await;
    }

    let mut leaks_checked = 0;
    for who in principals() {
        let mut c = s.client(who).await;
        let cursor = start + rng.below(end - start + 1);
        let mut replay = c.subscribe(subscribe_req(cursor)).await.expect("replay").into_inner();
        let want = visible_from(who, cursor);
        let got: Vec<u64> = take(&mut replay, want.len(), 30)
            .await
            .iter()
            .map(|e| e.index)
            .collect();
        assert_eq!(got, want, "replay of {who} from {cursor}");
        nothing_within(&mut replay, 100).await;

        for (index, (publisher, id, sees)) in &book {
            let by_index = c
                .get_entry(pb::GetEntryRequest {
                    key: Some(pb::get_entry_request::Key::Index(*index)),
                })
                .await;
            let key = pb::AlertKey {
                publisher: publisher.clone(),
                id: id.clone(),
            };
            let by_id = c
                .get_entry(pb::GetEntryRequest {
                    key: Some(pb::get_entry_request::Key::Alert(key)),
                })
                .await;
            let proof = c
                .get_inclusion_proof(pb::InclusionProofRequest {
                    index: *index,
                    tree_size: end,
                })
                .await;
            for (path, result) in [
                ("get by index", by_index.map(drop)),
                ("get by id", by_id.map(drop)),
                ("proof", proof.map(drop)),
            ] {
                match (sees.contains(who), result) {
                    (true, Ok(())) => {}
                    (false, Err(e)) if e.code() == Code::NotFound => leaks_checked += 1,
                    (entitled, other) => panic!("{who} {path} of entry {index} (entitled: {entitled}): {other:?}"),
                }
            }
        }
    }
    eprintln!(
        "{ALERTS} alerts, {} principals, {leaks_checked} denied reads checked",
        principals().len()
    );
    assert!(
        leaks_checked > 0,
        "the random alerts must include some that most principals may not see"
    );
    s.stop().await;
}
