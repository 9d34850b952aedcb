"""C2SP signed notes (c2sp.org/signed-note) and checkpoints
(c2sp.org/tlog-checkpoint), the format of the hub's signed tree heads.

A verifier key, as in certs-dev/log.pub, is one line:

    <name>+<hex8 key id>+<base64(0x01 || 32-byte Ed25519 public key)>

where 0x01 says "Ed25519" and the key id is the first 4 bytes of
SHA-256(name || 0x0A || 0x01 || public key).

A signed note is text, a blank line, then one line per signature:

    <text: one or more lines, each ending in \\n>
    \\n
    — <name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n

The line starts with an em dash (U+2014, UTF-8 e2 80 94) and a space. The
Ed25519 signature covers the text exactly: every byte up to and including
its final newline, without the blank line. Lines by unknown keys are
ignored, as the spec requires; at least one must be by the key we trust.

A checkpoint is the text of such a note:

    <origin>\\n<tree size, decimal>\\n<base64 of the 32-byte root hash>\\n
    [optional extension lines]

and the hub's origin is its key name.
"""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class NoteError(Exception):
    """A key, note or checkpoint that is malformed or does not verify."""


def _b64decode(s: str, what: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64: {s!r}") from None


def _valid_name(name: str) -> bool:
    # Key names are non-empty and hold no whitespace and no '+'.
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def note_key_id(name: str, alg_and_key: bytes) -> bytes:
    """4-byte key id: SHA-256(name || 0x0A || alg byte || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + alg_and_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier key."""

    name: str
    key_id: bytes  # 4 bytes
    public_key: bytes  # 32 bytes

    @classmethod
    def parse(cls, vkey: str) -> "Verifier":
        parts = vkey.strip().split("+", 2)  # base64 may hold '+' too
        if len(parts) != 3:
            raise NoteError(f"a verifier key is name+hex8+base64, got {vkey!r}")
        name, hex_id, b64 = parts
        if not _valid_name(name):
            raise NoteError(f"bad key name {name!r}")
        alg_and_key = _b64decode(b64, "the verifier key")
        if len(alg_and_key) != 33 or alg_and_key[0] != ALG_ED25519:
            raise NoteError("the verifier key is not 0x01 followed by a 32-byte Ed25519 key")
        if len(hex_id) != 8 or hex_id != hex_id.lower():
            raise NoteError(f"key id {hex_id!r} is not 8 lowercase hex digits")
        key_id = note_key_id(name, alg_and_key)
        if key_id.hex() != hex_id:
            raise NoteError(f"key id {hex_id} does not match the key (computed {key_id.hex()})")
        return cls(name=name, key_id=key_id, public_key=alg_and_key[1:])


def split_note(note: str):
    """Splits a signed note into (text, [(name, key id, signature)])."""
    for c in note:
        if c < " " and c != "\n":
            raise NoteError("the note holds a control character other than newline")
    # The signatures follow the last blank line, i.e. the last "\n\n".
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("no blank line before the signatures")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    if not sig_block.endswith("\n"):
        raise NoteError("the signature block does not end with a newline")
    signatures = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"signature line does not start with '\u2014 ': {line!r}")
        name, sep, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep or not _valid_name(name):
            raise NoteError(f"malformed signature line {line!r}")
        raw = _b64decode(b64, "a note signature")
        if len(raw) < 5:
            raise NoteError("a note signature is shorter than its 4-byte key id")
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("the note has no signature")
    return text, signatures


def open_note(note: str, verifier: Verifier) -> str:
    """Returns the note's text once a signature by `verifier` verifies over
    it. A line that claims the verifier's name and key id but does not
    verify is an error, not something to skip."""
    text, signatures = split_note(note)
    key = Ed25519PublicKey.from_public_bytes(verifier.public_key)
    verified = False
    for name, key_id, sig in signatures:
        if name != verifier.name or not hmac.compare_digest(key_id, verifier.key_id):
            continue  # someone else's signature (a witness, say): not ours to judge
        if len(sig) != 64:
            raise NoteError(f"the signature by {name} is {len(sig)} bytes, not 64")
        try:
            key.verify(sig, text.encode("utf-8"))
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not verify") from None
        verified = True
    if not verified:
        raise NoteError(f"no signature by {verifier.name}+{verifier.key_id.hex()} on the note")
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes  # 32 bytes
    extensions: tuple  # extra lines after the root, if any


def parse_checkpoint(text: str) -> Checkpoint:
    """Parses a checkpoint body (the text of a verified note)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has at least three lines, each ending in a newline")
    origin, size, root_b64, *extensions = lines[:-1]
    if not origin:
        raise NoteError("empty checkpoint origin")
    if not size.isdigit() or not size.isascii() or (len(size) > 1 and size[0] == "0"):
        raise NoteError(f"checkpoint size {size!r} is not a decimal number without leading zeros")
    root = _b64decode(root_b64, "the checkpoint root")
    if len(root) != 32:
        raise NoteError(f"the checkpoint root is {len(root)} bytes, not 32")
    return Checkpoint(origin=origin, size=int(size), root=root, extensions=tuple(extensions))


def verify_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """A checkpoint signed by `verifier` whose origin is the key's name."""
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the log key's name {verifier.name!r}")
    return checkpoint
