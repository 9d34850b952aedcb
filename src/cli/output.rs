//! What the CLI prints: readable lines by default, one JSON object per line
//! with `--json`. Everything goes through `writeln!` so a closed pipe ends
//! the program quietly instead of panicking.

use super::sealed::Shown;
use crate::alert::file::AlertFile;
use crate::crypto::PublicKey;
use crate::ledger::entry;
use crate::pb;
use crate::time::timestamp_text;
use prost::Message;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// Prints one record. Whatever it holds, nothing that acts on a terminal
/// or reorders text reaches it: such characters (which ingest refuses, but
/// older ledgers and `--no-verify` may still show) are printed as visible
/// `\u{…}` escapes, in JSON as `\uXXXX` escapes (still valid JSON).
fn out(line: impl std::fmt::Display) -> std::io::Result<()> {
    let text = line.to_string();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", crate::text::visible(&text))?;
    stdout.flush()
}

pub(super) fn receipt(json: bool, alert: &pb::Alert, r: &pb::PublishReceipt) -> std::io::Result<()> {
    match json {
        true => out(json!({
            "index": r.index,
            "id": alert.id,
            "duplicate": r.duplicate,
            "leaf_hash": hex::encode(&r.leaf_hash),
            "tree_size": r.tree_size,
        })),
        false => out(format!(
            "published {} as ledger index {}{}",
            alert.id,
            r.index,
            if r.duplicate {
                " (already published; original receipt)"
            } else {
                ""
            }
        )),
    }
}

/// One entry; `shown` says what opening a sealed alert gave.
pub(super) fn entry(json: bool, e: &pb::LedgerEntry, shown: &Shown) -> std::io::Result<()> {
    let decoded = entry::decode(&e.entry).map_err(std::io::Error::other)?;
    match entry::body(&decoded) {
        entry::Body::Submission(s) => submission(json, e.index, s, shown),
        entry::Body::Roster { envelope: env, .. } => {
            let r = pb::Roster::decode(env.payload.as_slice()).unwrap_or_default();
            let approvals = env.signatures.len();
            match json {
                true => out(json!({
                    "index": e.index, "kind": "roster", "version": r.version,
                    "principals": r.principals.len(), "approvals": approvals,
                })),
                false => out(format!(
                    "#{}  roster version {}: {} principals, {approvals} approvals",
                    e.index,
                    r.version,
                    r.principals.len()
                )),
            }
        }
        entry::Body::Empty => out(format!("#{}  (unknown entry kind)", e.index)),
    }
}

fn submission(json: bool, index: u64, s: &pb::Submission, shown: &Shown) -> std::io::Result<()> {
    let env = s.envelope.clone().unwrap_or_default();
    let accepted = s.accepted.as_ref().map(timestamp_text).unwrap_or_default();
    let alert = match shown {
        Shown::Opened(a) => (**a).clone(),
        Shown::Clear => pb::Alert::decode(env.payload.as_slice()).map_err(std::io::Error::other)?,
        Shown::NotForMe => return sealed_header(json, index, s, &env, &accepted),
    };
    let file = AlertFile::from_pb(&alert);
    let sealed = matches!(shown, Shown::Opened(_));
    if json {
        return out(json!({
            "index": index,
            "kind": "alert",
            "publisher": s.principal,
            "recipients": s.recipients,
            "accepted": accepted,
            "keyid": env.signatures.first().map(|k| k.keyid.clone()),
            "sealed": sealed,
            "alert": file,
        }));
    }
    out(format!(
        "#{index}  {} -> {}  TLP:{}  {}  {}  {}\n      {}",
        s.principal,
        s.recipients.join(","),
        file.tlp,
        file.category,
        accepted,
        alert.id,
        match sealed {
            true => format!("[sealed, opened] {}", crate::text::one_line(&alert.title)),
            false => crate::text::one_line(&alert.title),
        }
    ))
}

/// A sealed alert this reader has no stanza in: its clear header only.
fn sealed_header(
    json: bool,
    index: u64,
    s: &pb::Submission,
    env: &pb::Envelope,
    accepted: &str,
) -> std::io::Result<()> {
    let header = crate::seal::header_of(&env.payload).unwrap_or_default();
    let tlp = AlertFile::from_pb(&crate::seal::check::routing_view(&header)).tlp;
    if json {
        return out(json!({
            "index": index,
            "kind": "sealed-alert",
            "publisher": s.principal,
            "recipients": s.recipients,
            "accepted": accepted,
            "keyid": env.signatures.first().map(|k| k.keyid.clone()),
            "sealed": true,
            "id": header.id,
            "tlp": tlp,
            "bytes": env.payload.len(),
        }));
    }
    out(format!(
        "#{index}  {} -> {}  TLP:{tlp}  {accepted}  {}\n      [sealed to its recipients: {} bytes of ciphertext you hold no key for]",
        s.principal,
        s.recipients.join(","),
        header.id,
        env.payload.len()
    ))
}

pub(super) fn whoami(json: bool, me: &pb::WhoAmIResponse) -> std::io::Result<()> {
    let role = pb::Role::try_from(me.role)
        .map(|r| r.as_str_name())
        .unwrap_or("UNKNOWN");
    match json {
        true => out(json!({
            "principal": me.principal, "name": me.name, "role": role,
            "tls_spki_sha256": me.tls_spki_sha256, "ledger_size": me.ledger_size,
        })),
        false => out(format!(
            "{} ({}), role {}\ncertificate SPKI SHA-256 {}\nledger size {}",
            me.principal, me.name, role, me.tls_spki_sha256, me.ledger_size
        )),
    }
}

pub(super) fn health(json: bool, service: &str, status: &str) -> std::io::Result<()> {
    match json {
        true => out(json!({ "service": service, "status": status })),
        false if service.is_empty() => out(status.to_owned()),
        false => out(format!("{service}: {status}")),
    }
}

pub(super) fn keygen(secret: &Path, public: &Path, key: &PublicKey) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
    eprintln!(
        "wrote {} (secret, mode 0600) and {}",
        secret.display(),
        public.display()
    );
    eprintln!("key id {}", key.key_id());
    eprintln!("send this roster entry to the federation administrator:\n");
    eprintln!("[[principal.signing_key]]\npublic_key = \"{b64}\"\nnot_before = \"...\"\nnot_after = \"...\"");
}

pub(super) fn keygen_sealing(secret: &Path, key: &crate::seal::SealingPublicKey) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
    eprintln!("wrote {} (secret, mode 0600): an X25519 sealing key", secret.display());
    eprintln!("key id {}", key.key_id());
    eprintln!("send this roster entry to the federation administrator:\n");
    eprintln!("[[principal.sealing_key]]\npublic_key = \"{b64}\"\nnot_before = \"...\"\nnot_after = \"...\"");
}

pub(super) fn verdict(json: bool, ok: bool, message: &str) -> std::io::Result<()> {
    match json {
        true => out(json!({"valid": ok, "message": message})),
        false => out(format!("{}: {message}", if ok { "VALID" } else { "INVALID" })),
    }
}

/// One line saying what an entry is, without its content.
pub(super) fn describe_entry(bytes: &[u8]) -> String {
    let Ok(decoded) = entry::decode(bytes) else {
        return "an entry that does not decode".into();
    };
    match entry::body(&decoded) {
        entry::Body::Submission(s) => {
            let env = s.envelope.clone().unwrap_or_default();
            let id = match env.payload_type == pb::SEALED_PAYLOAD_TYPE {
                true => crate::seal::header_of(&env.payload).map(|h| h.id).unwrap_or_default(),
                false => pb::Alert::decode(env.payload.as_slice())
                    .map(|a| a.id)
                    .unwrap_or_default(),
            };
            let accepted = s.accepted.as_ref().map(timestamp_text).unwrap_or_default();
            format!("alert {id} from {} accepted {accepted}", s.principal)
        }
        entry::Body::Roster { envelope, .. } => {
            let r = pb::Roster::decode(envelope.payload.as_slice()).unwrap_or_default();
            format!("roster version {} of {} principals", r.version, r.principals.len())
        }
        entry::Body::Empty => "an empty entry".into(),
    }
}
