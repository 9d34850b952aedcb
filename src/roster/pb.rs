//! The roster's protobuf form, what the ledger stores: and the one place a
//! roster is parsed and checked (the TOML form converts to this one first,
//! [`super::file`]).

use super::{bad, Member, Role, Roster, RosterError, RosterKey, RosterSealingKey, RosterWitness, SpkiHash, Terms};
use crate::crypto::PublicKey;
use crate::ids::PrincipalId;
use crate::pb;
use crate::seal::SealingPublicKey;
use crate::time::unix_to_pb;
use crate::witness::CosignatureVerifier;

impl Roster {
    /// The ledger form, ordered by principal id so equal rosters encode equally.
    pub fn to_pb(&self) -> pb::Roster {
        pb::Roster {
            principals: self.members().map(member_to_pb).collect(),
            version: self.terms.version,
            quorum: self.terms.quorum,
            issued: Some(unix_to_pb(self.terms.issued)),
            witness_quorum: self.terms.witness_quorum,
        }
    }

    /// Parses and checks the ledger form.
    pub fn from_pb(p: &pb::Roster) -> Result<Self, RosterError> {
        let terms = Terms {
            version: p.version,
            quorum: p.quorum,
            issued: p
                .issued
                .as_ref()
                .map(|t| t.seconds)
                .ok_or_else(|| RosterError::Invalid("issued is missing".into()))?,
            witness_quorum: p.witness_quorum,
        };
        Roster::new(
            p.principals.iter().map(member_from_pb).collect::<Result<_, _>>()?,
            terms,
        )
    }
}

fn member_to_pb(m: &Member) -> pb::Principal {
    pb::Principal {
        id: m.id.to_string(),
        name: m.name.clone(),
        role: match m.role {
            Role::Delegation => pb::Role::Delegation,
            Role::Auditor => pb::Role::Auditor,
        } as i32,
        tls_spki_sha256: m.tls_spki.iter().map(|s| s.to_vec()).collect(),
        signing_keys: m
            .keys
            .iter()
            .map(|k| pb::SigningKey {
                public_key: k.key.as_bytes().to_vec(),
                not_before: Some(unix_to_pb(k.not_before)),
                not_after: Some(unix_to_pb(k.not_after)),
            })
            .collect(),
        sealing_keys: m
            .sealing
            .iter()
            .map(|k| pb::SealingKey {
                public_key: k.key.as_bytes().to_vec(),
                not_before: Some(unix_to_pb(k.not_before)),
                not_after: Some(unix_to_pb(k.not_after)),
            })
            .collect(),
        witness_key: m.witness.as_ref().map(|w| w.key.to_string()).unwrap_or_default(),
        witness_url: m.witness.as_ref().and_then(|w| w.url.clone()).unwrap_or_default(),
    }
}

pub(super) fn member_from_pb(p: &pb::Principal) -> Result<Member, RosterError> {
    let id = PrincipalId::parse(&p.id)?;
    let role = match pb::Role::try_from(p.role) {
        Ok(pb::Role::Delegation) => Role::Delegation,
        Ok(pb::Role::Auditor) => Role::Auditor,
        _ => return Err(bad(&p.id, "role must be DELEGATION or AUDITOR")),
    };
    let tls_spki = p
        .tls_spki_sha256
        .iter()
        .map(|s| <SpkiHash>::try_from(s.as_slice()).map_err(|_| bad(&p.id, "SPKI hash is not 32 bytes")))
        .collect::<Result<_, _>>()?;
    let keys = p
        .signing_keys
        .iter()
        .map(|k| key_from_pb(&p.id, k))
        .collect::<Result<_, _>>()?;
    let sealing = p
        .sealing_keys
        .iter()
        .map(|k| sealing_key_from_pb(&p.id, k))
        .collect::<Result<_, _>>()?;
    let witness = match (p.witness_key.as_str(), p.witness_url.as_str()) {
        ("", "") => None,
        ("", _) => return Err(bad(&p.id, "witness_url without a witness_key")),
        (key, url) => Some(RosterWitness {
            key: CosignatureVerifier::from_key(key)
                .map_err(|e| bad(&p.id, format!("witness_key is not a cosignature/v1 verifier key: {e}")))?,
            url: (!url.is_empty()).then(|| url.to_owned()),
        }),
    };
    Ok(Member {
        id,
        name: p.name.clone(),
        role,
        tls_spki,
        keys,
        sealing,
        witness,
    })
}

fn window(
    id: &str,
    what: &str,
    nb: &Option<prost_types::Timestamp>,
    na: &Option<prost_types::Timestamp>,
) -> Result<(i64, i64), RosterError> {
    let when = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map(|t| t.seconds)
            .ok_or_else(|| bad(id, format!("{what} lacks a validity bound")))
    };
    Ok((when(nb)?, when(na)?))
}

fn sealing_key_from_pb(id: &str, k: &pb::SealingKey) -> Result<RosterSealingKey, RosterError> {
    let key = SealingPublicKey::from_bytes(&k.public_key).map_err(|e| bad(id, format!("sealing key: {e}")))?;
    let (not_before, not_after) = window(id, "sealing key", &k.not_before, &k.not_after)?;
    Ok(RosterSealingKey {
        key,
        not_before,
        not_after,
    })
}

fn key_from_pb(id: &str, k: &pb::SigningKey) -> Result<RosterKey, RosterError> {
    let key = PublicKey::from_bytes(&k.public_key).map_err(|e| bad(id, e.to_string()))?;
    let (not_before, not_after) = window(id, "signing key", &k.not_before, &k.not_after)?;
    Ok(RosterKey {
        key,
        not_before,
        not_after,
    })
}
