"""The roster in force: who may sign, with which keys, and when.

Entry 0 of the ledger is the genesis roster; every later roster entry
replaces the one before it. Each is a DSSE envelope (dsse.py) whose payload
is an encoded isthmus.v1.Roster and whose signatures are approvals by
delegations. This module applies the federation's rule (docs/ledger.md):

- the version is exactly one more than the roster in force (1 for the
  genesis roster), and it was issued later;
- at least `quorum` distinct delegations of the roster in force (of the
  roster itself, for the genesis) approved it, each with a key valid at the
  new roster's `issued` time, and every approval present verifies.

The genesis roster can only approve itself, so pin the SHA-256 of its
payload (--genesis) after you obtained it out of band.
"""

import hashlib

from . import dsse


class RosterError(Exception):
    """A roster entry that breaks the rule, or an alert key it does not know."""


ROLE_DELEGATION = 1  # isthmus.v1.Role.ROLE_DELEGATION


class Roster:
    def __init__(self, pb_roster):
        self.pb = pb_roster
        self.version = pb_roster.version
        self.quorum = pb_roster.quorum
        self.issued = pb_roster.issued.seconds
        # keyid -> (principal, signing key). A keyid must name one key.
        self.keys = {}
        for principal in pb_roster.principals:
            for key in principal.signing_keys:
                kid = dsse.key_id(key.public_key)
                if kid in self.keys:
                    raise RosterError(f"key {kid[:16]}... appears twice in roster version {self.version}")
                self.keys[kid] = (principal, key)

    def key(self, keyid: str, at: int, owner: str = None):
        """The roster key named by keyid, checked to be owned by `owner`
        (when given) and valid at Unix time `at`: not_before <= at < not_after."""
        found = self.keys.get(keyid)
        if found is None:
            raise RosterError(f"key {keyid[:16]}... is not in roster version {self.version}")
        principal, key = found
        if owner is not None and principal.id != owner:
            raise RosterError(f"key {keyid[:16]}... belongs to {principal.id}, not {owner}")
        if not (key.not_before.seconds <= at < key.not_after.seconds):
            raise RosterError(f"key {keyid[:16]}... of {principal.id} is not valid at {at}")
        return principal, key


def genesis_hash(envelope) -> str:
    """What auditors pin: hex SHA-256 of the genesis roster's payload."""
    return hashlib.sha256(envelope.payload).hexdigest()


MAX_ROSTER_AGE = 30 * 24 * 3600  # seconds between a roster's issue and its acceptance


def open_roster(pb_ledger, envelope, in_force, accepted=None):
    """Checks a roster entry against the roster in force (None before the
    genesis) and returns the new Roster. `accepted` is the hub's recorded
    acceptance time (None for rosters written before it was recorded):
    the roster was issued by then and at most 30 days before, and every
    approving key was valid then too. Raises RosterError."""
    if envelope.payload_type != dsse.ROSTER_PAYLOAD_TYPE:
        raise RosterError(f"payload_type {envelope.payload_type!r} is not {dsse.ROSTER_PAYLOAD_TYPE!r}")
    new = Roster(pb_ledger.Roster.FromString(envelope.payload))
    previous_version = in_force.version if in_force else 0
    if new.version != previous_version + 1:
        raise RosterError(f"roster version {new.version} cannot follow version {previous_version}")
    if in_force and new.issued <= in_force.issued:
        raise RosterError(f"roster version {new.version} is not issued later than the roster in force")
    if accepted is not None and not 0 <= accepted - new.issued <= MAX_ROSTER_AGE:
        raise RosterError(f"roster version {new.version} accepted at {accepted}, not within 30 days after its issue")
    authority = in_force or new
    approvers = set()
    for sig in envelope.signatures:
        principal, key = authority.key(sig.keyid, at=new.issued)
        if accepted is not None:
            authority.key(sig.keyid, at=accepted)  # valid when accepted as well
        if principal.role != ROLE_DELEGATION:
            raise RosterError(f"{principal.id} is not a delegation and cannot approve rosters")
        try:
            dsse.verify_signature(envelope, sig, key.public_key)
        except dsse.SignatureError as e:
            raise RosterError(f"approval by {principal.id}: {e}") from None
        approvers.add(principal.id)
    if len(approvers) < max(authority.quorum, 1):
        raise RosterError(
            f"roster version {new.version} has {len(approvers)} approvals; it needs {authority.quorum}"
        )
    return new
