"""Writes tests/vectors/sealed/python-made.json: a sealed alert made
entirely by the Python reference client (isthmus_client/sealed.py, pyhpke
and cryptography), for the Rust side to open. No hub needed:

    cd examples/python && python make_sealed_vector.py [--force] [--out FILE]

The keys are fixed test keys, derived from their names, so they can be made
again: each reader's X25519 private key is SHA-256("isthmus test vector
sealing key CC") and the publisher's Ed25519 seed is SHA-256("isthmus test
vector signing key CO"). The content key K, the opener and the HPKE
ephemeral keys are random, so each run writes a different (equally valid)
file: the committed one was written once, and --force is needed to replace
it. Public test keys: never use them for anything real.
"""

import argparse
import base64
import hashlib
import importlib.metadata
import json
import pathlib
import platform
import sys
import tempfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from google.protobuf.timestamp_pb2 import Timestamp

from isthmus_client import dsse, protos, sealed

REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "vectors" / "sealed" / "python-made.json"
PUBLISHER = "CO"
RECIPIENTS = ("PA", "US")
READERS = ("CO", "PA", "US")  # the recipients and the publisher
CREATED = 1_795_521_600  # 2026-11-24T12:00:00Z


def fixed_sealing_key(cc: str) -> X25519PrivateKey:
    """The fixed X25519 test key of reader cc."""
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(f"isthmus test vector sealing key {cc}".encode()).digest())


def fixed_signing_key(cc: str = PUBLISHER) -> Ed25519PrivateKey:
    """The fixed Ed25519 test signing key of publisher cc."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"isthmus test vector signing key {cc}".encode()).digest())


def vector_alert(pb_alert):
    """The inner alert: a valid TLP:RED alert from CO to PA and US."""
    a = pb_alert
    return a.Alert(
        id="py-sealed-1",
        publisher=PUBLISHER,
        created=Timestamp(seconds=CREATED, nanos=0),
        language="es",
        tlp=a.TLP_RED,
        recipients=list(RECIPIENTS),
        handling=[a.HANDLING_NO_ONWARD_SHARING, a.HANDLING_NO_COURT_USE],
        evaluation=a.Evaluation(
            source_reliability=a.SOURCE_RELIABILITY_A,
            information_credibility=a.INFORMATION_CREDIBILITY_1,
        ),
        category=a.CATEGORY_MIGRANT_SMUGGLING,
        title="Vector de prueba: alerta sellada TLP:RED hecha en Python",
        summary="Contenido ficticio para pruebas de interoperabilidad entre implementaciones.",
        identifiers=[a.Identifier(kind=a.IDENTIFIER_KIND_PHONE, value="+57 300 555 0101")],
    )


def versions() -> str:
    v = importlib.metadata.version
    return (f"pyhpke {v('pyhpke')}, cryptography {v('cryptography')}, protobuf {v('protobuf')}, "
            f"{platform.python_implementation()} {platform.python_version()}")


def build(pb) -> dict:
    """The vector as a JSON-ready dict."""
    signing_key = fixed_signing_key()
    alert = vector_alert(pb.alert)
    inner = dsse.seal(pb.ledger, alert.SerializeToString(), signing_key).SerializeToString()
    keys = {cc: fixed_sealing_key(cc) for cc in READERS}
    readers = [(cc, sealed.raw_x25519_public(keys[cc])) for cc in READERS]
    outer = sealed.seal(pb, inner, sealed.header_from_alert(pb, alert), readers, signing_key)
    outer_bytes = outer.SerializeToString()
    # Open it once here, as the publisher, to record the opener.
    got, opener = sealed.open_sealed(pb, outer.payload, PUBLISHER, [keys[PUBLISHER]])
    assert got == inner
    return {
        "description": (
            "A sealed TLP:RED alert (docs/sealing.md) made entirely by the Python reference client: "
            "examples/python/make_sealed_vector.py with isthmus_client/sealed.py, "
            f"{versions()}. Fixed public test keys: X25519 private key of reader CC = "
            "SHA-256(\"isthmus test vector sealing key CC\"), Ed25519 seed of the publisher = "
            "SHA-256(\"isthmus test vector signing key CO\"); K, the opener and the HPKE ephemeral "
            "keys were random. Readers are the recipients PA and US and the publisher CO. "
            "Every reader must open it and get inner_envelope_b64 and opener_hex."
        ),
        "publisher": PUBLISHER,
        "publisher_signing_public_key_hex": dsse.raw_public_key(signing_key.public_key()).hex(),
        "readers": [
            {
                "id": cc,
                "private_key_hex": keys[cc].private_bytes_raw().hex(),
                "public_key_hex": public.hex(),
                "key_id": sealed.sealing_key_id(public),
            }
            for cc, public in readers
        ],
        "outer_envelope_b64": base64.b64encode(outer_bytes).decode(),
        "inner_envelope_b64": base64.b64encode(inner).decode(),
        "opener_hex": opener.hex(),
        "alert": {
            "id": alert.id,
            "publisher": alert.publisher,
            "created": "2026-11-24T12:00:00Z",
            "language": alert.language,
            "tlp": "RED",
            "recipients": list(alert.recipients),
            "handling": ["no_onward_sharing", "no_court_use"],
            "evaluation": {"source_reliability": "A", "information_credibility": 1},
            "category": "migrant_smuggling",
            "title": alert.title,
            "summary": alert.summary,
            "identifiers": [{"kind": "phone", "value": alert.identifiers[0].value}],
        },
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(OUT), help="where to write (default tests/vectors/sealed/python-made.json)")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    args = p.parse_args(argv)
    out = pathlib.Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} exists; it is committed once. Pass --force to replace it.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="isthmus-pb-") as tmp:
        protos.generate(tmp)
        pb = protos.load(tmp)
        vector = build(pb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
