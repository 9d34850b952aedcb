//! The fixed world every fuzz target runs in: a small roster whose signing
//! keys come from constant seeds, a log key from a constant seed, one clock
//! reading, and helpers that build valid alerts, envelopes and ledger
//! entries from it. Everything is deterministic, so a crashing input
//! reproduces on any machine and in `cargo test`.

use std::sync::OnceLock;

use crate::crypto::{PublicKey, SigningKey};
use crate::envelope;
use crate::ids::PrincipalId;
use crate::ingest::{self, Caller, Original, Stamp};
use crate::ledger::entry::NewEntry;
use crate::ledger::note::{self, NoteSigner};
use crate::pb;
use crate::roster::change as roster_change;
use crate::roster::{Member, Role, Roster, RosterKey, RosterSealingKey, SpkiHash, Terms};
use crate::seal::{Reader, SealingPrivateKey};
use crate::time::unix_to_pb;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// The hub's clock for every target (2026-09-21T13:08:20Z).
pub const NOW: i64 = 1_790_000_100;
/// The log's key name and checkpoint origin.
pub const LOG_NAME: &str = "isthmus.fuzz/log";
/// The member delegations, in roster order.
pub const DELEGATIONS: [&str; 4] = ["BR", "CO", "PA", "US"];

/// Keys, roster and log signer shared by all targets.
pub struct Fixture {
    /// The roster (delegations above plus `AUDITOR`).
    pub roster: Roster,
    /// The genesis ledger entry holding [`Fixture::roster`].
    pub roster_entry: Vec<u8>,
    /// The log's checkpoint signer.
    pub log: NoteSigner,
    keys: Vec<SigningKey>,
    sealing: Vec<SealingPrivateKey>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// The one fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn build() -> Fixture {
    let keys: Vec<SigningKey> = (1..=DELEGATIONS.len() as u8)
        .map(|i| SigningKey::from_seed([i; 32]))
        .collect();
    let sealing: Vec<SealingPrivateKey> = (1..=DELEGATIONS.len() as u8)
        .map(|i| SealingPrivateKey::derive(&[0x30 + i; 32]))
        .collect();
    let mut members: Vec<Member> = DELEGATIONS
        .iter()
        .zip(keys.iter().zip(&sealing))
        .enumerate()
        .map(|(i, (id, (k, s)))| Member {
            sealing: vec![RosterSealingKey {
                key: s.public_key().clone(),
                not_before: crate::alert::EARLIEST_CREATED,
                not_after: 4_000_000_000,
            }],
            ..member(id, Role::Delegation, spki(i), vec![roster_key(k.public_key())])
        })
        .collect();
    members.push(member("AUDITOR", Role::Auditor, spki(DELEGATIONS.len()), vec![]));
    let terms = Terms {
        version: 1,
        quorum: 2,
        issued: NOW - 3_600,
        witness_quorum: 0,
    };
    let roster = Roster::new(members, terms).expect("the fixture roster is valid");
    let approvals = keys.iter().map(|k| roster_change::approve(&roster, k)).collect();
    let roster_entry = NewEntry::roster(roster_change::seal(&roster, approvals), terms.issued, i64::MAX).bytes;
    Fixture {
        roster,
        roster_entry,
        log: log_signer(),
        keys,
        sealing,
    }
}

fn member(id: &str, role: Role, spki: SpkiHash, keys: Vec<RosterKey>) -> Member {
    Member {
        id: PrincipalId::parse(id).expect("fixture ids are valid"),
        name: format!("{id} (fuzz fixture)"),
        role,
        tls_spki: vec![spki],
        keys,
        sealing: vec![],
        witness: None,
    }
}

fn roster_key(key: PublicKey) -> RosterKey {
    RosterKey {
        key,
        not_before: crate::alert::EARLIEST_CREATED,
        not_after: 4_000_000_000,
    }
}

/// The certificate key hash bound to the `i`-th principal.
pub fn spki(i: usize) -> SpkiHash {
    [0x10 + i as u8; 32]
}

/// The log signer from a constant seed, through the private key string
/// format so that the parser is the one in production.
fn log_signer() -> NoteSigner {
    let seed = [9u8; 32];
    let public = SigningKey::from_seed(seed).public_key();
    let id = note::key_id(LOG_NAME, public.as_bytes());
    let mut raw = vec![0x01];
    raw.extend_from_slice(&seed);
    let private = format!("PRIVATE+KEY+{LOG_NAME}+{id:08x}+{}", B64.encode(raw));
    NoteSigner::from_private_key(&private).expect("the fixture log key is valid")
}

impl Fixture {
    /// The signing key of delegation `id` (one of [`DELEGATIONS`]).
    pub fn key(&self, id: &str) -> &SigningKey {
        let i = DELEGATIONS.iter().position(|d| *d == id).expect("a fixture delegation");
        &self.keys[i]
    }

    /// The sealing key of delegation `id` (one of [`DELEGATIONS`]).
    pub fn sealing_key(&self, id: &str) -> &SealingPrivateKey {
        let i = DELEGATIONS.iter().position(|d| *d == id).expect("a fixture delegation");
        &self.sealing[i]
    }

    /// `alert` signed by its publisher and sealed to its recipients and
    /// the publisher (each delegation's one fixture sealing key).
    pub fn sealed(&self, alert: &pb::Alert) -> pb::Envelope {
        let inner = envelope::sign(alert, self.key(&alert.publisher));
        let mut ids: Vec<&str> = alert.recipients.iter().map(String::as_str).collect();
        ids.push(&alert.publisher);
        ids.sort_unstable();
        ids.dedup();
        let readers: Vec<Reader<'_>> = ids
            .into_iter()
            .map(|id| Reader {
                id,
                key: self.sealing_key(id).public_key(),
            })
            .collect();
        crate::seal::seal(&inner, alert, &readers, self.key(&alert.publisher))
    }

    /// The caller whose certificate is bound to delegation `id`.
    pub fn caller(&self, id: &str) -> Caller<'_> {
        let member = self.roster.member(id).expect("a fixture member");
        Caller {
            member,
            spki: &member.tls_spki[0],
        }
    }

    /// An envelope over `payload` correctly signed by `who`.
    pub fn signed(&self, who: &str, payload: Vec<u8>) -> pb::Envelope {
        let key = self.key(who);
        pb::Envelope {
            signatures: vec![pb::Signature {
                sig: key
                    .sign(&envelope::pae(pb::ALERT_PAYLOAD_TYPE, &payload))
                    .to_bytes()
                    .to_vec(),
                keyid: key.public_key().key_id(),
            }],
            payload,
            payload_type: pb::ALERT_PAYLOAD_TYPE.to_owned(),
        }
    }

    /// The ledger entry the hub stores for `alert` published by its
    /// publisher at [`NOW`] (panics if ingest refuses it).
    pub fn entry(&self, alert: &pb::Alert) -> Vec<u8> {
        let env = envelope::sign(alert, self.key(&alert.publisher));
        let caller = self.caller(&alert.publisher);
        let accepted = ingest::check(&env, caller, &self.roster, &STAMP, |_| Some(self.original()))
            .expect("a valid fixture alert");
        accepted.entry.bytes
    }

    /// What every fixture amendment amends: a TLP:CLEAR alert to every
    /// delegation, so no amendment widens it.
    pub fn original(&self) -> Original {
        Original {
            tlp: pb::Tlp::Clear as i32,
            recipients: DELEGATIONS.into_iter().collect(),
        }
    }
}

/// The hub's stamp for every target: [`NOW`] and a fixed salt.
pub const STAMP: Stamp = Stamp {
    now: NOW,
    salt: [0x5a; ingest::SALT_BYTES],
};

/// A valid alert from `publisher` to `recipients`, created a minute before [`NOW`].
pub fn alert(id: &str, publisher: &str, recipients: &[&str]) -> pb::Alert {
    pb::Alert {
        id: id.into(),
        publisher: publisher.into(),
        created: Some(unix_to_pb(NOW - 60)),
        language: "es-CO".into(),
        tlp: pb::Tlp::Amber as i32,
        recipients: recipients.iter().map(|s| s.to_string()).collect(),
        evaluation: Some(pb::Evaluation {
            source_reliability: 2,
            information_credibility: 3,
        }),
        category: pb::Category::MigrantSmuggling as i32,
        title: format!("alert {id}"),
        summary: "Grupo de 40 personas saldrá de Necoclí hacia Acandí.".into(),
        ..Default::default()
    }
}
