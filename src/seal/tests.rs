#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::make::{header_for, sign_sealed, wrap};
use super::*;
use crate::fuzzing::fixture::{alert, fixture, NOW};
use crate::hash::sha256;
use crate::pb;
use hpke::{Deserializable, Serializable};
use prost::Message;

/// An RNG that hands out fixed bytes: HPKE's ephemeral key then comes from
/// the vector's `ikmE` (hpke derives it from the RNG's first 32 bytes).
struct Replay(Vec<u8>);

impl rand_core_09::RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        unimplemented!()
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let n = dst.len();
        dst.copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
    }
}
impl rand_core_09::CryptoRng for Replay {}

fn hx(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn rfc9180_a2_base_known_answers() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/hpke/rfc9180-a2-base.json"
    ))
    .unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    let c = &cases[0];
    assert_eq!((c["mode"].as_u64(), c["kem_id"].as_u64()), (Some(0), Some(32)));
    assert_eq!((c["kdf_id"].as_u64(), c["aead_id"].as_u64()), (Some(1), Some(3)));
    let recipient = SealingPrivateKey::derive(&hx(&c["ikmR"]));
    assert_eq!(recipient.public_key().as_bytes().to_vec(), hx(&c["pkRm"]));
    assert_eq!(recipient.hpke().to_bytes().to_vec(), hx(&c["skRm"]));
    let info = hx(&c["info"]);
    let (enc, mut sender) = hpke::setup_sender::<HpkeAead, HpkeKdf, HpkeKem, _>(
        &hpke::OpModeS::Base,
        recipient.public_key().hpke(),
        &info,
        &mut Replay(hx(&c["ikmE"])),
    )
    .unwrap();
    assert_eq!(enc.to_bytes().to_vec(), hx(&c["enc"]));
    let enc = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(&hx(&c["enc"])).unwrap();
    let mut receiver =
        hpke::setup_receiver::<HpkeAead, HpkeKdf, HpkeKem>(&hpke::OpModeR::Base, recipient.hpke(), &enc, &info)
            .unwrap();
    let encryptions = c["encryptions"].as_array().unwrap();
    assert_eq!(encryptions.len(), 3);
    for e in encryptions {
        let (aad, pt, ct) = (hx(&e["aad"]), hx(&e["pt"]), hx(&e["ct"]));
        assert_eq!(sender.seal(&pt, &aad).unwrap(), ct, "sealing {}", e["aad"]);
        assert_eq!(receiver.open(&ct, &aad).unwrap(), pt);
    }
    // Single shot (what stanzas use) is the first encryption.
    let first = &encryptions[0];
    let pt = hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
        &hpke::OpModeR::Base,
        recipient.hpke(),
        &enc,
        &info,
        &hx(&first["ct"]),
        &hx(&first["aad"]),
    )
    .unwrap();
    assert_eq!(pt, hx(&first["pt"]));
}

#[test]
fn padme_buckets() {
    assert_eq!(padded_len(0), 1024);
    assert_eq!(padded_len(1024), 1024);
    assert_eq!(padded_len(1025), 1088);
    assert_eq!(padded_len(9000), 9216);
    let mut prev = 0;
    for len in 1..70_000 {
        let p = padded_len(len);
        assert!(p >= len && p >= prev, "{len} -> {p}");
        assert_eq!(padded_len(p), p, "a padded length is its own bucket");
        assert!(len < 1024 || p * 100 <= len * 112, "{len} -> {p}: over 12 %");
        prev = p;
    }
}

fn red(id: &str) -> pb::Alert {
    let mut a = alert(id, "CO", &["PA", "US"]);
    a.tlp = pb::Tlp::Red as i32;
    a.identifiers = vec![pb::Identifier {
        kind: pb::IdentifierKind::Phone as i32,
        value: "+57 300 555 0101".into(),
        ..Default::default()
    }];
    a
}

#[test]
fn every_reader_opens_and_no_one_else_does() {
    let f = fixture();
    let a = red("s-1");
    let env = f.sealed(&a);
    assert!(!String::from_utf8_lossy(&env.payload).contains("Necoc"));
    for who in ["CO", "PA", "US"] {
        let opened = open(&env.payload, who, &[f.sealing_key(who).clone()]).unwrap();
        let valid = opened.check(&f.roster, NOW).unwrap();
        assert_eq!(valid.alert, a);
        assert_eq!(
            disclosure_commitment(&opened.opener, &opened.inner_bytes).to_vec(),
            opened.header.disclosure_commitment
        );
    }
    let br = open(&env.payload, "BR", &[f.sealing_key("BR").clone()]).unwrap_err();
    assert!(matches!(br, OpenError::NoKey { .. }), "{br}");
    // PA's stanza does not open with BR's key, even if BR claims to be PA.
    let e = open(&env.payload, "PA", &[f.sealing_key("BR").clone()]).unwrap_err();
    assert!(matches!(e, OpenError::NoKey { .. }), "{e}");
    let parsed = ValidSealed::parse(&env.payload, NOW).unwrap();
    parsed.check_keys(&f.roster, NOW).unwrap();
}

/// A sealed object built by hand: each reader's stanza wraps `keys[reader]`,
/// the commitment and ciphertext come from `committed`.
fn crafted(a: &pb::Alert, keys: &[(&str, [u8; 32])], committed: [u8; 32]) -> pb::Envelope {
    let f = fixture();
    let inner = crate::envelope::sign(a, f.key("CO")).encode_to_vec();
    let opener = [7u8; 32];
    let header = header_for(a, &inner, &opener).encode_to_vec();
    let h = sha256(&header);
    let content = pb::SealedContent {
        envelope: inner,
        opener: opener.to_vec(),
    }
    .encode_to_vec();
    let (key_commitment, ciphertext) = encrypt_content(&committed, &h, &content);
    let stanzas = keys
        .iter()
        .map(|(id, k)| {
            wrap(
                k,
                &h,
                Reader {
                    id,
                    key: f.sealing_key(id).public_key(),
                },
            )
        })
        .collect();
    let sealed = pb::SealedAlert {
        header,
        stanzas,
        key_commitment: key_commitment.to_vec(),
        ciphertext,
    };
    sign_sealed(&sealed, f.key("CO"))
}

#[test]
fn a_reader_given_another_content_key_refuses() {
    let f = fixture();
    let a = red("s-2");
    let (k0, k1, k2) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    // Everyone was given a key other than the committed one: all refuse.
    let env = crafted(&a, &[("CO", k1), ("PA", k1), ("US", k2)], k0);
    ValidSealed::parse(&env.payload, NOW).expect("the hub cannot tell");
    for who in ["CO", "PA", "US"] {
        let e = open(&env.payload, who, &[f.sealing_key(who).clone()]).unwrap_err();
        assert_eq!(e, OpenError::KeyCommitment(who.into()));
    }
    // PA got the committed key, US another: PA reads it, US refuses.
    let env = crafted(&a, &[("CO", k1), ("PA", k1), ("US", k2)], k1);
    open(&env.payload, "PA", &[f.sealing_key("PA").clone()]).unwrap();
    let e = open(&env.payload, "US", &[f.sealing_key("US").clone()]).unwrap_err();
    assert_eq!(e, OpenError::KeyCommitment("US".into()));
}

fn reseal(env: &pb::Envelope, change: impl FnOnce(&mut pb::SealedAlert)) -> pb::Envelope {
    let mut s = pb::SealedAlert::decode(env.payload.as_slice()).unwrap();
    change(&mut s);
    sign_sealed(&s, fixture().key("CO"))
}

fn reheader(env: &pb::Envelope, change: impl FnOnce(&mut pb::SealedHeader)) -> pb::Envelope {
    reseal(env, |s| {
        let mut h = pb::SealedHeader::decode(s.header.as_slice()).unwrap();
        change(&mut h);
        s.header = h.encode_to_vec();
    })
}

#[test]
fn altered_objects_do_not_open() {
    let f = fixture();
    let env = f.sealed(&red("s-3"));
    let pa = || vec![f.sealing_key("PA").clone()];
    let flipped = reseal(&env, |s| s.ciphertext[100] ^= 1);
    assert_eq!(open(&flipped.payload, "PA", &pa()).unwrap_err(), OpenError::Ciphertext);
    let stanza = reseal(&env, |s| s.stanzas.iter_mut().for_each(|st| st.wrapped_key[0] ^= 1));
    assert_eq!(
        open(&stanza.payload, "PA", &pa()).unwrap_err(),
        OpenError::Stanza("PA".into())
    );
    // Any header change changes h, which every stanza is bound to.
    let moved = reheader(&env, |h| h.id = "s-other".into());
    assert_eq!(
        open(&moved.payload, "PA", &pa()).unwrap_err(),
        OpenError::Stanza("PA".into())
    );
}

#[test]
fn an_inner_alert_that_disagrees_with_the_header_is_refused() {
    let f = fixture();
    let a = red("s-4");
    let mut routed = a.clone();
    routed.recipients = vec!["PA".into()];
    // Crafted: the header says PA only, the inner alert PA and US.
    let inner = crate::envelope::sign(&a, f.key("CO"));
    let readers = [
        Reader {
            id: "CO",
            key: f.sealing_key("CO").public_key(),
        },
        Reader {
            id: "PA",
            key: f.sealing_key("PA").public_key(),
        },
    ];
    let env = seal(&inner, &routed, &readers, f.key("CO"));
    let opened = open(&env.payload, "PA", &[f.sealing_key("PA").clone()]).unwrap();
    assert_eq!(
        opened.check(&f.roster, NOW).unwrap_err(),
        OpenError::Mismatch("recipients")
    );
}

#[test]
fn the_hub_refuses_malformed_sealed_objects() {
    let f = fixture();
    let env = f.sealed(&red("s-5"));
    let parse = |e: &pb::Envelope| ValidSealed::parse(&e.payload, NOW).and_then(|v| v.check_keys(&f.roster, NOW));
    parse(&env).unwrap();
    type Case = (pb::Envelope, fn(&SealError) -> bool);
    let cases: Vec<Case> = vec![
        (reseal(&env, |s| s.ciphertext.truncate(500)), |e| {
            matches!(e, SealError::Padding(500))
        }),
        (reseal(&env, |s| s.ciphertext.pop().map(drop).unwrap_or(())), |e| {
            matches!(e, SealError::Padding(_))
        }),
        (reseal(&env, |s| s.header = vec![0x0a; 5000]), |e| {
            matches!(e, SealError::HeaderTooLarge(5000))
        }),
        (
            reheader(&env, |h| {
                h.suite = Some(pb::Suite {
                    kem: 0x10,
                    kdf: 1,
                    aead: 1,
                })
            }),
            |e| matches!(e, SealError::Suite(_)),
        ),
        (reheader(&env, |h| h.recipients = vec!["ALL".into()]), |e| {
            matches!(e, SealError::Header(_))
        }),
        (
            reheader(&env, |h| {
                h.tlp = pb::Tlp::Amber as i32;
                h.recipients = vec!["ALL".into()];
            }),
            |e| *e == SealError::AllRecipients,
        ),
        (reheader(&env, |h| h.recipients = vec!["PA".into(), "PA".into()]), |e| {
            matches!(e, SealError::Header(_))
        }),
        (reheader(&env, |h| h.recipients = vec!["PA".into()]), |e| {
            *e == SealError::StrayStanza("US".into())
        }),
        (reheader(&env, |h| h.recipients.push("BR".into())), |e| {
            *e == SealError::MissingStanza("BR".into())
        }),
        (
            reseal(&env, |s| {
                let dup = s.stanzas[1].clone();
                s.stanzas.push(dup);
            }),
            |e| matches!(e, SealError::DuplicateStanza(_)),
        ),
        (reseal(&env, |s| s.key_commitment.pop().map(drop).unwrap_or(())), |e| {
            matches!(
                e,
                SealError::Length {
                    field: "key_commitment",
                    ..
                }
            )
        }),
        (
            reseal(&env, |s| {
                // PA's stanza sealed to US's key id.
                let us = s.stanzas.iter().find(|st| st.recipient == "US").unwrap().key_id.clone();
                s.stanzas.iter_mut().find(|st| st.recipient == "PA").unwrap().key_id = us;
            }),
            |e| matches!(e, SealError::NotReadersKey { .. }),
        ),
        (reseal(&env, |s| s.stanzas[0].enc.push(0)), |e| {
            matches!(e, SealError::Length { .. })
        }),
    ];
    for (i, (bad, want)) in cases.iter().enumerate() {
        let e = parse(bad).expect_err(&format!("case {i} accepted"));
        assert!(want(&e), "case {i}: {e}");
    }
}

#[test]
fn keys_round_trip_through_pkcs8_and_low_order_points_are_refused() {
    let k = SealingPrivateKey::generate();
    let back = SealingPrivateKey::from_pkcs8_pem(&k.to_pkcs8_pem()).unwrap();
    assert_eq!(back.public_key(), k.public_key());
    let ed = crate::crypto::SigningKey::generate().to_pkcs8_pem();
    assert!(SealingPrivateKey::from_pkcs8_pem(&ed)
        .unwrap_err()
        .to_string()
        .contains("1.3.101.110"));
    assert_eq!(
        SealingPublicKey::from_bytes(&[0u8; 32]).unwrap_err(),
        SealingKeyError::LowOrder
    );
    let mut one = [0u8; 32];
    one[0] = 1;
    assert_eq!(
        SealingPublicKey::from_bytes(&one).unwrap_err(),
        SealingKeyError::LowOrder
    );
    assert!(matches!(
        SealingPublicKey::from_bytes(&[1; 31]),
        Err(SealingKeyError::Length(31))
    ));
}

#[test]
fn padding_has_one_encoding() {
    let (k, h) = ([4u8; 32], [5u8; 32]);
    let (content_key, _) = derive(&k, &h);
    let (_, ct) = encrypt_content(&k, &h, b"short");
    assert_eq!(decrypt_content(&content_key, &h, &ct).unwrap(), b"short");
    // Over-padded to the next bucket, or with a non-zero fill: refused.
    let over = |fill: u8, n: usize| {
        let mut plain = 5u32.to_be_bytes().to_vec();
        plain.extend_from_slice(b"short");
        plain.resize(n, fill);
        let cipher = ChaCha20Poly1305::new(&content_key.into());
        cipher
            .encrypt(&[0u8; 12].into(), Payload { msg: &plain, aad: &h })
            .unwrap()
    };
    assert!(decrypt_content(&content_key, &h, &over(0, 1024)).is_some());
    assert!(decrypt_content(&content_key, &h, &over(0, 1088)).is_none());
    assert!(decrypt_content(&content_key, &h, &over(1, 1024)).is_none());
}

/// Reader `id`'s fixed test sealing key of tests/vectors/sealed/.
fn vector_sealing_key(id: &str) -> SealingPrivateKey {
    SealingPrivateKey::from_raw(&sha256(format!("isthmus test vector sealing key {id}").as_bytes())).unwrap()
}

fn vector_signing_key() -> crate::crypto::SigningKey {
    crate::crypto::SigningKey::from_seed(sha256(b"isthmus test vector signing key CO"))
}

/// A roster of CO (signing and sealing keys) and PA, US (sealing keys).
fn vector_roster() -> crate::roster::Roster {
    use crate::roster::{Member, Role, RosterKey, RosterSealingKey, Terms};
    let member = |id: &str, i: u8| Member {
        id: crate::ids::PrincipalId::parse(id).unwrap(),
        name: id.into(),
        role: Role::Delegation,
        tls_spki: vec![[i; 32]],
        keys: match id {
            "CO" => vec![RosterKey {
                key: vector_signing_key().public_key(),
                not_before: 0,
                not_after: 4_000_000_000,
            }],
            _ => vec![],
        },
        sealing: vec![RosterSealingKey {
            key: vector_sealing_key(id).public_key().clone(),
            not_before: 0,
            not_after: 4_000_000_000,
        }],
        witness: None,
    };
    let terms = Terms {
        version: 1,
        quorum: 1,
        issued: 0,
        witness_quorum: 0,
    };
    crate::roster::Roster::new(vec![member("CO", 1), member("PA", 2), member("US", 3)], terms).unwrap()
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sealed/");

/// Every reader opens the vector, gets its inner envelope and opener, and
/// the inner alert checks; the hub's checks accept the outer object.
fn opens_everywhere(file: &str) -> pb::Alert {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}{file}")).unwrap()).unwrap();
    assert_eq!(
        hx(&v["publisher_signing_public_key_hex"]),
        vector_signing_key().public_key().as_bytes().to_vec()
    );
    let outer = pb::Envelope::decode(b64(&v["outer_envelope_b64"]).as_slice()).unwrap();
    assert_eq!(outer.payload_type, pb::SEALED_PAYLOAD_TYPE);
    let roster = vector_roster();
    let (co, _) = roster.key(&outer.signatures[0].keyid).unwrap();
    assert_eq!(co.id.as_str(), "CO");
    let sig = crate::crypto::Signature::from_slice(&outer.signatures[0].sig).unwrap();
    crate::envelope::verify(&outer, &sig, &co.keys[0].key, crate::crypto::Rule::Strict).unwrap();
    let created = pb::SealedHeader::decode(
        pb::SealedAlert::decode(outer.payload.as_slice())
            .unwrap()
            .header
            .as_slice(),
    )
    .unwrap()
    .created
    .unwrap()
    .seconds;
    let at = created + 60;
    let sealed = ValidSealed::parse(&outer.payload, at).unwrap();
    sealed.check_keys(&roster, at).unwrap();
    let mut alert = None;
    for r in v["readers"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let key = SealingPrivateKey::from_raw(&hx(&r["private_key_hex"]).try_into().unwrap()).unwrap();
        assert_eq!(key.key_id(), r["key_id"].as_str().unwrap());
        let opened = open(&outer.payload, id, &[key]).unwrap();
        assert_eq!(opened.inner_bytes, b64(&v["inner_envelope_b64"]), "{file}: reader {id}");
        assert_eq!(opened.opener.to_vec(), hx(&v["opener_hex"]));
        alert = Some(opened.check(&roster, at).unwrap().alert);
    }
    alert.unwrap()
}

#[test]
fn a_sealed_alert_made_by_the_python_client_opens() {
    let a = opens_everywhere("python-made.json");
    assert_eq!((a.id.as_str(), a.tlp), ("py-sealed-1", pb::Tlp::Red as i32));
}

/// `tests/vectors/sealed/isthmus-made.json`, for the Python client to
/// open. Written when ISTHMUS_WRITE_VECTORS=1 (then committed once); each
/// run checks that the committed file still opens here.
#[test]
fn the_isthmus_made_vector_opens() {
    if std::env::var_os("ISTHMUS_WRITE_VECTORS").is_some() {
        write_isthmus_vector();
    }
    let a = opens_everywhere("isthmus-made.json");
    assert_eq!(a.id, "rs-sealed-1");
}

fn write_isthmus_vector() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut a = alert("rs-sealed-1", "CO", &["PA", "US"]);
    a.created = Some(crate::time::unix_to_pb(1_795_000_000));
    a.tlp = pb::Tlp::Red as i32;
    a.handling = vec![pb::HandlingRestriction::HandlingNoOnwardSharing as i32];
    a.identifiers = vec![pb::Identifier {
        kind: pb::IdentifierKind::Passport as i32,
        value: "AB1234567".into(),
        country: "VE".into(),
        ..Default::default()
    }];
    let signer = vector_signing_key();
    let inner = crate::envelope::sign(&a, &signer);
    let keys: Vec<(&str, SealingPrivateKey)> = ["CO", "PA", "US"].map(|id| (id, vector_sealing_key(id))).into();
    let readers: Vec<Reader<'_>> = keys
        .iter()
        .map(|(id, k)| Reader {
            id,
            key: k.public_key(),
        })
        .collect();
    let outer = seal(&inner, &a, &readers, &signer);
    let opened = open(&outer.payload, "PA", &[keys[1].1.clone()]).unwrap();
    let v = serde_json::json!({
        "description": format!(
            "A sealed TLP:RED alert (docs/sealing.md) made by the Rust implementation (isthmus {}, crates hpke 0.13, chacha20poly1305 0.10, hkdf 0.12) in src/seal/tests.rs with ISTHMUS_WRITE_VECTORS=1. Fixed public test keys as in README.md; K, the opener and the HPKE ephemeral keys were random. Readers are the recipients PA and US and the publisher CO.",
            env!("CARGO_PKG_VERSION")
        ),
        "publisher": "CO",
        "publisher_signing_public_key_hex": hex::encode(signer.public_key().as_bytes()),
        "readers": keys.iter().map(|(id, k)| serde_json::json!({
            "id": id,
            "private_key_hex": hex::encode(k.hpke().to_bytes()),
            "public_key_hex": hex::encode(k.public_key().as_bytes()),
            "key_id": k.key_id(),
        })).collect::<Vec<_>>(),
        "outer_envelope_b64": b64(&outer.encode_to_vec()),
        "inner_envelope_b64": b64(&opened.inner_bytes),
        "opener_hex": hex::encode(opened.opener),
        "alert": {"id": a.id, "publisher": "CO", "tlp": "RED", "recipients": ["PA", "US"], "title": a.title},
    });
    std::fs::write(
        format!("{VECTORS}isthmus-made.json"),
        serde_json::to_string_pretty(&v).unwrap() + "\n",
    )
    .unwrap();
}
