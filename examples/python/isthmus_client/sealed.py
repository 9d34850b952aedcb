"""Sealed alerts (docs/sealing.md): a signed alert encrypted end to end to
its readers with HPKE (RFC 9180), so that the hub routes it by a clear
header and never holds a key that opens it. TLP:RED alerts must be sealed.

This is an independent implementation of docs/sealing.md, written from the
document alone, with `pyhpke` for HPKE and `cryptography` for the rest:

    inner   = the publisher's ordinary signed alert (an encoded Envelope)
    opener  = 32 random bytes
    header  = an encoded SealedHeader (the routing fields of the alert, the
              suite, disclosure_commitment = SHA-256(LABEL_DISCLOSURE || 0x00
              || opener || inner))
    h       = SHA-256(header)
    K       = 32 random bytes
    PRK     = HKDF-Extract(salt = h, IKM = K)                      (SHA-256)
    content_key    = HKDF-Expand(PRK, LABEL_CONTENT_KEY, 32)
    key_commitment = HKDF-Expand(PRK, LABEL_KEY_COMMITMENT, 32)
    plaintext  = be32(len(content)) || content || zeros, N bytes in all,
                 content = encoded SealedContent{envelope = inner, opener},
                 N = max(1024, padme(4 + len(content)))
    ciphertext = ChaCha20-Poly1305(content_key, 12 zero bytes, plaintext, aad = h)
    per reader: enc, wrapped_key = SealBase(pkR, info = LABEL_HPKE || 0x00 || h,
                                            aad = recipient || 0x00 || key_id, K)
    outer   = DSSE envelope of the encoded SealedAlert, payload type
              application/vnd.isthmus.sealed-alert.v1+protobuf, signed by the
              publisher's roster signing key

The readers are the header's recipients and the publisher itself (so that it
can re-read what it sent): exactly one stanza each.

`pb` arguments are the namespace protos.load() returns (pb.alert, pb.ledger,
pb.sealed). Every refusal by open_sealed(), verify_inner() and
check_inner_matches_header() is a SealedError whose `check` is the number of
the recipient check of docs/sealing.md it failed (0 for the shape the hub
already checks: decoding, the suite, field lengths).
"""

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from google.protobuf.message import DecodeError
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey, PyHPKEError

from . import dsse

SEALED_PAYLOAD_TYPE = "application/vnd.isthmus.sealed-alert.v1+protobuf"

# The labels of docs/sealing.md, ASCII, without terminator (the 0x00 bytes
# are written where the construction puts them).
LABEL_DISCLOSURE = b"isthmus sealed-alert v1 disclosure"
LABEL_CONTENT_KEY = b"isthmus sealed-alert v1 content key"
LABEL_KEY_COMMITMENT = b"isthmus sealed-alert v1 key commitment"
LABEL_HPKE = b"isthmus sealed-alert v1"

# RFC 9180 identifiers: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0003
SUITE = CipherSuite.new(KEMId(KEM_ID), KDFId(KDF_ID), AEADId(AEAD_ID))

MIN_PADDED = 1024  # N is never below this: the smallest alerts all look alike
MAX_HEADER = 4096  # bytes of the encoded SealedHeader
MAX_ENVELOPE = 64_000  # bytes of an encoded Envelope the hub accepts
ZERO_NONCE = bytes(12)  # content_key is fresh per object and encrypts one message
KEY_LEN = 32  # K, content_key, key_commitment, opener, both commitments
ENC_LEN, WRAPPED_LEN = 32, 48  # HPKE enc (an X25519 point) and K + 16-byte tag
TAG_LEN = 16


class SealedError(Exception):
    """A sealed alert that this reader must refuse. `check` is the number of
    the recipient check (docs/sealing.md, "What a recipient checks when
    opening") that failed, 0 for a malformed object."""

    def __init__(self, check: int, message: str):
        super().__init__(f"sealed alert, check {check}: {message}" if check else f"sealed alert: {message}")
        self.check = check


# -- Keys. -----------------------------------------------------------------


def raw_x25519_public(key) -> bytes:
    """The raw 32 bytes of an X25519 public key (or of a private key's public half)."""
    if isinstance(key, X25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sealing_key_id(public_key_raw: bytes) -> str:
    """key id = lowercase hex SHA-256 of the raw 32-byte X25519 public key."""
    if len(public_key_raw) != 32:
        raise ValueError(f"an X25519 public key is 32 bytes, not {len(public_key_raw)}")
    return hashlib.sha256(public_key_raw).hexdigest()


def load_sealing_key(pem_path) -> X25519PrivateKey:
    """Reads an RFC 8410 PKCS#8 PEM X25519 private key (OID 1.3.101.110), as
    `isthmus keygen --sealing` and `isthmus dev-certs` write it
    (certs-dev/CC/sealing.key.pem)."""
    with open(pem_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{pem_path} does not hold an X25519 private key")
    return key


def roster_sealing_key(pb_roster, principal_id: str, at: int) -> bytes:
    """The raw public key the roster `pb_roster` (an isthmus.v1.Roster) lists
    for principal_id, valid at Unix time `at` (not_before <= at < not_after).
    When windows overlap (a rotation), the one that started last is the
    reader's current key. Raises LookupError."""
    for principal in pb_roster.principals:
        if principal.id != principal_id:
            continue
        valid = [k for k in principal.sealing_keys if k.not_before.seconds <= at < k.not_after.seconds]
        if not valid:
            raise LookupError(f"the roster lists no sealing key of {principal_id} valid at {at}")
        return max(valid, key=lambda k: k.not_before.seconds).public_key
    raise LookupError(f"{principal_id} is not in the roster")


# -- The pieces of the construction. ------------------------------------------


def padme(length: int) -> int:
    """Padmé (Nikitin, Barman, Lueks, Underwood, Hubaux, Ford: "Reducing
    Metadata Leakage from Encrypted Files and Communication with PURBs",
    Proceedings on Privacy Enhancing Technologies (PETS) 2019, issue 4):
    rounds `length` up by clearing its low bits. With E = floor(log2 L) and
    S = floor(log2 E) + 1, the low E - S bits are rounded up, so a padded
    length leaks O(log log L) bits and costs at most about 12 % overhead."""
    if length < 1:
        raise ValueError(f"padme is defined for lengths of at least 1, not {length}")
    e = length.bit_length() - 1  # floor(log2 L)
    s = e.bit_length()  # floor(log2 E) + 1 (0 when E = 0, where there is nothing to clear)
    mask = (1 << max(e - s, 0)) - 1
    return (length + mask) & ~mask


def padded_length(content_length: int) -> int:
    """N = max(1024, padme(4 + len(content)))."""
    return max(MIN_PADDED, padme(4 + content_length))


def is_padded_length(n: int) -> bool:
    """Whether n is a size padded_length() can give: at least 1024 and a
    fixed point of padme (the hub's rule for the ciphertext, n + 16)."""
    return n >= MIN_PADDED and padme(n) == n


def pad(content: bytes) -> bytes:
    """be32(len(content)) || content || zero bytes, N bytes in all."""
    if len(content) > 0xFFFF_FFFF:
        raise ValueError("content too long for its 4-byte length prefix")
    n = padded_length(len(content))
    return len(content).to_bytes(4, "big") + content + bytes(n - 4 - len(content))


def unpad(plaintext: bytes) -> bytes:
    """The content of a padded plaintext, refusing (ValueError) any padding
    pad() would not have written: a length prefix beyond the plaintext, a
    total length that is not the padded size of that content, a non-zero
    fill byte."""
    n = len(plaintext)
    if n < 4:
        raise ValueError(f"the plaintext is {n} bytes, shorter than its length prefix")
    length = int.from_bytes(plaintext[:4], "big")
    if length > n - 4:
        raise ValueError(f"the length prefix says {length} bytes, the plaintext holds {n - 4} after it")
    if padded_length(length) != n:
        raise ValueError(f"{n} bytes is not the padded size of {length} bytes of content "
                         f"(that is {padded_length(length)})")
    # Any non-zero fill byte: OR all of them, so the check does not stop early.
    fill = plaintext[4 + length:]
    if int.from_bytes(fill, "big") != 0:
        raise ValueError(f"the {len(fill)} padding bytes are not all zero")
    return plaintext[4 : 4 + length]


def disclosure_commitment(opener: bytes, inner: bytes) -> bytes:
    """SHA-256("isthmus sealed-alert v1 disclosure" || 0x00 || opener || inner),
    inner being the exact encoded inner Envelope."""
    if len(opener) != KEY_LEN:
        raise ValueError(f"the opener is 32 bytes, not {len(opener)}")
    return hashlib.sha256(LABEL_DISCLOSURE + b"\x00" + opener + inner).digest()


def header_hash(header: bytes) -> bytes:
    """h = SHA-256 of the exact encoded SealedHeader bytes (SealedAlert.header)."""
    return hashlib.sha256(header).digest()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2) with SHA-256: PRK = HMAC-SHA256(salt, IKM)."""
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3) with SHA-256."""
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def derive_keys(k: bytes, h: bytes):
    """(content_key, key_commitment) from the content key K and h."""
    if len(k) != KEY_LEN:
        raise ValueError(f"K is 32 bytes, not {len(k)}")
    prk = hkdf_extract(salt=h, ikm=k)
    return hkdf_expand(prk, LABEL_CONTENT_KEY, KEY_LEN), hkdf_expand(prk, LABEL_KEY_COMMITMENT, KEY_LEN)


def encrypt_content(content_key: bytes, padded: bytes, h: bytes) -> bytes:
    """ChaCha20-Poly1305 with the 12-byte zero nonce and aad = h; the 16-byte
    tag is appended (len(padded) + 16 bytes)."""
    return ChaCha20Poly1305(content_key).encrypt(ZERO_NONCE, padded, h)


def hpke_info(h: bytes) -> bytes:
    """info = "isthmus sealed-alert v1" || 0x00 || h."""
    return LABEL_HPKE + b"\x00" + h


def stanza_aad(recipient: str, key_id: str) -> bytes:
    """aad = recipient || 0x00 || key_id, ASCII ("PA\\0" + 64 hex digits)."""
    return recipient.encode("ascii") + b"\x00" + key_id.encode("ascii")


def hpke_seal_base(public_key_raw: bytes, info: bytes, aad: bytes, plaintext: bytes, ephemeral=None):
    """RFC 9180 §6.1 single-shot SealBase(pkR, info, aad, pt) -> (enc, ct):
    SetupBaseS, then one Seal at sequence number 0. pyhpke 0.6.5's
    CipherSuite.seal() is not implemented (it raises NotImplementedError), so
    this does the two steps with its context API, which is what the RFC
    defines the single shot to be. `ephemeral` (a pyhpke KEMKeyPair) is for
    known-answer tests only."""
    pk = KEMKey.from_pyca_cryptography_key(X25519PublicKey.from_public_bytes(public_key_raw))
    enc, context = SUITE.create_sender_context(pk, info, eks=ephemeral)
    return enc, context.seal(plaintext, aad)


def hpke_open_base(enc: bytes, private_key: X25519PrivateKey, info: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    """RFC 9180 §6.1 single-shot OpenBase(enc, skR, info, aad, ct): SetupBaseR,
    then one Open at sequence number 0. Raises pyhpke's errors (OpenError) or
    ValueError (an invalid or low-order `enc`)."""
    sk = KEMKey.from_pyca_cryptography_key(private_key)
    return SUITE.create_recipient_context(enc, sk, info).open(ciphertext, aad)


def wrap_key(pb, k: bytes, recipient: str, public_key_raw: bytes, h: bytes):
    """One stanza: K wrapped to a reader's X25519 key with SealBase."""
    key_id = sealing_key_id(public_key_raw)
    enc, wrapped = hpke_seal_base(public_key_raw, hpke_info(h), stanza_aad(recipient, key_id), k)
    if (len(enc), len(wrapped)) != (ENC_LEN, WRAPPED_LEN):
        raise RuntimeError(f"HPKE gave a {len(enc)}-byte enc and {len(wrapped)} bytes for K, not 32 and 48")
    return pb.sealed.Stanza(recipient=recipient, key_id=key_id, enc=enc, wrapped_key=wrapped)


def header_from_alert(pb, alert):
    """A SealedHeader with the routing fields of `alert` (an isthmus.v1.Alert):
    id, publisher, created, tlp, recipients, handling, amends (without its
    reason). seal() fills in the suite and the disclosure commitment."""
    header = pb.sealed.SealedHeader(
        id=alert.id,
        publisher=alert.publisher,
        tlp=alert.tlp,
        recipients=list(alert.recipients),
        handling=list(alert.handling),
    )
    header.created.CopyFrom(alert.created)
    if alert.HasField("amends"):
        header.amends.CopyFrom(
            pb.sealed.SealedAmendment(
                id=alert.amends.id, kind=alert.amends.kind, widens_distribution=alert.amends.widens_distribution
            )
        )
    return header


# -- Sealing. -----------------------------------------------------------------


def seal_payload(pb, inner_envelope: bytes, header, readers, k: bytes = None, opener: bytes = None) -> bytes:
    """The encoded SealedAlert (the outer envelope's payload).

    header: a SealedHeader with the alert's routing fields (header_from_alert);
      a copy gets the suite and the disclosure commitment.
    readers: [(recipient id, raw 32-byte X25519 public key), ...], exactly
      the header's recipients and the publisher, each once (readers =
      recipients ∪ {publisher}): the caller picks each one's current roster
      key (roster_sealing_key).
    k, opener: random when None (fixed values are for tests only)."""
    wanted = set(header.recipients) | {header.publisher}
    ids = [r for r, _ in readers]
    if "ALL" in header.recipients:
        raise ValueError('a sealed alert names its recipients: "ALL" is refused')
    if len(ids) != len(set(ids)) or set(ids) != wanted:
        raise ValueError(f"readers {ids} must be the recipients {list(header.recipients)} "
                         f"and the publisher {header.publisher}, each once")
    opener = os.urandom(KEY_LEN) if opener is None else opener
    k = os.urandom(KEY_LEN) if k is None else k

    h_msg = pb.sealed.SealedHeader()
    h_msg.CopyFrom(header)
    h_msg.suite.CopyFrom(pb.sealed.Suite(kem=KEM_ID, kdf=KDF_ID, aead=AEAD_ID))
    h_msg.disclosure_commitment = disclosure_commitment(opener, inner_envelope)
    header_bytes = h_msg.SerializeToString()
    if len(header_bytes) > MAX_HEADER:
        raise ValueError(f"the encoded header is {len(header_bytes)} bytes, over {MAX_HEADER}")
    h = header_hash(header_bytes)

    content_key, key_commitment = derive_keys(k, h)
    content = pb.sealed.SealedContent(envelope=inner_envelope, opener=opener).SerializeToString()
    ciphertext = encrypt_content(content_key, pad(content), h)
    stanzas = [wrap_key(pb, k, recipient, public_key, h) for recipient, public_key in readers]
    return pb.sealed.SealedAlert(
        header=header_bytes, stanzas=stanzas, key_commitment=key_commitment, ciphertext=ciphertext
    ).SerializeToString()


def seal(pb, inner_envelope: bytes, header, readers, signing_key, signing_key_id: str = None):
    """Seals a signed alert: returns the outer isthmus.v1.Envelope (a message;
    .SerializeToString() gives its bytes), payload type
    application/vnd.isthmus.sealed-alert.v1+protobuf, signed over DSSE PAE
    with signing_key (the publisher's Ed25519 roster key, the one that signed
    inner_envelope). signing_key_id, when given, must be that key's id
    (lowercase hex SHA-256 of its raw public key). See seal_payload for
    header and readers (readers = recipients ∪ {publisher})."""
    if signing_key_id is not None:
        own = dsse.key_id(dsse.raw_public_key(signing_key.public_key()))
        if signing_key_id != own:
            raise ValueError(f"signing key id {signing_key_id} is not the key's own id {own}")
    payload = seal_payload(pb, inner_envelope, header, readers)
    envelope = dsse.seal(pb.ledger, payload, signing_key, SEALED_PAYLOAD_TYPE)
    size = envelope.ByteSize()
    if size > MAX_ENVELOPE:
        # Padding and one stanza per reader cost room: a large alert to many
        # recipients may not fit although its clear envelope would.
        raise ValueError(f"the sealed envelope is {size} bytes, over the hub's {MAX_ENVELOPE}")
    return envelope


# -- Opening. -----------------------------------------------------------------


def parse(pb, outer_payload: bytes):
    """(SealedAlert, SealedHeader) decoded from the outer envelope's payload,
    with the shape the hub checks: the suite, the lengths of both commitments,
    of every enc and wrapped_key, and of the ciphertext. SealedError(0)."""
    try:
        sealed = pb.sealed.SealedAlert.FromString(outer_payload)
        header = pb.sealed.SealedHeader.FromString(sealed.header)
    except DecodeError as e:
        raise SealedError(0, f"does not decode as a SealedAlert with a SealedHeader: {e}") from None
    if len(sealed.header) > MAX_HEADER:
        raise SealedError(0, f"the header is {len(sealed.header)} bytes, over {MAX_HEADER}")
    suite = (header.suite.kem, header.suite.kdf, header.suite.aead)
    if suite != (KEM_ID, KDF_ID, AEAD_ID):
        raise SealedError(0, f"suite (kem, kdf, aead) = {suite}, not ({KEM_ID}, {KDF_ID}, {AEAD_ID})")
    if len(header.disclosure_commitment) != KEY_LEN:
        raise SealedError(0, f"the disclosure commitment is {len(header.disclosure_commitment)} bytes, not 32")
    if len(sealed.key_commitment) != KEY_LEN:
        raise SealedError(0, f"the key commitment is {len(sealed.key_commitment)} bytes, not 32")
    for s in sealed.stanzas:
        if len(s.enc) != ENC_LEN or len(s.wrapped_key) != WRAPPED_LEN:
            raise SealedError(0, f"the stanza for {s.recipient!r} has a {len(s.enc)}-byte enc and a "
                                 f"{len(s.wrapped_key)}-byte wrapped key, not 32 and 48")
    if not is_padded_length(len(sealed.ciphertext) - TAG_LEN):
        raise SealedError(0, f"a {len(sealed.ciphertext)}-byte ciphertext is not a padded size plus the 16-byte tag")
    return sealed, header


def open_sealed(pb, outer_payload: bytes, me: str, private_keys):
    """Opens a sealed alert as reader `me` (a roster id) holding
    private_keys (X25519PrivateKey objects: the current one and any kept
    after a rotation). Checks 1-5 of docs/sealing.md, in order:

      1. a stanza addressed to `me` under a key id it holds;
      2. the stanza opens (HPKE) and gives a 32-byte K;
      3. K gives the header's key commitment;
      4. the ciphertext opens and its padding is well formed (zeros);
      5. the content decodes, the opener gives the header's disclosure
         commitment.

    Returns (inner envelope bytes, opener). Raises SealedError. Checks 6
    (verify_inner) and 7 (check_inner_matches_header) are the caller's, with
    the publisher's roster key; the outer signature too, before this."""
    sealed, header = parse(pb, outer_payload)
    h = header_hash(sealed.header)

    # 1. Our stanza, under a key we hold.
    held = {sealing_key_id(raw_x25519_public(sk)): sk for sk in private_keys}
    ours = [s for s in sealed.stanzas if s.recipient == me]
    if not ours:
        readers = ", ".join(s.recipient for s in sealed.stanzas)
        raise SealedError(1, f"no stanza is addressed to {me} (stanzas for: {readers or 'nobody'})")
    if len(ours) > 1:
        raise SealedError(1, f"{len(ours)} stanzas are addressed to {me}; a reader has exactly one")
    stanza = ours[0]
    private_key = held.get(stanza.key_id)
    if private_key is None:
        ids = ", ".join(i[:16] + "..." for i in held) or "none"
        raise SealedError(1, f"the stanza for {me} is under key id {stanza.key_id[:16]}..., "
                             f"not a key we hold (we hold {ids})")

    # 2. HPKE OpenBase gives K.
    try:
        k = hpke_open_base(stanza.enc, private_key, hpke_info(h), stanza_aad(me, stanza.key_id), stanza.wrapped_key)
    except (PyHPKEError, ValueError):
        raise SealedError(2, f"the stanza for {me} under key id {stanza.key_id[:16]}... does not open (HPKE)") from None
    if len(k) != KEY_LEN:
        raise SealedError(2, f"the stanza for {me} holds a {len(k)}-byte key, not 32")

    # 3. Key commitment: every reader who gets this far holds the same K.
    content_key, key_commitment = derive_keys(k, h)
    if not hmac.compare_digest(key_commitment, sealed.key_commitment):
        raise SealedError(3, f"the key in the stanza for {me} does not give the header's key commitment")

    # 4. The ciphertext and its padding.
    try:
        padded = ChaCha20Poly1305(content_key).decrypt(ZERO_NONCE, sealed.ciphertext, h)
    except InvalidTag:
        raise SealedError(4, "the ciphertext does not open (ChaCha20-Poly1305 tag mismatch)") from None
    try:
        content_bytes = unpad(padded)
    except ValueError as e:
        raise SealedError(4, f"bad padding: {e}") from None

    # 5. The content and the disclosure commitment.
    try:
        content = pb.sealed.SealedContent.FromString(content_bytes)
    except DecodeError as e:
        raise SealedError(5, f"the content does not decode as a SealedContent: {e}") from None
    if len(content.opener) != KEY_LEN:
        raise SealedError(5, f"the opener is {len(content.opener)} bytes, not 32")
    if not hmac.compare_digest(disclosure_commitment(content.opener, content.envelope), header.disclosure_commitment):
        raise SealedError(5, "the opener and the inner envelope do not give the header's disclosure commitment")
    return content.envelope, content.opener


def verify_inner(pb, inner_envelope: bytes, public_key_raw: bytes, publisher: str = None):
    """Check 6: the inner envelope is a signed alert under public_key_raw
    (the publisher's roster signing key valid at acceptance, which the caller
    looked up by the signature's keyid; see inner_keyid). Returns the decoded
    Alert. SealedError(6)."""
    try:
        env = pb.ledger.Envelope.FromString(inner_envelope)
    except DecodeError as e:
        raise SealedError(6, f"the inner envelope does not decode: {e}") from None
    if env.payload_type != dsse.ALERT_PAYLOAD_TYPE:
        raise SealedError(6, f"the inner payload_type is {env.payload_type!r}, not {dsse.ALERT_PAYLOAD_TYPE!r}")
    if len(env.signatures) != 1:
        raise SealedError(6, f"the inner envelope has {len(env.signatures)} signatures; an alert has exactly one")
    try:
        dsse.verify_signature(env, env.signatures[0], public_key_raw)
    except dsse.SignatureError as e:
        raise SealedError(6, f"inner signature: {e}") from None
    try:
        alert = pb.alert.Alert.FromString(env.payload)
    except DecodeError as e:
        raise SealedError(6, f"the inner payload does not decode as an Alert: {e}") from None
    if publisher is not None and alert.publisher != publisher:
        raise SealedError(6, f"the inner alert's publisher is {alert.publisher!r}, not {publisher!r}")
    return alert


def inner_keyid(pb, inner_envelope: bytes) -> str:
    """The keyid of the inner envelope's (first) signature, to look the
    publisher's roster key up before verify_inner."""
    try:
        env = pb.ledger.Envelope.FromString(inner_envelope)
    except DecodeError as e:
        raise SealedError(6, f"the inner envelope does not decode: {e}") from None
    if not env.signatures:
        raise SealedError(6, "the inner envelope has no signature")
    return env.signatures[0].keyid


def check_inner_matches_header(inner_alert, header) -> None:
    """Check 7: the clear header says what the inner alert says: same id,
    publisher, created (seconds and nanos), TLP, recipients (in any order),
    handling list (in order), and amendment id, kind and widens_distribution
    (both absent, or equal). SealedError(7) naming the first field that
    differs.

    This and verify_inner do not apply every rule of alert.proto to the inner
    alert (the Python client has no alert validator): they check what the
    recipient needs to trust it, its signature and its agreement with the
    header the hub routed by."""
    def amendment(m):
        return (m.amends.id, m.amends.kind, m.amends.widens_distribution) if m.HasField("amends") else None

    pairs = [
        ("id", inner_alert.id, header.id),
        ("publisher", inner_alert.publisher, header.publisher),
        ("created", (inner_alert.created.seconds, inner_alert.created.nanos),
         (header.created.seconds, header.created.nanos)),
        ("tlp", inner_alert.tlp, header.tlp),
        # In any order, but each as often: a duplicate is a difference (the
        # hub refuses duplicates in the header, and no valid alert has one).
        ("recipients", sorted(inner_alert.recipients), sorted(header.recipients)),
        ("handling", list(inner_alert.handling), list(header.handling)),
        ("amends", amendment(inner_alert), amendment(header)),
    ]
    for name, inner_value, header_value in pairs:
        if inner_value != header_value:
            raise SealedError(7, f"the header's {name} {header_value!r} is not the inner alert's {inner_value!r}")
