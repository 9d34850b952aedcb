"""The walkthrough, against a running hub: Colombia (CO) publishes a signed
alert to Panama (PA) and the United States (US); Panama reads the ledger
and checks everything it can without trusting the hub, then asks the hub
to describe itself by gRPC reflection. Last, CO publishes a sealed TLP:RED
alert (docs/sealing.md) that CO and PA open with their own sealing keys,
and checks that the hub refuses a clear one.

    python -m isthmus_client --server 127.0.0.1:50051

Exit codes: 0 every check passed; 1 a check failed (the hub served
something that does not verify); 2 the hub refused a call or could not be
reached, or a file could not be read. Every step prints what it proved.
"""

import argparse
import errno
import pathlib
import sys
import tempfile
import time

import grpc
from google.protobuf.message import DecodeError

from . import cosignature, dsse, merkle, note, protos, reflection, roster, sealed
from .alert import example_alert

PUBLISHER, READER, OUTSIDER = "CO", "PA", "BR"
RECIPIENTS = ("PA", "US")


class VerificationError(Exception):
    """Something the hub served is not what it should be."""


def check(ok, message):
    if not ok:
        raise VerificationError(message)


def say(step, message):
    print(f"[{step}] {message}", flush=True)


def channel_as(server, certs: pathlib.Path, who: str, tls_name, timeout):
    """A mutual-TLS channel as `who`: we check the hub's certificate against
    the federation CA, and the hub checks ours (certs-dev/<who>/client.pem)
    and maps its public key to a roster principal."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.pem").read_bytes(),
        private_key=(certs / who / "client.key.pem").read_bytes(),
        certificate_chain=(certs / who / "client.pem").read_bytes(),
    )
    # The server certificate names localhost, 127.0.0.1 and ::1; connecting
    # to another name (a tunnel, say) needs the name it was issued for.
    options = [("grpc.ssl_target_name_override", tls_name)] if tls_name else []
    channel = grpc.secure_channel(server, credentials, options)
    grpc.channel_ready_future(channel).result(timeout=timeout)
    return channel


def connect(pb, server, certs: pathlib.Path, who: str, tls_name, timeout):
    """The Isthmus API over a mutual-TLS channel as `who`."""
    return pb.service_grpc.IsthmusStub(channel_as(server, certs, who, tls_name, timeout))


def verify_alert(pb, submission, in_force, reader):
    """One stored alert, checked as its recipients can: the DSSE signature
    under the roster key it names, owned by the publisher, valid when the
    hub accepted it. Returns the decoded Alert, or for a sealed alert
    (docs/sealing.md) its clear SealedHeader: the outer signature covers the
    header, every stanza and every ciphertext byte; open_sealed_entry reads
    inside."""
    env = submission.envelope
    check(env.payload_type in (dsse.ALERT_PAYLOAD_TYPE, sealed.SEALED_PAYLOAD_TYPE),
          f"payload_type {env.payload_type!r}")
    check(len(env.signatures) == 1, f"{len(env.signatures)} signatures; an alert has exactly one")
    # Verify first, then read: the key must belong to the principal the hub
    # says sent the alert, and must have been valid when the hub took it.
    sig = env.signatures[0]
    _, key = in_force.key(sig.keyid, at=submission.accepted.seconds, owner=submission.principal)
    dsse.verify_signature(env, sig, key.public_key)
    if env.payload_type == sealed.SEALED_PAYLOAD_TYPE:
        _, alert = sealed.parse(pb, env.payload)
        check("ALL" not in alert.recipients, "a sealed alert addressed to ALL")
        check(sorted(alert.recipients) == list(submission.recipients),
              f"the sealed header names {list(alert.recipients)}, the hub routed it to {list(submission.recipients)}")
    else:
        alert = pb.alert.Alert.FromString(env.payload)
    check(
        alert.publisher == submission.principal,
        f"alert says publisher {alert.publisher}, the hub says {submission.principal} sent it",
    )
    check(
        reader == submission.principal or reader in submission.recipients,
        f"the hub sent {reader} an alert addressed to {list(submission.recipients)}",
    )
    return alert


def open_sealed_entry(pb, submission, in_force, reader, sealing_keys):
    """A sealed entry opened as `reader` with its sealing keys, every check
    of docs/sealing.md in order: the outer signature and the header
    (verify_alert), checks 1-5 (sealed.open_sealed), 6 (the inner signature
    under the publisher's roster key valid at acceptance) and 7 (the inner
    alert agrees with the header). Returns (inner alert, inner envelope
    bytes, opener)."""
    header = verify_alert(pb, submission, in_force, reader)
    check(submission.envelope.payload_type == sealed.SEALED_PAYLOAD_TYPE, "the entry is not sealed")
    inner, opener = sealed.open_sealed(pb, submission.envelope.payload, reader, sealing_keys)
    keyid = sealed.inner_keyid(pb, inner)
    _, key = in_force.key(keyid, at=submission.accepted.seconds, owner=submission.principal)
    alert = sealed.verify_inner(pb, inner, key.public_key, publisher=submission.principal)
    sealed.check_inner_matches_header(alert, header)
    return alert, inner, opener


def load_sealing_key(path: pathlib.Path):
    """certs-dev/CC/sealing.key.pem; a file that holds no X25519 key is a
    file problem (exit 2), like one that cannot be read."""
    try:
        return sealed.load_sealing_key(path)
    except ValueError as e:
        raise OSError(errno.EINVAL, "not an X25519 private key in PKCS#8 PEM", str(path)) from None


def run(args):
    certs = pathlib.Path(args.certs)
    T = args.timeout

    # The Python code for proto/isthmus/v1/*.proto, generated now, so that
    # it always matches the contract in this checkout.
    with tempfile.TemporaryDirectory(prefix="isthmus-pb-") as tmp:
        protos.generate(args.generated or tmp)
        pb = protos.load(args.generated or tmp)  # imported now, so the folder may go
    log_key = note.Verifier.parse(pathlib.Path(args.log_key or certs / "log.pub").read_text())

    # -- 1. Mutual TLS. ----------------------------------------------------
    co = connect(pb, args.server, certs, PUBLISHER, args.tls_name, T)
    me = co.WhoAmI(pb.service.WhoAmIRequest(), timeout=T)
    check(me.principal == PUBLISHER, f"the hub takes our certificate for {me.principal!r}")
    say(1, f"mutual TLS to {args.server}: the hub knows us as {me.principal} ({me.name}); "
           f"ledger size {me.ledger_size}")

    # A signed checkpoint from before we publish, to check later that the
    # log only grew (step 6).
    first = co.GetCheckpoint(pb.service.GetCheckpointRequest(min_size=1), timeout=T)
    before = note.verify_checkpoint(first.note, log_key)
    say(1, f"checkpoint before publishing: {before.origin} size {before.size}, signature valid")

    # -- 2 and 3. Sign and publish. ----------------------------------------
    signing_key = dsse.load_signing_key(certs / PUBLISHER / "signing.key.pem")
    published = []
    for _ in range(args.alerts):
        alert = example_alert(pb.alert, PUBLISHER, RECIPIENTS)
        # The exact bytes we sign are the bytes the hub stores and every
        # recipient verifies; nobody re-encodes them, so any encoder will do.
        envelope = dsse.seal(pb.ledger, alert.SerializeToString(), signing_key)
        receipt = co.Publish(envelope, timeout=T)
        check(not receipt.duplicate, "a fresh alert id came back as a duplicate")
        check(len(receipt.leaf_hash) == 32, "the receipt's leaf hash is not 32 bytes")
        check(receipt.tree_size >= receipt.index + 1, "the receipt's tree size does not cover its index")
        say(
            "2-3",
            f"published alert {alert.id} (DSSE, Ed25519 key {envelope.signatures[0].keyid[:16]}...): "
            f"index {receipt.index}, leaf hash {receipt.leaf_hash.hex()}",
        )
        published.append((alert, envelope, receipt))

    # -- 4. Panama replays the ledger and checks every signature. ----------
    pa = connect(pb, args.server, certs, READER, args.tls_name, T)
    size = pa.WhoAmI(pb.service.WhoAmIRequest(), timeout=T).ledger_size
    request = pb.service.SubscribeRequest(
        from_index=0,
        until_index=size,  # a bounded replay: the stream ends there
        filter=pb.service.SubscribeFilter(include_roster=True),
    )
    in_force, seen, rosters, alerts, last, clock = None, {}, [], 0, -1, 0
    for item in pa.Subscribe(request, timeout=max(T, 60)):
        check(item.index > last, f"entry {item.index} after {last}: out of order")
        last = item.index
        entry = pb.ledger.Entry.FromString(item.entry)
        kind = entry.WhichOneof("body")
        # The hub's acceptance times never go back along the ledger.
        accepted = {"roster_entry": lambda: entry.roster_entry.accepted.seconds,
                    "submission": lambda: entry.submission.accepted.seconds}.get(kind, lambda: None)()
        if accepted is not None:
            check(accepted >= clock, f"entry {item.index} accepted at {accepted}, before an entry ahead of it")
            clock = accepted
        if kind in ("roster", "roster_entry"):
            # "roster": as written before the hub recorded acceptance times.
            envelope = entry.roster if kind == "roster" else entry.roster_entry.roster
            check((item.index == 0) == (in_force is None), f"roster entry {item.index}: the genesis is entry 0")
            in_force = roster.open_roster(pb.ledger, envelope, in_force, accepted)
            rosters.append(item.index)
            if item.index == 0:
                genesis = roster.genesis_hash(envelope)
                if args.genesis:
                    check(genesis == args.genesis.lower(), f"genesis roster {genesis} is not the pinned {args.genesis}")
                say(4, f"#0 genesis roster v{in_force.version}: quorum {in_force.quorum}, approvals valid; "
                       f"sha256 {genesis}")
            else:
                say(4, f"#{item.index} roster v{in_force.version} replaces the one in force, approvals valid")
        elif kind == "submission":
            check(in_force is not None, f"alert {item.index} before the genesis roster")
            verify_alert(pb, entry.submission, in_force, READER)
            alerts += 1
        else:
            raise VerificationError(f"entry {item.index} is neither a roster nor a submission")
        seen[item.index] = item.entry
    check(0 in seen, "the replay did not start with the genesis roster")
    say(4, f"replayed {len(seen)} entries below {size} as {READER}: {len(rosters)} roster(s), "
           f"{alerts} alert signature(s) valid under the roster in force")
    for alert, envelope, receipt in published:
        check(receipt.index in seen, f"our alert {alert.id} (index {receipt.index}) did not reach {READER}")
        stored = pb.ledger.Entry.FromString(seen[receipt.index]).submission.envelope
        check(stored == envelope, f"entry {receipt.index} does not hold the envelope we sent, byte for byte")
        check(merkle.leaf_hash(seen[receipt.index]) == receipt.leaf_hash, "the receipt's leaf hash is not the entry's")
    say(4, f"all {len(published)} published alert(s) arrived at {READER} exactly as signed")

    # An alert can also be fetched by (publisher, id), its idempotency key.
    alert, _, receipt = published[0]
    key = pb.service.AlertKey(publisher=PUBLISHER, id=alert.id)
    by_key = pa.GetEntry(pb.service.GetEntryRequest(alert=key), timeout=T)
    check(by_key.index == receipt.index and by_key.entry == seen[receipt.index], "GetEntry by id finds another entry")
    say(4, f"GetEntry({PUBLISHER}, {alert.id}) finds entry {receipt.index}")

    # Brazil is not a recipient: to it our entry looks like one that does
    # not exist.
    br = connect(pb, args.server, certs, OUTSIDER, args.tls_name, T)
    try:
        br.GetEntry(pb.service.GetEntryRequest(index=receipt.index), timeout=T)
        raise VerificationError(f"{OUTSIDER}, not a recipient, could read entry {receipt.index}")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, f"{OUTSIDER} got {e.code().name}, not NOT_FOUND")
    say(4, f"{OUTSIDER}, not a recipient, gets NOT_FOUND for entry {receipt.index}")

    # -- 5. The latest signed checkpoint. ----------------------------------
    newest = max(receipt.index for _, _, receipt in published)
    response = pa.GetCheckpoint(pb.service.GetCheckpointRequest(min_size=newest + 1), timeout=T)
    checkpoint = note.verify_checkpoint(response.note, log_key)
    check(checkpoint.size == response.size, "the checkpoint response's size is not the note's")
    check(checkpoint.size > newest, "the checkpoint does not cover our entries")
    say(5, f"checkpoint {checkpoint.origin} size {checkpoint.size} root {checkpoint.root.hex()[:16]}...: "
           f"signed by the log key {log_key.name}+{log_key.key_id.hex()}")
    if args.witness_key:
        # A witnessed checkpoint: the witness's cosignature/v1 line must
        # verify, by this module's own reading of C2SP tlog-cosignature.
        witness = cosignature.CosignatureVerifier.parse(args.witness_key)
        request = pb.service.GetCheckpointRequest(min_size=newest + 1, witnessed=True)
        witnessed = pa.GetCheckpoint(request, timeout=max(T, 25))
        body = note.open_note(witnessed.note, log_key)
        stamps = [t for t in (witness.verify_line(body, l + "\n") for l in witnessed.note.split("\n")) if t]
        check(stamps, f"the witnessed checkpoint has no valid cosignature by {witness.name}")
        check(witnessed.witnessed_size == witnessed.size, "a witnessed answer's witnessed_size is not its size")
        say(5, f"checkpoint of size {witnessed.size} cosigned by the witness {witness.name} at {stamps[0]}")

    # -- 6. Inclusion and consistency proofs. ------------------------------
    for index in rosters + [receipt.index for _, _, receipt in published]:
        got = pa.GetEntry(pb.service.GetEntryRequest(index=index), timeout=T)
        check(got.index == index and got.entry == seen[index], f"GetEntry({index}) differs from the replay")
        leaf = merkle.leaf_hash(got.entry)  # computed here, not taken from the hub
        request = pb.service.InclusionProofRequest(index=index, tree_size=checkpoint.size)
        proof = pa.GetInclusionProof(request, timeout=T)
        check(proof.index == index and proof.tree_size == checkpoint.size, "the proof is for another entry or size")
        merkle.verify_inclusion(leaf, index, checkpoint.size, list(proof.hashes), checkpoint.root)
        say(6, f"entry {index} is in the signed tree of size {checkpoint.size} "
               f"(audit path of {len(proof.hashes)} hashes)")
    consistency = pa.GetConsistencyProof(
        pb.service.ConsistencyProofRequest(old_size=before.size, new_size=checkpoint.size), timeout=T
    )
    merkle.verify_consistency(before.size, checkpoint.size, list(consistency.hashes), before.root, checkpoint.root)
    say(6, f"the tree of size {checkpoint.size} extends the earlier one of size {before.size} unchanged "
           f"(consistency proof of {len(consistency.hashes)} hashes)")

    # -- 7. Server reflection, as grpcurl would ask. -----------------------
    services, methods = reflection.describe(channel_as(args.server, certs, READER, args.tls_name, T))
    for want in ("isthmus.v1.Isthmus", "grpc.health.v1.Health"):
        check(want in services, f"reflection does not list {want}: {services}")
    check("Publish" in methods and "Subscribe" in methods, f"isthmus.v1.Isthmus resolves to methods {methods}")
    say(7, f"reflection lists {len(services)} services; isthmus.v1.Isthmus has {', '.join(methods)}")

    # -- 8. A sealed TLP:RED alert, and a clear one refused. ---------------
    # The readers are the recipients and CO itself, each under its current
    # sealing key in the roster in force (the one replayed and checked in
    # step 4), so that the hub cannot slip in a key of its own.
    now = int(time.time())
    readers = []
    for cc in RECIPIENTS + (PUBLISHER,):
        try:
            readers.append((cc, sealed.roster_sealing_key(in_force.pb, cc, now)))
        except LookupError as e:
            raise VerificationError(f"{e} ([[principal.sealing_key]] in the roster, docs/sealing.md)") from None
    red = example_alert(pb.alert, PUBLISHER, RECIPIENTS)
    red.tlp = pb.alert.TLP_RED
    red.title = "TLP:RED: " + red.title[:180]
    inner = dsse.seal(pb.ledger, red.SerializeToString(), signing_key).SerializeToString()
    outer = sealed.seal(pb, inner, sealed.header_from_alert(pb, red), readers, signing_key)
    receipt = co.Publish(outer, timeout=T)
    check(not receipt.duplicate, "a fresh sealed alert id came back as a duplicate")
    check(len(receipt.leaf_hash) == 32, "the receipt's leaf hash is not 32 bytes")
    check(receipt.tree_size >= receipt.index + 1, "the receipt's tree size does not cover its index")
    stanzas = len(pb.sealed.SealedAlert.FromString(outer.payload).stanzas)
    say(8, f"published sealed TLP:RED alert {red.id} to {', '.join(RECIPIENTS)} ({stanzas} stanzas, "
           f"{len(outer.payload)}-byte SealedAlert): index {receipt.index}, leaf hash {receipt.leaf_hash.hex()}")
    # Fetched back and opened by the publisher (its own stanza) and by a
    # recipient, each with its own delegation's sealing key.
    for who, stub in ((PUBLISHER, co), (READER, pa)):
        got = stub.GetEntry(pb.service.GetEntryRequest(index=receipt.index), timeout=T)
        check(got.index == receipt.index, f"GetEntry({receipt.index}) answered entry {got.index}")
        check(merkle.leaf_hash(got.entry) == receipt.leaf_hash, "the receipt's leaf hash is not the entry's")
        submission = pb.ledger.Entry.FromString(got.entry).submission
        check(submission.envelope == outer, f"entry {receipt.index} does not hold the sealed envelope we sent")
        key = load_sealing_key(certs / who / "sealing.key.pem")
        try:
            alert, got_inner, opener = open_sealed_entry(pb, submission, in_force, who, [key])
        except sealed.SealedError as e:
            raise VerificationError(f"entry {receipt.index} as {who}: {e}") from None
        check(got_inner == inner and alert == red, f"{who} opened entry {receipt.index} to another alert")
        say(8, f"{who} opened entry {receipt.index} with {who}/sealing.key.pem: key and disclosure commitments, "
               f"padding, inner signature and header all check (opener {opener.hex()[:16]}...)")
    # In the signed tree like any entry, and consistent with step 5's tree.
    response = pa.GetCheckpoint(pb.service.GetCheckpointRequest(min_size=receipt.index + 1), timeout=T)
    latest = note.verify_checkpoint(response.note, log_key)
    check(latest.size > receipt.index, "the checkpoint does not cover the sealed entry")
    request = pb.service.InclusionProofRequest(index=receipt.index, tree_size=latest.size)
    proof = pa.GetInclusionProof(request, timeout=T)
    merkle.verify_inclusion(receipt.leaf_hash, receipt.index, latest.size, list(proof.hashes), latest.root)
    consistency = pa.GetConsistencyProof(
        pb.service.ConsistencyProofRequest(old_size=checkpoint.size, new_size=latest.size), timeout=T
    )
    merkle.verify_consistency(checkpoint.size, latest.size, list(consistency.hashes), checkpoint.root, latest.root)
    say(8, f"sealed entry {receipt.index} is in the signed tree of size {latest.size}, which extends "
           f"the tree of size {checkpoint.size} unchanged")
    try:
        br.GetEntry(pb.service.GetEntryRequest(index=receipt.index), timeout=T)
        raise VerificationError(f"{OUTSIDER}, not a recipient, could fetch sealed entry {receipt.index}")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, f"{OUTSIDER} got {e.code().name}, not NOT_FOUND")
    say(8, f"{OUTSIDER}, not a recipient, gets NOT_FOUND for sealed entry {receipt.index}")
    clear = example_alert(pb.alert, PUBLISHER, RECIPIENTS)
    clear.tlp = pb.alert.TLP_RED
    try:
        co.Publish(dsse.seal(pb.ledger, clear.SerializeToString(), signing_key), timeout=T)
        raise VerificationError(f"the hub accepted a clear (unsealed) TLP:RED alert, {clear.id}")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
              f"a clear TLP:RED alert got {e.code().name} ({e.details()}), not INVALID_ARGUMENT")
        say(8, f"a clear TLP:RED alert is refused: INVALID_ARGUMENT: {e.details()}")
    print("OK: every check passed")


def main(argv=None):
    repo = protos.REPO_ROOT
    p = argparse.ArgumentParser(prog="isthmus_client", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="127.0.0.1:50051", help="hub address (default 127.0.0.1:50051)")
    p.add_argument("--certs", default=str(repo / "certs-dev"), help="folder laid out like certs-dev/")
    p.add_argument("--log-key", help="the log's verifier key file (default: CERTS/log.pub)")
    p.add_argument("--genesis", help="pinned hex SHA-256 of the genesis roster payload")
    p.add_argument("--alerts", type=int, default=1, help="how many alerts CO publishes (default 1)")
    p.add_argument("--generated", help="where to generate the protobuf code (default: a temp folder)")
    p.add_argument("--tls-name", help="expected server certificate name, when it is not the --server host")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds per call (default 15)")
    p.add_argument("--witness-key", help="a witness's cosignature/v1 verifier key: also require a "
                                         "checkpoint it cosigned")
    args = p.parse_args(argv)
    if args.alerts < 1:
        p.error("--alerts must be at least 1")
    try:
        run(args)
    except (VerificationError, dsse.SignatureError, note.NoteError, merkle.ProofError, roster.RosterError,
            sealed.SealedError, DecodeError) as e:
        print(f"VERIFICATION FAILED: {e}", file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print(f"the hub refused: {e.code().name}: {e.details()}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    except grpc.FutureTimeoutError:
        print(f"could not connect to {args.server} within {args.timeout} s", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
