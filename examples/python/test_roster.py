"""The roster rule (roster.py) on small rosters made here: versions count up,
issue times grow, a quorum of the roster in force approves, keys are valid
at the issue time. No hub needed:

    cd examples/python && python -m unittest -v test_roster
"""

import tempfile
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.timestamp_pb2 import Timestamp

from isthmus_client import dsse, protos, roster

T0 = 1_790_000_000  # the genesis roster's issue time
YEAR = 365 * 86_400


class RosterRule(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._generated = tempfile.TemporaryDirectory()
        protos.generate(cls._generated.name)
        cls.pb = protos.load(cls._generated.name).ledger
        cls.keys = {cc: Ed25519PrivateKey.generate() for cc in ("CO", "PA", "US")}

    @classmethod
    def tearDownClass(cls):
        cls._generated.cleanup()

    def roster_pb(self, version, issued, quorum=2, keys=None):
        pb = self.pb
        keys = keys or self.keys
        principals = [
            pb.Principal(
                id=cc,
                role=pb.ROLE_DELEGATION,
                signing_keys=[
                    pb.SigningKey(
                        public_key=dsse.raw_public_key(k.public_key()),
                        not_before=Timestamp(seconds=T0 - YEAR),
                        not_after=Timestamp(seconds=T0 + YEAR),
                    )
                ],
            )
            for cc, k in keys.items()
        ]
        principals.append(self.pb.Principal(id="AUDITOR", role=pb.ROLE_AUDITOR))
        return pb.Roster(principals=principals, version=version, quorum=quorum, issued=Timestamp(seconds=issued))

    def envelope(self, r, approvers):
        """The roster entry: the encoded roster, approved by `approvers`."""
        payload = r.SerializeToString()
        env = self.pb.Envelope(payload=payload, payload_type=dsse.ROSTER_PAYLOAD_TYPE)
        for cc in approvers:
            env.signatures.append(dsse.seal(self.pb, payload, self.keys[cc], dsse.ROSTER_PAYLOAD_TYPE).signatures[0])
        return env

    def test_genesis_and_a_change(self):
        genesis = roster.open_roster(self.pb, self.envelope(self.roster_pb(1, T0), ["CO", "PA"]), None)
        self.assertEqual((genesis.version, genesis.quorum), (1, 2))
        v2 = roster.open_roster(self.pb, self.envelope(self.roster_pb(2, T0 + 10), ["PA", "US"]), genesis)
        self.assertEqual(v2.version, 2)
        owner, _ = v2.key(dsse.key_id(dsse.raw_public_key(self.keys["US"].public_key())), at=T0, owner="US")
        self.assertEqual(owner.id, "US")

    def test_refusals(self):
        genesis = roster.open_roster(self.pb, self.envelope(self.roster_pb(1, T0), ["CO", "PA"]), None)
        refused = {
            "too few approvals": (self.envelope(self.roster_pb(2, T0 + 10), ["CO"]), genesis),
            "one delegation twice": (self.envelope(self.roster_pb(2, T0 + 10), ["CO", "CO"]), genesis),
            "version skipped": (self.envelope(self.roster_pb(3, T0 + 10), ["CO", "PA"]), genesis),
            "old roster replayed": (self.envelope(self.roster_pb(1, T0), ["CO", "PA"]), genesis),
            "not issued later": (self.envelope(self.roster_pb(2, T0), ["CO", "PA"]), genesis),
            "key not valid at issue time": (self.envelope(self.roster_pb(2, T0 + 2 * YEAR), ["CO", "PA"]), genesis),
            "genesis must be version 1": (self.envelope(self.roster_pb(2, T0), ["CO", "PA"]), None),
        }
        outsider = self.envelope(self.roster_pb(2, T0 + 10), ["CO"])
        outsider.signatures.append(
            dsse.seal(self.pb, outsider.payload, Ed25519PrivateKey.generate(), dsse.ROSTER_PAYLOAD_TYPE).signatures[0]
        )
        refused["approval by a key outside the roster"] = (outsider, genesis)
        forged = self.envelope(self.roster_pb(2, T0 + 10), ["CO", "PA"])
        forged.signatures[1].sig = bytes(64)
        refused["an approval that does not verify"] = (forged, genesis)
        alert_typed = self.envelope(self.roster_pb(2, T0 + 10), ["CO", "PA"])
        alert_typed.payload_type = dsse.ALERT_PAYLOAD_TYPE
        refused["an alert payload type"] = (alert_typed, genesis)
        for why, (env, in_force) in refused.items():
            with self.subTest(why):
                self.assertRaises(roster.RosterError, roster.open_roster, self.pb, env, in_force)

    def test_alert_keys_are_checked_for_owner_and_time(self):
        genesis = roster.open_roster(self.pb, self.envelope(self.roster_pb(1, T0), ["CO", "PA"]), None)
        kid = dsse.key_id(dsse.raw_public_key(self.keys["CO"].public_key()))
        genesis.key(kid, at=T0, owner="CO")
        self.assertRaises(roster.RosterError, genesis.key, kid, T0, "PA")
        self.assertRaises(roster.RosterError, genesis.key, kid, T0 + YEAR, "CO")  # not_after is exclusive
        self.assertRaises(roster.RosterError, genesis.key, "00" * 32, T0, "CO")


if __name__ == "__main__":
    unittest.main()
