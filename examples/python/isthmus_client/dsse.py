"""DSSE v1 envelopes (github.com/secure-systems-lab/dsse) as Isthmus uses them.

An alert is signed as follows:

    payload     = the protobuf encoding of an isthmus.v1.Alert (exact bytes)
    payloadType = "application/vnd.isthmus.alert.v1+protobuf"
    message     = PAE(payloadType, payload)
    sig         = Ed25519 signature (64 bytes) over message
    keyid       = lowercase hex SHA-256 of the raw 32-byte public key

The hub stores the payload verbatim and never re-encodes it, so a recipient
verifies the very bytes the publisher signed. Roster entries use the same
envelope with payloadType "application/vnd.isthmus.roster.v1+protobuf"; the
different type keeps a roster approval from ever passing for an alert
signature, and the other way round.
"""

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALERT_PAYLOAD_TYPE = "application/vnd.isthmus.alert.v1+protobuf"
ROSTER_PAYLOAD_TYPE = "application/vnd.isthmus.roster.v1+protobuf"


class SignatureError(Exception):
    """A DSSE signature that does not verify, or an envelope that cannot."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding:

        "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

    SP is one 0x20 byte; LEN is the byte length in ASCII decimal, without
    leading zeros. The type is counted in UTF-8 bytes, not characters.
    """
    t = payload_type.encode("utf-8")
    return b" ".join([b"DSSEv1", str(len(t)).encode(), t, str(len(payload)).encode(), payload])


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key (RFC 8032 encoding), as the
    roster holds them."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key_raw: bytes) -> str:
    """keyid = lowercase hex SHA-256 of the raw 32-byte public key."""
    if len(public_key_raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(public_key_raw)}")
    return hashlib.sha256(public_key_raw).hexdigest()


def load_signing_key(pem_path) -> Ed25519PrivateKey:
    """Reads a PKCS#8 PEM Ed25519 private key (certs-dev/CC/signing.key.pem)."""
    with open(pem_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{pem_path} does not hold an Ed25519 private key")
    return key


def seal(pb_ledger, payload: bytes, key: Ed25519PrivateKey, payload_type: str = ALERT_PAYLOAD_TYPE):
    """Signs payload into an isthmus.v1.Envelope with one signature.
    pb_ledger is the generated ledger_pb2 module."""
    return pb_ledger.Envelope(
        payload=payload,
        payload_type=payload_type,
        signatures=[
            pb_ledger.Signature(
                sig=key.sign(pae(payload_type, payload)),
                keyid=key_id(raw_public_key(key.public_key())),
            )
        ],
    )


def verify_signature(envelope, signature, public_key_raw: bytes) -> None:
    """Checks one of envelope.signatures under a raw 32-byte Ed25519 key.

    cryptography's verify is the standard RFC 8032 (cofactorless) check of
    OpenSSL; the hub accepts only signatures that pass it
    (docs/signatures.md). Raises SignatureError."""
    if signature.keyid != key_id(public_key_raw):
        raise SignatureError(f"keyid {signature.keyid} does not name this key")
    if len(signature.sig) != 64:
        raise SignatureError(f"an Ed25519 signature is 64 bytes, not {len(signature.sig)}")
    message = pae(envelope.payload_type, envelope.payload)
    try:
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature.sig, message)
    except InvalidSignature:
        raise SignatureError(f"the signature by key {signature.keyid[:16]}... does not verify") from None
