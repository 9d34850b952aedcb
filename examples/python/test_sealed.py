"""Sealed alerts (isthmus_client/sealed.py, docs/sealing.md): the pieces
against published answers (RFC 9180, RFC 5869 through another API), Python
seal -> Python open for every reader, the vectors in tests/vectors/sealed/
(python-made.json by make_sealed_vector.py, isthmus-made.json by the Rust
implementation), and hostile objects that every reader must refuse, each at
the check of docs/sealing.md it breaks. No hub needed:

    cd examples/python && python -m unittest -v test_sealed
"""

import base64
import hashlib
import json
import os
import pathlib
import tempfile
import unittest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from google.protobuf.timestamp_pb2 import Timestamp
from pyhpke import KEMKey, KEMKeyPair

from isthmus_client import dsse, protos, sealed
from make_sealed_vector import PUBLISHER, READERS, fixed_sealing_key, fixed_signing_key, vector_alert

REPO = pathlib.Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors" / "sealed"


def flip(b: bytes, i=0) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


class SealedTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._generated = tempfile.TemporaryDirectory()
        protos.generate(cls._generated.name)
        cls.pb = protos.load(cls._generated.name)
        # Fresh keys for the objects made here; the vectors carry their own.
        cls.keys = {cc: X25519PrivateKey.generate() for cc in READERS}
        cls.signing_key = Ed25519PrivateKey.generate()
        cls.signing_public = dsse.raw_public_key(cls.signing_key.public_key())

    @classmethod
    def tearDownClass(cls):
        cls._generated.cleanup()

    # -- Helpers. --------------------------------------------------------

    def alert(self, **changes):
        a = vector_alert(self.pb.alert)
        for name, value in changes.items():
            if name in ("amends", "created"):
                getattr(a, name).CopyFrom(value)
            elif isinstance(value, list):
                del getattr(a, name)[:]
                getattr(a, name).extend(value)
            else:
                setattr(a, name, value)
        return a

    def inner(self, alert=None, key=None):
        alert = alert or self.alert()
        return dsse.seal(self.pb.ledger, alert.SerializeToString(), key or self.signing_key).SerializeToString()

    def readers(self, keys=None):
        keys = keys or self.keys
        return [(cc, sealed.raw_x25519_public(keys[cc])) for cc in READERS]

    def assemble(self, inner, alert=None, wrapped=None, content_k=None, commitment_k=None, plaintext=None,
                 opener=None, content=None, suite=None, stanzas=None):
        """A SealedAlert payload built step by step as docs/sealing.md says,
        with knobs to break one step: `wrapped` maps a reader to the K its
        stanza wraps (default: the one K), content_k / commitment_k the K the
        content key / the key commitment come from, `plaintext` replaces the
        padded plaintext, `content` the encoded SealedContent, `stanzas` the
        stanza list (a function of h)."""
        pb = self.pb
        alert = alert or pb.alert.Alert.FromString(pb.ledger.Envelope.FromString(inner).payload)
        opener = opener or os.urandom(32)
        k = os.urandom(32)
        header = sealed.header_from_alert(pb, alert)
        header.suite.CopyFrom(suite or pb.sealed.Suite(kem=32, kdf=1, aead=3))
        header.disclosure_commitment = sealed.disclosure_commitment(opener, inner)
        header_bytes = header.SerializeToString()
        h = sealed.header_hash(header_bytes)
        content_key, _ = sealed.derive_keys(content_k or k, h)
        _, key_commitment = sealed.derive_keys(commitment_k or k, h)
        if content is None:
            content = pb.sealed.SealedContent(envelope=inner, opener=opener).SerializeToString()
        padded = sealed.pad(content) if plaintext is None else plaintext(content)
        wrapped = wrapped or {}
        if stanzas is None:
            stanza_list = [sealed.wrap_key(pb, wrapped.get(cc, k), cc, pub, h) for cc, pub in self.readers()]
        else:
            stanza_list = stanzas(h)
        return pb.sealed.SealedAlert(
            header=header_bytes,
            stanzas=stanza_list,
            key_commitment=key_commitment,
            ciphertext=sealed.encrypt_content(content_key, padded, h),
        ).SerializeToString()

    def open_as(self, payload, cc, keys=None):
        keys = keys or self.keys
        return sealed.open_sealed(self.pb, payload, cc, [keys[cc]])

    def refused(self, check, payload, cc, keys=None):
        with self.assertRaises(sealed.SealedError) as e:
            self.open_as(payload, cc, keys)
        self.assertEqual(e.exception.check, check, str(e.exception))
        return str(e.exception)

    def check_vector(self, v):
        """Every reader of vector `v` opens it and gets the recorded inner
        envelope and opener; the outer and inner signatures verify under the
        publisher's key; the inner alert agrees with the header."""
        pb = self.pb
        outer = pb.ledger.Envelope.FromString(base64.b64decode(v["outer_envelope_b64"]))
        signing_public = bytes.fromhex(v["publisher_signing_public_key_hex"])
        self.assertEqual(outer.payload_type, sealed.SEALED_PAYLOAD_TYPE)
        self.assertEqual(len(outer.signatures), 1)
        dsse.verify_signature(outer, outer.signatures[0], signing_public)
        sealed_alert, header = sealed.parse(pb, outer.payload)
        self.assertEqual(header.publisher, v["publisher"])
        readers = {r["id"]: r for r in v["readers"]}
        self.assertEqual(set(readers), set(header.recipients) | {header.publisher})
        self.assertEqual(sorted(s.recipient for s in sealed_alert.stanzas), sorted(readers))
        for cc, r in readers.items():
            with self.subTest(reader=cc):
                sk = X25519PrivateKey.from_private_bytes(bytes.fromhex(r["private_key_hex"]))
                public = sealed.raw_x25519_public(sk)
                self.assertEqual(public.hex(), r["public_key_hex"])
                self.assertEqual(sealed.sealing_key_id(public), r["key_id"])
                self.assertEqual(r["key_id"], hashlib.sha256(public).hexdigest())
                inner, opener = sealed.open_sealed(pb, outer.payload, cc, [sk])
                if "inner_envelope_b64" in v:
                    self.assertEqual(inner, base64.b64decode(v["inner_envelope_b64"]))
                if "opener_hex" in v:
                    self.assertEqual(opener.hex(), v["opener_hex"])
                self.assertEqual(sealed.disclosure_commitment(opener, inner), header.disclosure_commitment)
                self.assertEqual(sealed.inner_keyid(pb, inner), dsse.key_id(signing_public))
                alert = sealed.verify_inner(pb, inner, signing_public, publisher=v["publisher"])
                sealed.check_inner_matches_header(alert, header)
                if "alert" in v:
                    self.assertEqual((alert.id, alert.title), (v["alert"]["id"], v["alert"]["title"]))
                # Another reader's key does not open this reader's stanza.
                other = X25519PrivateKey.generate()
                self.assertRaises(sealed.SealedError, sealed.open_sealed, pb, outer.payload, cc, [other])


class Pieces(SealedTestCase):
    def test_padme(self):
        # By hand from the definition: E = floor(log2 L), S = floor(log2 E) + 1,
        # the low E - S bits rounded up.
        for length, want in [(1, 1), (4, 4), (9, 10), (33, 36), (100, 104), (1000, 1024), (1024, 1024),
                             (1025, 1088), (5000, 5120), (63_489, 65_536), (64_000, 65_536)]:
            self.assertEqual(sealed.padme(length), want, length)
        for length in list(range(1, 5000)) + [60_000 + i for i in range(0, 5000, 7)]:
            p = sealed.padme(length)
            self.assertGreaterEqual(p, length)
            self.assertEqual(sealed.padme(p), p, "a padded length is its own bucket")
            self.assertLessEqual(p - length, length * 0.12, "at most 12 % overhead")
        self.assertEqual(sealed.padded_length(0), 1024)
        self.assertEqual(sealed.padded_length(1020), 1024)
        self.assertEqual(sealed.padded_length(1021), 1088)
        self.assertTrue(sealed.is_padded_length(1024) and sealed.is_padded_length(1088))
        self.assertFalse(sealed.is_padded_length(512) or sealed.is_padded_length(1030))

    def test_pad_unpad(self):
        for n in (0, 1, 1020, 1021, 3000):
            content = os.urandom(n)
            padded = sealed.pad(content)
            self.assertEqual(len(padded), sealed.padded_length(n))
            self.assertEqual(padded[:4], n.to_bytes(4, "big"))
            self.assertEqual(sealed.unpad(padded), content)

    def test_key_derivation_is_rfc5869_hkdf(self):
        # Extract then two Expands, as written here, equals cryptography's
        # one-call HKDF(salt = h, info = label) of K.
        k, h = os.urandom(32), hashlib.sha256(b"a header").digest()
        content_key, key_commitment = sealed.derive_keys(k, h)
        for label, got in [(b"isthmus sealed-alert v1 content key", content_key),
                           (b"isthmus sealed-alert v1 key commitment", key_commitment)]:
            self.assertEqual(HKDF(algorithm=hashes.SHA256(), length=32, salt=h, info=label).derive(k), got)
        self.assertNotEqual(content_key, key_commitment)

    def test_hpke_rfc9180_a21_known_answer(self):
        # RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
        # ChaCha20Poly1305, base mode, the first encryption (sequence number 0).
        sk_e = X25519PrivateKey.from_private_bytes(
            bytes.fromhex("f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600"))
        pk_r = bytes.fromhex("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a")
        sk_r = X25519PrivateKey.from_private_bytes(
            bytes.fromhex("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb"))
        info = bytes.fromhex("4f6465206f6e2061204772656369616e2055726e")  # "Ode on a Grecian Urn"
        pt = bytes.fromhex("4265617574792069732074727574682c20747275746820626561757479")
        aad = bytes.fromhex("436f756e742d30")  # "Count-0"
        ephemeral = KEMKeyPair(KEMKey.from_pyca_cryptography_key(sk_e),
                               KEMKey.from_pyca_cryptography_key(sk_e.public_key()))
        enc, ct = sealed.hpke_seal_base(pk_r, info, aad, pt, ephemeral=ephemeral)
        self.assertEqual(enc.hex(), "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a")
        self.assertEqual(ct.hex(), "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db"
                                   "21993c62ce81883d2dd1b51a28")
        self.assertEqual(sealed.raw_x25519_public(sk_r), pk_r)
        self.assertEqual(sealed.hpke_open_base(enc, sk_r, info, aad, ct), pt)

    def test_labels_and_commitment(self):
        opener, inner = os.urandom(32), b"inner envelope bytes"
        self.assertEqual(sealed.disclosure_commitment(opener, inner),
                         hashlib.sha256(b"isthmus sealed-alert v1 disclosure\x00" + opener + inner).digest())
        h = bytes(range(32))
        self.assertEqual(sealed.hpke_info(h), b"isthmus sealed-alert v1\x00" + h)
        self.assertEqual(sealed.stanza_aad("PA", "ab" * 32), b"PA\x00" + b"ab" * 32)
        self.assertEqual(sealed.sealing_key_id(b"\x09" * 32), hashlib.sha256(b"\x09" * 32).hexdigest())

    def test_fixed_test_keys(self):
        for cc in READERS:
            want = hashlib.sha256(f"isthmus test vector sealing key {cc}".encode()).digest()
            self.assertEqual(fixed_sealing_key(cc).private_bytes_raw(), want)
        seed = hashlib.sha256(b"isthmus test vector signing key CO").digest()
        self.assertEqual(fixed_signing_key().private_bytes_raw(), seed)

    def test_roster_sealing_key(self):
        pb = self.pb.ledger
        old, new = os.urandom(32), os.urandom(32)
        roster = pb.Roster(principals=[pb.Principal(id="PA", sealing_keys=[
            pb.SealingKey(public_key=old, not_before={"seconds": 100}, not_after={"seconds": 300}),
            pb.SealingKey(public_key=new, not_before={"seconds": 200}, not_after={"seconds": 400}),
        ])])
        self.assertEqual(sealed.roster_sealing_key(roster, "PA", 150), old)
        self.assertEqual(sealed.roster_sealing_key(roster, "PA", 250), new, "the newer of two valid keys")
        self.assertEqual(sealed.roster_sealing_key(roster, "PA", 399), new)
        self.assertRaises(LookupError, sealed.roster_sealing_key, roster, "PA", 400)
        self.assertRaises(LookupError, sealed.roster_sealing_key, roster, "US", 250)


class RoundTrip(SealedTestCase):
    def test_python_seal_python_open_every_reader(self):
        pb = self.pb
        alert = self.alert()
        inner = self.inner(alert)
        outer = sealed.seal(pb, inner, sealed.header_from_alert(pb, alert), self.readers(), self.signing_key,
                            signing_key_id=dsse.key_id(self.signing_public))
        self.assertEqual(outer.payload_type, "application/vnd.isthmus.sealed-alert.v1+protobuf")
        dsse.verify_signature(outer, outer.signatures[0], self.signing_public)
        s, header = sealed.parse(pb, outer.payload)
        self.assertEqual((header.suite.kem, header.suite.kdf, header.suite.aead), (0x20, 0x01, 0x03))
        self.assertEqual([x.recipient for x in s.stanzas], list(READERS))
        for x in s.stanzas:
            self.assertEqual(x.key_id, hashlib.sha256(sealed.raw_x25519_public(self.keys[x.recipient])).hexdigest())
            self.assertEqual((len(x.enc), len(x.wrapped_key)), (32, 48))
        self.assertEqual(len(s.ciphertext), 1024 + 16, "a small alert pads to 1,024 bytes")
        self.assertNotIn(alert.title.encode(), outer.SerializeToString())
        openers = set()
        for cc in READERS:
            with self.subTest(reader=cc):
                got, opener = self.open_as(outer.payload, cc)
                self.assertEqual(got, inner)
                openers.add(opener)
                back = sealed.verify_inner(pb, got, self.signing_public, publisher=PUBLISHER)
                self.assertEqual(back, alert)
                sealed.check_inner_matches_header(back, header)
        self.assertEqual(len(openers), 1)
        # Past a key rotation a reader holds several keys: the stanza's key
        # id picks the right one.
        got, _ = sealed.open_sealed(pb, outer.payload, "PA", [X25519PrivateKey.generate(), self.keys["PA"]])
        self.assertEqual(got, inner)

    def test_large_alert_and_amendment(self):
        pb = self.pb
        amends = pb.alert.Amendment(id="py-sealed-0", kind=pb.alert.AMENDMENT_KIND_CORRECTION,
                                    reason="texto", widens_distribution=True)
        alert = self.alert(summary="x" * 9000, amends=amends)
        inner = self.inner(alert)
        header = sealed.header_from_alert(pb, alert)
        self.assertEqual((header.amends.id, header.amends.kind, header.amends.widens_distribution),
                         ("py-sealed-0", pb.alert.AMENDMENT_KIND_CORRECTION, True))
        outer = sealed.seal(pb, inner, header, self.readers(), self.signing_key)
        s, header = sealed.parse(pb, outer.payload)
        content = pb.sealed.SealedContent(envelope=inner, opener=bytes(32)).SerializeToString()
        self.assertEqual(len(s.ciphertext), sealed.padded_length(len(content)) + 16)
        got, _ = self.open_as(outer.payload, "US")
        sealed.check_inner_matches_header(sealed.verify_inner(pb, got, self.signing_public), header)

    def test_seal_refuses_the_wrong_readers(self):
        pb = self.pb
        alert = self.alert()
        header = sealed.header_from_alert(pb, alert)
        readers = self.readers()
        for bad in (readers[1:], readers + readers[:1], readers[:2] + [("BR", readers[2][1])]):
            self.assertRaises(ValueError, sealed.seal, pb, self.inner(alert), header, bad, self.signing_key)
        header_all = sealed.header_from_alert(pb, self.alert(recipients=["ALL"]))
        self.assertRaises(ValueError, sealed.seal, pb, self.inner(alert), header_all, readers, self.signing_key)
        self.assertRaises(ValueError, sealed.seal, pb, self.inner(alert), header, readers, self.signing_key,
                          signing_key_id="00" * 32)
        # Too large once padded: the hub would refuse it.
        big = self.alert(summary="x" * 15_000, identifiers=[pb.alert.Identifier(value="y" * 250)] * 200)
        self.assertRaises(ValueError, sealed.seal, pb, self.inner(big), sealed.header_from_alert(pb, big), readers,
                          self.signing_key)

    def test_assemble_builds_what_seal_builds(self):
        # The hostile cases below change one step of this; unchanged, every
        # reader opens it.
        inner = self.inner()
        payload = self.assemble(inner)
        for cc in READERS:
            self.assertEqual(self.open_as(payload, cc)[0], inner)


class Vectors(SealedTestCase):
    def test_python_made(self):
        v = json.loads((VECTORS / "python-made.json").read_text())
        self.assertEqual([r["id"] for r in v["readers"]], list(READERS))
        # The recorded keys are the fixed test keys (so the file can be made again).
        for r in v["readers"]:
            self.assertEqual(r["private_key_hex"], fixed_sealing_key(r["id"]).private_bytes_raw().hex())
        self.assertEqual(v["publisher_signing_public_key_hex"],
                         dsse.raw_public_key(fixed_signing_key().public_key()).hex())
        self.check_vector(v)
        # The inner alert is the one make_sealed_vector.py describes.
        inner = self.pb.ledger.Envelope.FromString(base64.b64decode(v["inner_envelope_b64"]))
        self.assertEqual(self.pb.alert.Alert.FromString(inner.payload), vector_alert(self.pb.alert))

    def test_isthmus_made(self):
        path = VECTORS / "isthmus-made.json"
        if not path.is_file():
            self.fail(f"{path.relative_to(REPO)} is missing: the Rust implementation writes it (a sealed alert "
                      f"made by isthmus, same JSON format as python-made.json); this test fails until it is there")
        self.check_vector(json.loads(path.read_text()))


class Hostile(SealedTestCase):
    """Each object breaks one step; the readers it affects refuse it at the
    check of docs/sealing.md that step protects."""

    def test_flipped_ciphertext_byte(self):
        s = self.pb.sealed.SealedAlert.FromString(self.assemble(self.inner()))
        for i in (0, len(s.ciphertext) // 2, len(s.ciphertext) - 1):  # body and tag
            bad = self.pb.sealed.SealedAlert()
            bad.CopyFrom(s)
            bad.ciphertext = flip(s.ciphertext, i)
            for cc in READERS:
                self.refused(4, bad.SerializeToString(), cc)

    def test_flipped_header_byte_or_key_commitment(self):
        s = self.pb.sealed.SealedAlert.FromString(self.assemble(self.inner()))
        bad = self.pb.sealed.SealedAlert()
        bad.CopyFrom(s)
        bad.key_commitment = flip(s.key_commitment, 5)
        self.refused(3, bad.SerializeToString(), "PA")
        # The header's id is its first field: change a letter of it. h
        # changes, so no stanza opens any more.
        bad.CopyFrom(s)
        i = s.header.index(b"py-sealed-1")
        bad.header = s.header[:i] + b"py-sealed-2" + s.header[i + 11 :]
        self.refused(2, bad.SerializeToString(), "PA")

    def test_outer_signature_covers_every_byte(self):
        pb = self.pb
        alert = self.alert()
        outer = sealed.seal(pb, self.inner(alert), sealed.header_from_alert(pb, alert), self.readers(),
                            self.signing_key)
        tampered = pb.ledger.Envelope()
        tampered.CopyFrom(outer)
        tampered.payload = flip(outer.payload, len(outer.payload) - 1)
        self.assertRaises(dsse.SignatureError, dsse.verify_signature, tampered, tampered.signatures[0],
                          self.signing_public)

    def test_stanza_for_a_key_we_do_not_hold(self):
        payload = self.assemble(self.inner())
        other = {cc: X25519PrivateKey.generate() for cc in READERS}
        for cc in READERS:
            self.assertIn("not a key we hold", self.refused(1, payload, cc, other))

    def test_stanza_under_our_key_id_wrapped_to_another_key(self):
        # PA's stanza names PA's key id, but K was wrapped to US's key.
        pb = self.pb

        def stanzas(h):
            out = []
            for cc, pub in self.readers():
                target = sealed.raw_x25519_public(self.keys["US"]) if cc == "PA" else pub
                x = sealed.wrap_key(pb, os.urandom(32), cc, target, h)
                x.key_id = sealed.sealing_key_id(pub)
                out.append(x)
            return out

        self.refused(2, self.assemble(self.inner(), stanzas=stanzas), "PA")

    def test_stanza_moved_from_another_object_or_reader(self):
        pb = self.pb
        first = pb.sealed.SealedAlert.FromString(self.assemble(self.inner()))
        second = pb.sealed.SealedAlert.FromString(self.assemble(self.inner(self.alert(id="py-sealed-2"))))
        moved = pb.sealed.SealedAlert()
        moved.CopyFrom(second)
        del moved.stanzas[:]
        moved.stanzas.extend(first.stanzas)  # the right keys, another header
        for cc in READERS:
            self.refused(2, moved.SerializeToString(), cc)
        # US's stanza relabelled as PA's, under PA's key id: PA's key does
        # not open it, and its aad names US.
        relabelled = pb.sealed.SealedAlert()
        relabelled.CopyFrom(first)
        us = [x for x in first.stanzas if x.recipient == "US"][0]
        pa = [x for x in relabelled.stanzas if x.recipient == "PA"][0]
        pa.enc, pa.wrapped_key = us.enc, us.wrapped_key
        self.refused(2, relabelled.SerializeToString(), "PA")

    def test_no_stanza_or_two_for_us(self):
        pb = self.pb
        s = pb.sealed.SealedAlert.FromString(self.assemble(self.inner()))
        none = pb.sealed.SealedAlert()
        none.CopyFrom(s)
        del none.stanzas[1]  # PA's
        self.assertIn("no stanza is addressed to PA", self.refused(1, none.SerializeToString(), "PA"))
        self.open_as(none.SerializeToString(), "US")  # others still open it: the hub refuses it, though
        two = pb.sealed.SealedAlert()
        two.CopyFrom(s)
        two.stanzas.append(s.stanzas[1])
        self.refused(1, two.SerializeToString(), "PA")

    def test_low_order_enc(self):
        pb = self.pb

        def stanzas(h):
            out = [sealed.wrap_key(pb, os.urandom(32), cc, pub, h) for cc, pub in self.readers()]
            out[1].enc = bytes(32)  # the X25519 point 0: the shared secret would be all zeros
            return out

        self.refused(2, self.assemble(self.inner(), stanzas=stanzas), "PA")

    def test_key_commitment_from_a_different_k(self):
        # The publisher wraps K1 for CO and PA and K2 for US, and encrypts
        # and commits with K1: PA reads, US's K2 does not give the commitment.
        k1, k2 = os.urandom(32), os.urandom(32)
        payload = self.assemble(self.inner(), wrapped={"CO": k1, "PA": k1, "US": k2}, content_k=k1, commitment_k=k1)
        self.open_as(payload, "PA")
        self.open_as(payload, "CO")
        self.assertIn("key commitment", self.refused(3, payload, "US"))
        # Split the other way: the commitment is K2's, the content K1's.
        # Every reader fails: K1 holders at the commitment, K2 holders at
        # the ciphertext.
        payload = self.assemble(self.inner(), wrapped={"CO": k1, "PA": k1, "US": k2}, content_k=k1, commitment_k=k2)
        self.refused(3, payload, "PA")
        self.refused(3, payload, "CO")
        self.refused(4, payload, "US")

    def test_bad_padding(self):
        def nonzero_fill(content):
            p = bytearray(sealed.pad(content))
            p[-1] = 1
            return bytes(p)

        def long_prefix(content):
            p = sealed.pad(content)
            return (len(p) - 3).to_bytes(4, "big") + p[4:]

        def short_prefix(content):
            # Claims one byte less: the last content byte becomes "padding".
            p = sealed.pad(content)
            return (len(content) - 1).to_bytes(4, "big") + p[4:]

        def over_padded(content):
            # A valid bucket, but not the one for this length.
            return len(content).to_bytes(4, "big") + content + bytes(2048 - 4 - len(content))

        def no_prefix(content):
            return content + bytes(sealed.padded_length(len(content)) - len(content))

        for name, plaintext, check in [
            ("a non-zero fill byte", nonzero_fill, 4),
            ("a length prefix beyond the plaintext", long_prefix, 4),
            ("a length prefix one short", short_prefix, 4),
            ("padded past its bucket", over_padded, 4),
            ("no length prefix", no_prefix, 4),
            ("unpadded", lambda c: len(c).to_bytes(4, "big") + c, 0),
            ("a length that is no padded size", lambda c: sealed.pad(c) + b"\x00" * 6, 0),
        ]:
            with self.subTest(name):
                payload = self.assemble(self.inner(), plaintext=plaintext)
                for cc in READERS:
                    self.refused(check, payload, cc)

    def test_disclosure_commitment_and_content(self):
        inner = self.inner()
        # The header commits to one opener, the content holds another.
        content = self.pb.sealed.SealedContent(envelope=inner, opener=os.urandom(32)).SerializeToString()
        self.assertIn("disclosure commitment", self.refused(5, self.assemble(inner, content=content), "PA"))
        # Another inner envelope than the one committed to.
        content = self.pb.sealed.SealedContent(envelope=self.inner(key=Ed25519PrivateKey.generate()),
                                               opener=os.urandom(32)).SerializeToString()
        self.refused(5, self.assemble(inner, content=content), "PA")
        self.refused(5, self.assemble(inner, content=b"\xff\xff\xff"), "PA")  # not a SealedContent
        short = self.pb.sealed.SealedContent(envelope=inner, opener=b"\x01" * 31).SerializeToString()
        self.refused(5, self.assemble(inner, content=short), "PA")

    def test_suite(self):
        payload = self.assemble(self.inner(), suite=self.pb.sealed.Suite(kem=0x647A, kdf=1, aead=3))
        self.refused(0, payload, "PA")
        self.refused(0, self.assemble(self.inner(), suite=self.pb.sealed.Suite()), "PA")

    def test_inner_signature(self):
        pb = self.pb
        other = Ed25519PrivateKey.generate()
        payload = self.assemble(self.inner(key=other))
        inner, _ = self.open_as(payload, "PA")
        with self.assertRaises(sealed.SealedError) as e:
            sealed.verify_inner(pb, inner, self.signing_public)
        self.assertEqual(e.exception.check, 6)
        env = pb.ledger.Envelope.FromString(self.inner())
        env.payload_type = sealed.SEALED_PAYLOAD_TYPE
        self.assertRaises(sealed.SealedError, sealed.verify_inner, pb, env.SerializeToString(), self.signing_public)
        self.assertRaises(sealed.SealedError, sealed.verify_inner, pb, self.inner(), self.signing_public,
                          publisher="PA")

    def test_inner_alert_disagrees_with_header(self):
        pb = self.pb
        a = pb.alert
        header = sealed.header_from_alert(pb, self.alert())
        sealed.check_inner_matches_header(self.alert(), header)
        # Same recipients in another order: a set, so they agree.
        sealed.check_inner_matches_header(self.alert(recipients=["US", "PA"]), header)
        amends = a.Amendment(id="py-sealed-0", kind=a.AMENDMENT_KIND_RETRACTION, reason="r")
        for name, inner_alert in [
            ("id", self.alert(id="py-sealed-2")),
            ("publisher", self.alert(publisher="PA")),
            ("created", self.alert(created=Timestamp(seconds=1_795_521_600, nanos=1))),
            ("tlp", self.alert(tlp=a.TLP_AMBER_STRICT)),
            ("recipients", self.alert(recipients=["PA"])),
            ("recipients twice", self.alert(recipients=["PA", "US", "PA"])),
            ("handling", self.alert(handling=[a.HANDLING_NO_COURT_USE, a.HANDLING_NO_ONWARD_SHARING])),
            ("amends", self.alert(amends=amends)),
        ]:
            with self.subTest(name):
                with self.assertRaises(sealed.SealedError) as e:
                    sealed.check_inner_matches_header(inner_alert, header)
                self.assertEqual(e.exception.check, 7)
                self.assertIn(name.split()[0], str(e.exception))
        # And the other way: the header claims an amendment the alert lacks,
        # or another kind of one.
        with_amends = sealed.header_from_alert(pb, self.alert(amends=amends))
        self.assertRaises(sealed.SealedError, sealed.check_inner_matches_header, self.alert(), with_amends)
        other_kind = a.Amendment(id="py-sealed-0", kind=a.AMENDMENT_KIND_CORRECTION, reason="r")
        self.assertRaises(sealed.SealedError, sealed.check_inner_matches_header, self.alert(amends=other_kind),
                          with_amends)


if __name__ == "__main__":
    unittest.main()
