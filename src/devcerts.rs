//! Development material: a federation CA, a server certificate for
//! localhost, and for every principal a client certificate, its key and an
//! Ed25519 alert-signing key, plus the roster binding them. `isthmus
//! dev-certs` writes it to `certs-dev/`; tests make fresh copies in temporary
//! folders. Everything here is for development only: the keys are written
//! unencrypted next to the certificates.

use crate::crypto::SigningKey;
use crate::error::{Error, Result};
use crate::hash::sha256;
use crate::ids::PrincipalId;
use crate::ledger::note::NoteSigner;
use crate::pb;
use crate::roster::change as roster_change;
use crate::roster::{Member, Role, Roster, RosterKey, RosterSealingKey, SpkiHash, Terms};
use crate::seal::SealingPrivateKey;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// The federation's delegations in the development roster.
pub const DELEGATIONS: [(&str, &str); 20] = [
    ("CO", "Colombia"),
    ("PA", "Panama"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("MX", "Mexico"),
    ("CR", "Costa Rica"),
    ("EC", "Ecuador"),
    ("PE", "Peru"),
    ("BR", "Brazil"),
    ("CL", "Chile"),
    ("VE", "Venezuela"),
    ("HT", "Haiti"),
    ("CU", "Cuba"),
    ("GT", "Guatemala"),
    ("HN", "Honduras"),
    ("SV", "El Salvador"),
    ("NI", "Nicaragua"),
    ("DO", "Dominican Republic"),
    ("AR", "Argentina"),
    ("BZ", "Belize"),
];

/// The auditor principal's id.
pub const AUDITOR: &str = "AUDITOR";

fn tls_err(e: rcgen::Error) -> Error {
    Error::Tls(e.to_string())
}

/// A certificate authority that can issue certificates.
pub struct DevCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// An issued certificate with its key, in PEM.
#[derive(Clone)]
pub struct Issued {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PKCS#8 PEM.
    pub key_pem: String,
    /// SHA-256 of the certificate's DER SubjectPublicKeyInfo.
    pub spki: SpkiHash,
}

impl DevCa {
    /// A new self-signed CA named `name`, valid from yesterday for `days`.
    pub fn new(name: &str, days: i64) -> Result<Self> {
        let key = KeyPair::generate().map_err(tls_err)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        window(&mut p, -1, days);
        let cert = p.self_signed(&key).map_err(tls_err)?;
        Ok(DevCa { cert, key })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `localhost`, 127.0.0.1 and ::1.
    pub fn issue_server(&self, days: i64) -> Result<Issued> {
        let mut p = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls_err)?;
        p.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        p.subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        p.distinguished_name.push(DnType::CommonName, "isthmusd DEV ONLY");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        window(&mut p, -1, days);
        self.sign(p)
    }

    /// A client certificate for `id`, valid from `from_days` to `to_days`
    /// relative to now (negative = past).
    pub fn issue_client(&self, id: &str, from_days: i64, to_days: i64) -> Result<Issued> {
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        p.distinguished_name.push(DnType::CommonName, format!("{id} DEV ONLY"));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        window(&mut p, from_days, to_days);
        self.sign(p)
    }

    /// A client certificate for `id`, valid from a day ago until Unix time
    /// `not_after` (tests of what happens when one expires mid-connection).
    pub fn issue_client_until(&self, id: &str, not_after: i64) -> Result<Issued> {
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        p.distinguished_name.push(DnType::CommonName, format!("{id} DEV ONLY"));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        window(&mut p, -1, 0);
        p.not_after = OffsetDateTime::from_unix_timestamp(not_after).map_err(|e| Error::Tls(e.to_string()))?;
        self.sign(p)
    }

    fn sign(&self, mut p: CertificateParams) -> Result<Issued> {
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().map_err(tls_err)?;
        let cert = p.signed_by(&key, &self.cert, &self.key).map_err(tls_err)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            spki: sha256(&key.public_key_der()),
        })
    }
}

fn window(p: &mut CertificateParams, from_days: i64, to_days: i64) {
    let now = OffsetDateTime::now_utc();
    p.not_before = now + Duration::days(from_days);
    p.not_after = now + Duration::days(to_days);
}

/// One principal's development identity.
pub struct DevPrincipal {
    /// Its roster entry.
    pub member: Member,
    /// Its client certificate.
    pub tls: Issued,
    /// Its alert signing key (delegations only).
    pub signing: Option<SigningKey>,
    /// Its sealing key (delegations only).
    pub sealing: Option<SealingPrivateKey>,
}

/// A complete development federation.
pub struct DevFederation {
    /// The log's checkpoint signing key.
    pub log: NoteSigner,
    /// The same key as a C2SP note private key string (secret).
    pub log_private: String,
    /// The federation CA.
    pub ca: DevCa,
    /// The hub's certificate.
    pub server: Issued,
    /// Every principal.
    pub principals: Vec<DevPrincipal>,
    /// When the federation was made: the genesis roster's issue time.
    pub created: i64,
}

impl DevFederation {
    /// The 20 delegations of [`DELEGATIONS`] and an auditor, valid `days`.
    pub fn generate(days: i64) -> Result<Self> {
        let ca = DevCa::new("Isthmus federation CA — DEV ONLY", days)?;
        let server = ca.issue_server(days)?;
        let mut principals = Vec::new();
        for (id, name) in DELEGATIONS {
            principals.push(principal(&ca, id, name, Role::Delegation, days)?);
        }
        principals.push(principal(&ca, AUDITOR, "Federation auditor", Role::Auditor, days)?);
        let origin = format!(
            "isthmus.localhost/dev-{}",
            hex::encode(&sha256(ca.cert_pem().as_bytes())[..4])
        );
        let (log, log_private) = NoteSigner::generate(&origin).map_err(|e| Error::Config(e.to_string()))?;
        Ok(DevFederation {
            log,
            log_private,
            ca,
            server,
            principals,
            created: OffsetDateTime::now_utc().unix_timestamp(),
        })
    }

    /// The genesis roster binding every principal: version 1, issued now,
    /// changes need a majority of the delegations.
    pub fn roster(&self) -> Result<Roster> {
        let members: Vec<_> = self.principals.iter().map(|p| p.member.clone()).collect();
        let delegations = members.iter().filter(|m| m.role == Role::Delegation).count();
        let terms = Terms {
            version: 1,
            quorum: (delegations / 2 + 1) as u32,
            issued: self.created,
            witness_quorum: 0,
        };
        Ok(Roster::new(members, terms)?)
    }

    /// `roster` approved by every delegation of `roster` whose key this
    /// federation holds, valid at the roster's issue time: the envelope the
    /// ledger stores.
    pub fn approved(&self, roster: &Roster) -> pb::Envelope {
        let approvals = self
            .principals
            .iter()
            .filter(|p| {
                roster
                    .member(p.member.id.as_str())
                    .is_some_and(|m| m.role == Role::Delegation)
            })
            .filter_map(|p| p.signing.as_ref())
            .filter(|k| {
                let issued = roster.terms().issued;
                roster
                    .key(&k.public_key().key_id())
                    .is_some_and(|(_, rk)| rk.valid_at(issued))
            })
            .map(|k| roster_change::approve(roster, k))
            .collect();
        roster_change::seal(roster, approvals)
    }

    /// The principal `id`, if it is one of this federation's.
    pub fn principal(&self, id: &str) -> Option<&DevPrincipal> {
        self.principals.iter().find(|p| p.member.id.as_str() == id)
    }

    /// `a` signed by its publisher and sealed (docs/sealing.md) to its
    /// named recipients and the publisher with their sealing keys; a
    /// recipient outside the federation gets a stanza to a fresh key
    /// (which the hub refuses: it is no member's).
    pub fn sealed(&self, a: &pb::Alert) -> Result<pb::Envelope> {
        let publisher = self
            .principal(&a.publisher)
            .and_then(|p| p.signing.as_ref())
            .ok_or_else(|| Error::Config(format!("{} has no signing key here", a.publisher)))?;
        let mut ids: Vec<&str> = a.recipients.iter().map(String::as_str).collect();
        ids.push(&a.publisher);
        ids.sort_unstable();
        ids.dedup();
        let own = |id: &str| self.principal(id).and_then(|p| p.sealing.as_ref());
        let strangers: Vec<SealingPrivateKey> = ids
            .iter()
            .filter(|id| own(id).is_none())
            .map(|_| SealingPrivateKey::generate())
            .collect();
        let mut strangers = strangers.iter();
        let readers = ids
            .iter()
            .map(|id| {
                let key = own(id).or_else(|| strangers.next());
                key.map(|k| crate::seal::Reader {
                    id,
                    key: k.public_key(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Config("a reader without a key".into()))?;
        Ok(crate::seal::seal(
            &crate::envelope::sign(a, publisher),
            a,
            &readers,
            publisher,
        ))
    }

    /// The approvals file for `roster` (see [`roster_change::parse_lines`]).
    pub fn approvals_file(&self, roster: &Roster) -> String {
        let env = self.approved(roster);
        let mut text = String::from("# DEV ONLY approvals of roster.toml, written by `isthmus dev-certs`.\n");
        for s in &env.signatures {
            let owner = roster.key(&s.keyid).map(|(m, _)| m.id.to_string()).unwrap_or_default();
            text.push_str(&roster_change::to_line(&owner, s));
            text.push('\n');
        }
        text
    }

    /// Writes everything under `dir` (see certs-dev/README.md for the layout).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let put = |rel: &str, text: &str| {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
            }
            std::fs::write(&path, text).map_err(|e| Error::file(&path, e))
        };
        let secret = |rel: &str, text: &str| {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
            }
            crate::secret::write(&path, text, true).map_err(|e| Error::file(&path, e))
        };
        put("README.md", DEV_README)?;
        secret("log.key", &format!("{}\n", self.log_private))?;
        put("log.pub", &format!("{}\n", self.log.verifier_key()))?;
        put("ca.pem", &self.ca.cert_pem())?;
        put("server.pem", &self.server.cert_pem)?;
        secret("server.key.pem", &self.server.key_pem)?;
        let genesis = self.roster()?;
        let roster = toml::to_string(&genesis.to_file()).map_err(|e| Error::Config(e.to_string()))?;
        put(
            "roster.toml",
            &format!("# DEV ONLY roster written by `isthmus dev-certs`.\n\n{roster}"),
        )?;
        put("roster.approvals", &self.approvals_file(&genesis))?;
        for p in &self.principals {
            let id = p.member.id.as_str();
            put(&format!("{id}/client.pem"), &p.tls.cert_pem)?;
            secret(&format!("{id}/client.key.pem"), &p.tls.key_pem)?;
            if let Some(k) = &p.signing {
                secret(&format!("{id}/signing.key.pem"), &k.to_pkcs8_pem())?;
                put(&format!("{id}/signing.pub.pem"), &k.public_key().to_spki_pem())?;
            }
            if let Some(k) = &p.sealing {
                secret(&format!("{id}/sealing.key.pem"), &k.to_pkcs8_pem())?;
            }
        }
        Ok(())
    }
}

fn principal(ca: &DevCa, id: &str, name: &str, role: Role, days: i64) -> Result<DevPrincipal> {
    let tls = ca.issue_client(id, -1, days)?;
    let signing = (role == Role::Delegation).then(SigningKey::generate);
    let sealing = (role == Role::Delegation).then(SealingPrivateKey::generate);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let sealing_keys = sealing
        .iter()
        .map(|k| RosterSealingKey {
            key: k.public_key().clone(),
            not_before: now - 86_400,
            not_after: now + days * 86_400,
        })
        .collect();
    let keys = signing
        .iter()
        .map(|k| RosterKey {
            key: k.public_key(),
            not_before: now - 86_400,
            not_after: now + days * 86_400,
        })
        .collect();
    let member = Member {
        id: PrincipalId::parse(id).map_err(|e| Error::Config(e.to_string()))?,
        name: name.to_owned(),
        role,
        tls_spki: vec![tls.spki],
        keys,
        sealing: sealing_keys,
        witness: None,
    };
    Ok(DevPrincipal {
        member,
        tls,
        signing,
        sealing,
    })
}

const DEV_README: &str = "# certs-dev — DEVELOPMENT ONLY — NEVER USE IN PRODUCTION

Everything in this folder is **insecure test material**: private keys are
stored unencrypted, in a public repository, for anyone to read. It exists so
that `cargo run --release --bin isthmusd -- --dev` works on a fresh clone
(the hub refuses this material without `--dev`).

A real federation generates its CA offline, issues each delegation's client
certificate from it, has each delegation generate its own Ed25519 signing key
(`isthmus keygen`) and send only the public key for the roster.

Layout:

| file | what |
|---|---|
| `ca.pem` | federation CA certificate (its key was discarded) |
| `server.pem`, `server.key.pem` | hub certificate for localhost, 127.0.0.1, ::1 |
| `log.key`, `log.pub` | the log's checkpoint signing key (C2SP note key; the name is the log's origin) and its verifier key for auditors |
| `roster.toml` | every principal, its client-certificate SPKI SHA-256 and signing keys; version 1, quorum 11 |
| `roster.approvals` | every delegation's approval of `roster.toml` (what `isthmus roster-approve` prints) |
| `CC/client.pem`, `CC/client.key.pem` | delegation CC's TLS client identity |
| `CC/signing.key.pem`, `CC/signing.pub.pem` | delegation CC's Ed25519 alert-signing key (PKCS#8 / SPKI PEM) |
| `CC/sealing.key.pem` | delegation CC's X25519 key that sealed alerts are encrypted to (PKCS#8 PEM; its public key is in `roster.toml`; docs/sealing.md) |
| `AUDITOR/client.pem`, `AUDITOR/client.key.pem` | the auditor's TLS identity (no signing key) |

Regenerate the whole folder (new CA, new keys; the old ones become useless):

    cargo run --release --bin isthmus -- dev-certs --out certs-dev --force

A new folder is a new federation: delete `isthmus-data/` too. The hub
refuses to append a roster that a quorum of the delegations in force did
not approve, and a regenerated genesis roster is nobody's approved change.
";
