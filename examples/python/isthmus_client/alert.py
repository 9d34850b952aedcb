"""The example alert: examples/alert.toml (CO to PA and US, TLP:AMBER, the
Darién route) built as an isthmus.v1.Alert.

Fields the hub requires (src/alert.rs): id (1..=64 of [A-Za-z0-9._-]),
publisher (the caller's own code), created (not before 2020, at most 5
minutes ahead of the hub's clock), language (BCP 47), tlp (not
UNSPECIFIED), recipients (non-empty, roster members, or exactly ["ALL"]),
category, evaluation (both parts), title (1..=200 characters). Everything
else is optional. The content is fictitious.
"""

import time
import uuid

from google.protobuf.timestamp_pb2 import Timestamp

DAY = 86_400


def _ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


def example_alert(pb_alert, publisher="CO", recipients=("PA", "US")):
    """A fresh alert (new UUID, created now) from pb_alert (alert_pb2)."""
    a = pb_alert
    now_ns = time.time_ns()
    now = now_ns // 1_000_000_000
    return a.Alert(
        # The idempotency key: keep it to retry a publish safely.
        id=str(uuid.uuid4()),
        publisher=publisher,
        created=_ts(now, now_ns % 1_000_000_000),
        language="es-CO",
        tlp=a.TLP_AMBER,
        recipients=list(recipients),
        handling=[a.HANDLING_NO_ONWARD_SHARING, a.HANDLING_NO_COURT_USE],
        evaluation=a.Evaluation(
            source_reliability=a.SOURCE_RELIABILITY_B,
            information_credibility=a.INFORMATION_CREDIBILITY_2,
        ),
        category=a.CATEGORY_MIGRANT_SMUGGLING,
        title="Red 'Los Coyotes del Golfo' moviliza grupos por el Darién vía Necoclí y Acandí",
        summary=(
            "Información de fuente humana, corroborada parcialmente por interceptaciones, indica que "
            "la red 'Los Coyotes del Golfo' organiza salidas nocturnas en lancha desde Necoclí hacia "
            "Acandí y Capurganá, con guías que cruzan la frontera por Cañas Blancas hasta Bajo "
            "Chiquito (Darién, Panamá)."
        ),
        network=a.Network(
            name="Los Coyotes del Golfo",
            aliases=["Los del Golfo", "La Ruta Acandí"],
            description="Captadores en Necoclí, lancheros, y guías de trocha en la frontera.",
        ),
        subjects=[
            a.Subject(
                name="alias 'El Baquiano'",
                kind=a.SUBJECT_KIND_PERSON,
                role=a.SUBJECT_ROLE_GUIDE,
                nationality="CO",
            ),
            a.Subject(
                name="alias 'La Contadora'",
                kind=a.SUBJECT_KIND_PERSON,
                role=a.SUBJECT_ROLE_FINANCIER,
                nationality="PA",
            ),
        ],
        identifiers=[
            a.Identifier(kind=a.IDENTIFIER_KIND_PHONE, value="+57 300 555 0147", country="CO"),
            a.Identifier(kind=a.IDENTIFIER_KIND_CRYPTO_WALLET, value="TQ9xExampleWallet0000000000000000000"),
        ],
        locations=[
            a.Location(name="Necoclí", country="CO", latitude=8.4265, longitude=-76.7839, role=a.LOCATION_ROLE_ORIGIN),
            a.Location(
                name="Bajo Chiquito",
                country="PA",
                latitude=8.3180,
                longitude=-77.6460,
                role=a.LOCATION_ROLE_DESTINATION,
                sequence=1,
            ),
        ],
        # Current for the next 90 days.
        validity=a.Validity(not_before=_ts(now), not_after=_ts(now + 90 * DAY)),
    )
