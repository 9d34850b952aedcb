"""C2SP tlog-cosignature, cosignature/v1 (Ed25519): the lines witnesses
add to a checkpoint note. Written from the spec text, independently of
the hub's Rust code, so each checks the other.

A witness's verifier key is

    <name>+<hex8 key id>+<base64(0x04 || 32-byte Ed25519 public key)>

with key id = SHA-256(name || 0x0A || 0x04 || public key)[:4], and its line
on a checkpoint note is

    — <name> <base64(key id || u64 big-endian timestamp || signature)>\\n

where the Ed25519 signature covers

    cosignature/v1\\ntime <timestamp>\\n<checkpoint body>

The timestamp is POSIX seconds and never zero.
"""

import base64
import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .note import SIGNATURE_PREFIX, NoteError, _b64decode, _valid_name, note_key_id

ALG_COSIGNATURE_V1 = 0x04


def signed_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode("utf-8")


@dataclass(frozen=True)
class CosignatureVerifier:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> "CosignatureVerifier":
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not _valid_name(parts[0]):
            raise NoteError(f"a witness key is name+hex8+base64, got {vkey!r}")
        name, hex_id, b64 = parts
        raw = _b64decode(b64, "the witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError("a cosignature/v1 key is 0x04 followed by 32 bytes")
        key_id = note_key_id(name, raw)
        if key_id.hex() != hex_id:
            raise NoteError(f"key id {hex_id} does not match the key (computed {key_id.hex()})")
        return cls(name=name, key_id=key_id, public_key=raw[1:])

    def vkey(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    def verify_line(self, body: str, line: str):
        """The timestamp if `line` is this witness's valid cosignature of
        `body`; None if the line is someone else's; NoteError if it claims
        to be this witness's and does not verify."""
        if not line.startswith(SIGNATURE_PREFIX):
            return None
        name, _, b64 = line[len(SIGNATURE_PREFIX):].rstrip("\n").partition(" ")
        if name != self.name:
            return None
        raw = _b64decode(b64, "a cosignature")
        if len(raw) != 4 + 8 + 64 or not hmac.compare_digest(raw[:4], self.key_id):
            return None
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        if timestamp == 0:
            raise NoteError(f"the cosignature by {name} has timestamp 0")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(raw[12:], signed_message(body, timestamp))
        except InvalidSignature:
            raise NoteError(f"the cosignature by {name} does not verify") from None
        return timestamp


class Cosigner:
    """A witness's signing key (generated, or from a 32-byte seed)."""

    def __init__(self, name: str, seed: bytes = None):
        self.key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key_id = note_key_id(name, bytes([ALG_COSIGNATURE_V1]) + public)
        self.verifier = CosignatureVerifier(name=name, key_id=key_id, public_key=public)

    def line(self, body: str, timestamp: int) -> str:
        if timestamp <= 0:
            raise ValueError("a cosignature timestamp is at least 1")
        sig = self.key.sign(signed_message(body, timestamp))
        raw = self.verifier.key_id + struct.pack(">Q", timestamp) + sig
        return f"{SIGNATURE_PREFIX}{self.verifier.name} {base64.b64encode(raw).decode()}\n"
