//! Sealed alerts in the CLI (docs/sealing.md): `publish` seals to the
//! recipients' keys from the *proven* roster (never from what the hub says
//! unproven: a hub that could name the keys could read the alerts),
//! `tail`/`get` open what this delegation may read, and `disclose` /
//! `verify-disclosure` let a reader prove to a third party what was sent.

use super::verify::{CheckArgs, Verifier};
use super::{Cli, Failure};
use crate::client::Client;
use crate::crypto::SigningKey;
use crate::ledger::entry;
use crate::pb;
use crate::roster::Roster;
use crate::seal::{self, Reader, SealingPrivateKey};
use anyhow::{anyhow, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The sealing private keys this officer holds: every `--sealing-key`,
/// and with `--as ID` the DEV ONLY `certs-dev/ID/sealing.key.pem`.
pub(super) fn keys(cli: &Cli) -> anyhow::Result<Vec<SealingPrivateKey>> {
    let dev = cli
        .as_id
        .as_ref()
        .map(|id| cli.certs_dir.join(id.to_ascii_uppercase()).join("sealing.key.pem"))
        .filter(|p| p.exists());
    // A git checkout cannot keep certs-dev/ at 0600: only keys passed
    // explicitly must be private to their owner.
    let explicit = cli.sealing_keys.iter().map(|p| (p.clone(), true));
    explicit
        .chain(dev.map(|p| (p, false)))
        .map(|(path, check)| {
            if check {
                crate::secret::check_private(&path).map_err(|e| anyhow!(e))?;
            }
            let pem = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            SealingPrivateKey::from_pkcs8_pem(&pem)
                .with_context(|| format!("{} is not an X25519 PKCS#8 key", path.display()))
        })
        .collect()
}

/// `alert`, signed with `key`, sealed to its recipients and to `me` under
/// each one's newest sealing key valid now in `roster`.
pub(super) fn seal_alert(
    alert: &pb::Alert,
    key: &SigningKey,
    roster: &Roster,
    now: i64,
) -> anyhow::Result<pb::Envelope> {
    let mut ids: Vec<&str> = alert.recipients.iter().map(String::as_str).collect();
    if ids.contains(&crate::alert::ALL_RECIPIENTS) {
        return Err(anyhow!(
            "a sealed alert names its recipients (\"ALL\" cannot be sealed); list the delegations"
        ));
    }
    ids.push(&alert.publisher);
    ids.sort_unstable();
    ids.dedup();
    let readers = ids
        .into_iter()
        .map(|id| {
            let member = roster
                .member(id)
                .ok_or_else(|| anyhow!("recipient {id} is not in the roster"))?;
            let key = member
                .sealing
                .iter()
                .filter(|k| k.valid_at(now))
                .max_by_key(|k| k.not_before)
                .ok_or_else(|| {
                    anyhow!("{id} has no sealing key valid now in the roster, so nothing can be sealed to it")
                })?;
            Ok(Reader { id, key: &key.key })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(seal::seal(&crate::envelope::sign(alert, key), alert, &readers, key))
}

/// The roster in force now, proven from the genesis (for sealing).
pub(super) async fn proven_roster(cli: &Cli, rpc: &mut Client, check: &CheckArgs) -> Result<Roster, Failure> {
    let v = check.verifier(cli, rpc, 0).await?.ok_or_else(|| {
        anyhow!("sealing needs the roster proven from the log, so it cannot be done with --no-verify")
    })?;
    Ok(v.latest_roster().map_err(|why| anyhow!(why))?.clone())
}

/// Who reads, and with which keys.
pub(super) struct Opener {
    me: String,
    keys: Vec<SealingPrivateKey>,
}

/// What a sealed entry showed this reader.
pub(super) enum Shown {
    /// Not sealed.
    Clear,
    /// Opened and checked: the inner alert.
    Opened(Box<pb::Alert>),
    /// Sealed to others: only the header can be shown.
    NotForMe,
}

impl Opener {
    pub(super) async fn new(cli: &Cli, rpc: &mut Client) -> Result<Opener, Failure> {
        let me = rpc.who_am_i(pb::WhoAmIRequest {}).await?.into_inner().principal;
        Ok(Opener { me, keys: keys(cli)? })
    }

    /// Opens `e` if it is a sealed alert this reader has a stanza in,
    /// checking the inner alert under `roster` (the one in force at the
    /// entry) when there is one; an error says why it did not open.
    pub(super) fn show(&self, e: &pb::LedgerEntry, roster: Option<&Roster>) -> Result<Shown, String> {
        let Some((s, env)) = sealed_submission(&e.entry) else {
            return Ok(Shown::Clear);
        };
        let sealed = pb::SealedAlert::decode(env.payload.as_slice()).map_err(|err| err.to_string())?;
        if !sealed.stanzas.iter().any(|st| st.recipient == self.me) {
            return Ok(Shown::NotForMe);
        }
        let Some(roster) = roster else {
            // --no-verify: the inner alert is shown unchecked, as it says.
            let opened = seal::open(&env.payload, &self.me, &self.keys).map_err(|err| err.to_string())?;
            let alert = pb::Alert::decode(opened.inner.payload.as_slice()).map_err(|err| err.to_string())?;
            return Ok(Shown::Opened(Box::new(alert)));
        };
        let (_, alert) = self.open_checked_sealed(&s, &env, roster)?;
        Ok(Shown::Opened(Box::new(alert)))
    }

    /// Opens and checks `e` for a disclosure.
    fn open_checked(&self, e: &pb::LedgerEntry, roster: &Roster) -> Result<seal::Opened, String> {
        let (s, env) = sealed_submission(&e.entry).ok_or("not a sealed alert")?;
        Ok(self.open_checked_sealed(&s, &env, roster)?.0)
    }

    /// Steps 1 to 7 of docs/sealing.md on a sealed submission, under the
    /// roster in force at it.
    fn open_checked_sealed(
        &self,
        s: &pb::Submission,
        env: &pb::Envelope,
        roster: &Roster,
    ) -> Result<(seal::Opened, pb::Alert), String> {
        let opened = seal::open(&env.payload, &self.me, &self.keys).map_err(|err| err.to_string())?;
        let at = s.accepted.as_ref().map_or(0, |t| t.seconds);
        let valid = opened.check(roster, at).map_err(|err| err.to_string())?;
        Ok((opened, valid.alert))
    }
}

/// The submission and its envelope, if `bytes` hold a sealed alert.
fn sealed_submission(bytes: &[u8]) -> Option<(pb::Submission, pb::Envelope)> {
    let decoded = entry::decode(bytes).ok()?;
    let entry::Body::Submission(s) = entry::body(&decoded) else {
        return None;
    };
    let env = s.envelope.clone()?;
    (env.payload_type == pb::SEALED_PAYLOAD_TYPE).then(|| (s.clone(), env))
}

/// A disclosure: what a reader hands a third party so that it can check,
/// with no private key, what the publisher sealed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disclosure {
    /// What this file is.
    format: String,
    /// The ledger index.
    index: u64,
    /// The ledger entry exactly as stored (standard base64).
    entry: String,
    /// The inner envelope (standard base64).
    inner_envelope: String,
    /// The opener (hex).
    opener: String,
}

const DISCLOSURE_FORMAT: &str = "isthmus sealed-alert disclosure v1";

/// `isthmus disclose INDEX --out FILE`.
pub(super) async fn disclose(cli: &Cli, index: u64, out: &Path, check: &CheckArgs) -> Result<(), Failure> {
    let mut rpc = super::connect(cli).await?;
    let e = rpc
        .get_entry(pb::GetEntryRequest {
            key: Some(pb::get_entry_request::Key::Index(index)),
        })
        .await?
        .into_inner();
    let mut v: Verifier = check
        .verifier(cli, &mut rpc, index + 1)
        .await?
        .ok_or_else(|| anyhow!("a disclosure is made from a verified entry; drop --no-verify"))?;
    v.check(&e).map_err(|why| super::verify::refuse(index, &why))?;
    v.prove_included(&mut rpc, &e).await?;
    let roster = v.roster_at(index).map_err(|why| super::verify::refuse(index, &why))?;
    let opened = Opener::new(cli, &mut rpc)
        .await?
        .open_checked(&e, roster)
        .map_err(|why| super::verify::refuse(index, &why))?;
    let d = Disclosure {
        format: DISCLOSURE_FORMAT.into(),
        index,
        entry: B64.encode(&e.entry),
        inner_envelope: B64.encode(&opened.inner_bytes),
        opener: hex::encode(opened.opener),
    };
    let text = serde_json::to_string_pretty(&d).map_err(|e| anyhow!(e))?;
    crate::secret::write(out, &text, false).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote the disclosure of entry #{index} to {} (it reveals the alert: hand it only to whom you mean to)",
        out.display()
    );
    Ok(())
}

/// `isthmus verify-disclosure FILE --roster ROSTER`: offline.
pub(super) fn verify_disclosure(cli: &Cli, file: &Path, roster_file: &Path) -> Result<(), Failure> {
    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let roster = Roster::from_toml(&read(roster_file)?).map_err(|e| anyhow!("{}: {e}", roster_file.display()))?;
    let d: Disclosure = serde_json::from_str(&read(file)?).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let verdict = check_disclosure(&d, &roster);
    let ok = verdict.is_ok();
    let message = verdict.unwrap_or_else(|why| format!("entry #{}: {why}", d.index));
    super::output::verdict(cli.json, ok, &message)?;
    match ok {
        true => Ok(()),
        false => Err(Failure::Invalid),
    }
}

fn check_disclosure(d: &Disclosure, roster: &Roster) -> Result<String, String> {
    if d.format != DISCLOSURE_FORMAT {
        return Err(format!("format {:?} is not {DISCLOSURE_FORMAT:?}", d.format));
    }
    let bytes = B64.decode(&d.entry).map_err(|_| "entry is not base64")?;
    let (s, env) = sealed_submission(&bytes).ok_or("the entry is not a sealed alert")?;
    let at = s.accepted.as_ref().map_or(0, |t| t.seconds);
    super::verify::submission(roster, &s)?;
    let sealed = seal::ValidSealed::parse(&env.payload, at).map_err(|e| e.to_string())?;
    let inner_bytes = B64
        .decode(&d.inner_envelope)
        .map_err(|_| "inner_envelope is not base64")?;
    let opener: [u8; 32] = hex::decode(&d.opener)
        .ok()
        .and_then(|o| o.try_into().ok())
        .ok_or("opener is not 32 bytes of hex")?;
    if seal::disclosure_commitment(&opener, &inner_bytes).as_slice() != sealed.header.disclosure_commitment.as_slice() {
        return Err("the inner envelope and opener do not open the header's disclosure commitment".into());
    }
    let opened = seal::Opened {
        header: sealed.header,
        inner: pb::Envelope::decode(inner_bytes.as_slice()).map_err(|e| e.to_string())?,
        inner_bytes,
        opener,
    };
    let alert = opened.check(roster, at).map_err(|e| e.to_string())?;
    Ok(format!(
        "entry #{} (leaf hash {}): TLP:{} sealed alert {} {:?}, signed inside and out by {}; prove the entry is in the log with `isthmus receipt {}`",
        d.index,
        hex::encode(crate::ledger::merkle::leaf_hash(&bytes)),
        crate::alert::file::AlertFile::from_pb(&alert.alert).tlp,
        alert.id.as_str(),
        alert.alert.title,
        s.principal,
        d.index
    ))
}
