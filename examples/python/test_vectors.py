"""The client's DSSE, signed-note and Merkle code against published vectors
(tests/vectors/, someone else's answers) and the dev material. No hub needed:

    cd examples/python && python -m unittest -v test_vectors
"""

import base64
import hashlib
import json
import pathlib
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from isthmus_client import cosignature, dsse, merkle, note

REPO = pathlib.Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
TESSERA_KEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"


def b64(s):
    return base64.b64decode(s or "")


def cases(folder):
    """Every vector file under tests/vectors/merkle/<folder>/."""
    files = sorted((VECTORS / "merkle" / folder).rglob("*.json"))
    assert files, f"no vectors under {folder}"
    for f in files:
        yield f.relative_to(VECTORS / "merkle"), json.loads(f.read_text())


# A straightforward reference tree (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1),
# for building proofs on the tessera log; the client only verifies.
def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    if not leaves:
        return hashlib.sha256(b"").digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, complete):
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def flip(b: bytes, i=0) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


class MerkleVectors(unittest.TestCase):
    def test_inclusion_vectors(self):
        n = 0
        for name, v in cases("inclusion"):
            with self.subTest(str(name), desc=v["desc"]):
                run = lambda: merkle.verify_inclusion(
                    b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [b64(p) for p in v["proof"] or []], b64(v["root"])
                )
                if v["wantErr"]:
                    self.assertRaises(merkle.ProofError, run)
                else:
                    run()
                n += 1
        self.assertGreater(n, 50)

    def test_consistency_vectors(self):
        n = 0
        for name, v in cases("consistency"):
            with self.subTest(str(name), desc=v["desc"]):
                run = lambda: merkle.verify_consistency(
                    v["size1"], v["size2"], [b64(p) for p in v["proof"] or []], b64(v["root1"]), b64(v["root2"])
                )
                if v["wantErr"]:
                    self.assertRaises(merkle.ProofError, run)
                else:
                    run()
                n += 1
        self.assertGreater(n, 50)

    def test_rfc6962_reference_tree(self):
        v = json.loads((VECTORS / "merkle" / "rfc6962-tree.json").read_text())
        leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in v["leaf_inputs_hex"]]
        for size, want in enumerate(v["root_by_tree_size_hex"]):
            self.assertEqual(mth(leaves[:size]).hex(), want, f"size {size}")
        # Every proof our reference tree builds, the verifiers accept; one
        # flipped bit anywhere and they refuse.
        for size in range(1, 9):
            root = mth(leaves[:size])
            for i in range(size):
                proof = path(i, leaves[:size])
                merkle.verify_inclusion(leaves[i], i, size, proof, root)
                for j in range(len(proof)):
                    bad = proof[:j] + [flip(proof[j])] + proof[j + 1 :]
                    self.assertRaises(merkle.ProofError, merkle.verify_inclusion, leaves[i], i, size, bad, root)
            for old in range(1, size + 1):
                proof = subproof(old, leaves[:size], True)
                merkle.verify_consistency(old, size, proof, mth(leaves[:old]), root)


class TesseraLog(unittest.TestCase):
    """A real 15-entry log written by Tessera, in the C2SP tlog-tiles layout."""

    def setUp(self):
        self.key = note.Verifier.parse(TESSERA_KEY)
        d = VECTORS / "tlog-tiles"
        self.checkpoints = {n: (d / f"checkpoint.{n}").read_text() for n in range(16)}
        # An entry bundle: each entry is a big-endian uint16 length, then its bytes.
        bundle, self.entries = (d / "tile/entries/000.p/15").read_bytes(), []
        while bundle:
            length = int.from_bytes(bundle[:2], "big")
            self.entries.append(bundle[2 : 2 + length])
            bundle = bundle[2 + length :]
        self.leaves = [merkle.leaf_hash(e) for e in self.entries]
        self.level0 = (d / "tile/0/000.p/15").read_bytes()

    def test_entries_hash_to_the_level0_tile(self):
        self.assertEqual(len(self.entries), 15)
        self.assertEqual(b"".join(self.leaves), self.level0)

    def test_every_checkpoint_verifies_and_matches_the_entries(self):
        for n, text in self.checkpoints.items():
            cp = note.verify_checkpoint(text, self.key)
            self.assertEqual((cp.origin, cp.size), ("example.com/log/testdata", n))
            self.assertEqual(cp.root, mth(self.leaves[:n]), f"checkpoint.{n}")

    def test_proofs_against_the_signed_roots(self):
        roots = {n: note.verify_checkpoint(t, self.key).root for n, t in self.checkpoints.items()}
        for size in range(1, 16):
            for i in range(size):
                merkle.verify_inclusion(self.leaves[i], i, size, path(i, self.leaves[:size]), roots[size])
            for old in range(1, size + 1):
                proof = subproof(old, self.leaves[:size], True)
                merkle.verify_consistency(old, size, proof, roots[old], roots[size])
                if proof:
                    self.assertRaises(
                        merkle.ProofError, merkle.verify_consistency, old, size, proof[:-1], roots[old], roots[size]
                    )
        # The right proof against another signed root fails.
        proof = path(3, self.leaves)
        self.assertRaises(merkle.ProofError, merkle.verify_inclusion, self.leaves[3], 3, 15, proof, roots[14])

    def test_tampered_checkpoints_fail(self):
        text = self.checkpoints[15]
        body, sig_line = text.split("\n\n")
        grown = body.replace("\n15\n", "\n16\n") + "\n\n" + sig_line
        self.assertRaises(note.NoteError, note.verify_checkpoint, grown, self.key)
        name, sig = sig_line.rstrip("\n").rsplit(" ", 1)
        bad = base64.b64encode(flip(base64.b64decode(sig), 10)).decode()
        self.assertRaises(note.NoteError, note.verify_checkpoint, f"{body}\n\n{name} {bad}\n", self.key)
        known_answer = json.loads((VECTORS / "signed-note/known-answer.json").read_text())
        other = note.Verifier.parse(known_answer["verifier_key"])
        self.assertRaises(note.NoteError, note.verify_checkpoint, text, other)


class SignedNoteVectors(unittest.TestCase):
    def setUp(self):
        self.v = json.loads((VECTORS / "signed-note" / "known-answer.json").read_text())

    def test_known_answer(self):
        v = self.v
        key = note.Verifier.parse(v["verifier_key"])
        self.assertEqual(note.open_note(v["signed_note"], key), v["text"])
        # Ed25519 is deterministic: signing the text with the vector's
        # private key (PRIVATE+KEY+name+hex8+base64(0x01 || seed)) gives
        # exactly the vector's signature line.
        _, _, name, hex_id, seed = v["signer_key"].split("+", 4)
        signer = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)[1:])
        sig = base64.b64encode(bytes.fromhex(hex_id) + signer.sign(v["text"].encode())).decode()
        line = f"\u2014 {name} {sig}\n"
        self.assertEqual(v["text"] + "\n" + line, v["signed_note"])

    def test_unknown_signatures_are_skipped_and_missing_ones_fail(self):
        v = self.v
        two = v["signed_note"] + v["second_signature_line"]
        for vkey in (v["verifier_key"], v["second_verifier_key"]):
            self.assertEqual(note.open_note(two, note.Verifier.parse(vkey)), v["text"])
        second = note.Verifier.parse(v["second_verifier_key"])
        self.assertRaises(note.NoteError, note.open_note, v["signed_note"], second)

    def test_tampering_and_malformed_input_fail(self):
        v = self.v
        key = note.Verifier.parse(v["verifier_key"])
        self.assertRaises(note.NoteError, note.open_note, v["signed_note"].replace("answer", "Answer"), key)
        self.assertRaises(note.NoteError, note.open_note, v["signed_note"].replace("\u2014", "-"), key)
        self.assertRaises(note.NoteError, note.open_note, v["signed_note"].replace("\n\n", "\n"), key)
        self.assertRaises(note.NoteError, note.open_note, v["signed_note"].rstrip("\n"), key)
        name, hex_id, b = v["verifier_key"].split("+", 2)
        self.assertRaises(note.NoteError, note.Verifier.parse, f"{name}+{hex_id[:-1]}0+{b}")
        self.assertRaises(note.NoteError, note.Verifier.parse, f"Other+{hex_id}+{b}")
        note.Verifier.parse(v["c2sp_example_verifier_key"])

    def test_dev_log_key(self):
        key = note.Verifier.parse((REPO / "certs-dev" / "log.pub").read_text())
        self.assertTrue(key.name.startswith("isthmus.localhost/"))


class CosignatureVectors(unittest.TestCase):
    def setUp(self):
        self.v = json.loads((VECTORS / "cosignature" / "known-answer.json").read_text())

    def test_known_answer(self):
        v = self.v
        key = cosignature.CosignatureVerifier.parse(v["vkey"])
        self.assertEqual((key.key_id.hex(), key.public_key.hex()), (v["key_id_hex"], v["public_key_hex"]))
        self.assertEqual(key.vkey(), v["vkey"])
        self.assertEqual(cosignature.signed_message(v["checkpoint_body"], v["timestamp"]).decode(), v["signed_message"])
        self.assertEqual(key.verify_line(v["checkpoint_body"], v["signature_line"]), v["timestamp"])
        signer = cosignature.Cosigner(v["name"], bytes.fromhex(v["seed_hex"]))
        self.assertEqual(signer.line(v["checkpoint_body"], v["timestamp"]), v["signature_line"])

    def test_the_lines_that_must_fail(self):
        key = cosignature.CosignatureVerifier.parse(self.v["vkey"])
        for bad in self.v["must_fail"]:
            with self.subTest(bad["why"]):
                try:
                    got = key.verify_line(self.v["checkpoint_body"], bad["signature_line"])
                except note.NoteError:
                    got = None
                self.assertIsNone(got)


class PythonWitness(unittest.TestCase):
    """The reference witness's own statuses, against a log made here."""

    def test_statuses(self):
        from isthmus_client.witness import Refused, Witness

        log_key = Ed25519PrivateKey.generate()
        public = log_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        name = "log.example/test"
        log = note.Verifier(name=name, key_id=note.note_key_id(name, b"\x01" + public), public_key=public)
        witness = Witness(cosignature.Cosigner("w.example/py"), log)
        leaves = [merkle.leaf_hash(bytes([i])) for i in range(3)]

        def signed(size, root):
            text = f"{name}\n{size}\n{base64.b64encode(root).decode()}\n"
            sig = base64.b64encode(log.key_id + log_key.sign(text.encode())).decode()
            return text, f"{text}\n\u2014 {name} {sig}\n"

        root1 = leaves[0]
        root2 = merkle.node_hash(leaves[0], leaves[1])
        text1, note1 = signed(1, root1)
        line = witness.add_checkpoint(f"old 0\n\n{note1}".encode())
        self.assertIsNotNone(witness.cosigner.verifier.verify_line(text1, line))
        _, note2 = signed(2, root2)
        with self.assertRaises(Refused) as r:
            witness.add_checkpoint(f"old 0\n\n{note2}".encode())
        self.assertEqual((r.exception.status, r.exception.body), (409, "1\n"))
        bad = base64.b64encode(b"\x00" * 32).decode()
        with self.assertRaises(Refused) as r:
            witness.add_checkpoint(f"old 1\n{bad}\n\n{note2}".encode())
        self.assertEqual(r.exception.status, 422)
        good = base64.b64encode(leaves[1]).decode()
        witness.add_checkpoint(f"old 1\n{good}\n\n{note2}".encode())
        _, forged = signed(2, b"\x01" * 32)
        with self.assertRaises(Refused) as r:
            witness.add_checkpoint(f"old 2\n\n{forged}".encode())
        self.assertEqual(r.exception.status, 409, "same size, another root")
        with self.assertRaises(Refused) as r:
            witness.add_checkpoint(f"old 2\n\n{note2.replace(name, 'other.example/log')}".encode())
        self.assertEqual(r.exception.status, 404)


class Dsse(unittest.TestCase):
    def test_pae_matches_the_dsse_spec(self):
        self.assertEqual(
            dsse.pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world",
        )
        self.assertEqual(dsse.pae("", b""), b"DSSEv1 0  0 ")

    def test_dev_signing_key_is_the_one_in_the_roster_approvals(self):
        # certs-dev/roster.approvals lines are "CC <keyid> <signature>".
        approvals = {
            line.split()[0]: line.split()[1]
            for line in (REPO / "certs-dev" / "roster.approvals").read_text().splitlines()
            if line and not line.startswith("#")
        }
        key = dsse.load_signing_key(REPO / "certs-dev" / "CO" / "signing.key.pem")
        self.assertEqual(dsse.key_id(dsse.raw_public_key(key.public_key())), approvals["CO"])

    def test_seal_and_verify_and_tamper(self):
        class Msg:  # stands in for the generated messages
            def __init__(self, **kw):
                self.__dict__.update(kw)

        class Ledger:
            Envelope = Signature = Msg

        key = Ed25519PrivateKey.generate()
        raw = dsse.raw_public_key(key.public_key())
        env = dsse.seal(Ledger, b"\x0a\x01x", key)
        self.assertEqual(env.signatures[0].keyid, hashlib.sha256(raw).hexdigest())
        dsse.verify_signature(env, env.signatures[0], raw)
        env.signatures[0].sig = flip(env.signatures[0].sig, 63)
        self.assertRaises(dsse.SignatureError, dsse.verify_signature, env, env.signatures[0], raw)
        env.signatures[0].sig = flip(env.signatures[0].sig, 63)
        env.payload_type = dsse.ROSTER_PAYLOAD_TYPE  # same bytes, other type: another message
        self.assertRaises(dsse.SignatureError, dsse.verify_signature, env, env.signatures[0], raw)


if __name__ == "__main__":
    unittest.main()
