"""A minimal C2SP tlog-witness (c2sp.org/tlog-witness), written from the
spec text in Python, so the hub's witness client is tested against
someone else's witness, byte for byte. For interoperability tests only:
its state is in memory, so a restart forgets what it cosigned (a real
witness, like `isthmus witness serve`, stores it durably first).

    python -m isthmus_client.witness --log-key certs-dev/log.pub --listen 127.0.0.1:0

prints `vkey <witness verifier key>` and `listening on HOST:PORT`, then
serves POST /add-checkpoint until interrupted. A request body is

    old <size>\\n
    <up to 63 base64 consistency-proof hashes, one per line>
    \\n
    <the signed checkpoint note>

and the answers are 400 malformed or old > size, 404 unknown origin, 403
no valid log signature, 409 (body `<size>\\n`) when `old` is not the size
last cosigned or the same size has another root, 422 a bad proof, 200
with the cosignature line.
"""

import argparse
import base64
import binascii
import http.server
import pathlib
import sys
import threading
import time

from . import merkle, note
from .cosignature import Cosigner

MAX_BODY = 64 * 1024
MAX_PROOF = 63


class Refused(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(body)
        self.status, self.body = status, body


class Witness:
    def __init__(self, cosigner: Cosigner, log: note.Verifier):
        self.cosigner, self.log = cosigner, log
        self.state = (0, None)  # size and root last cosigned
        self.lock = threading.Lock()

    def add_checkpoint(self, body: bytes) -> str:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "the body is not UTF-8\n") from None
        head, sep, signed = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old "):
            raise Refused(400, "the body starts with 'old <size>', proof lines, an empty line\n")
        old = lines[0][4:]
        if not old.isdigit() or (len(old) > 1 and old[0] == "0"):
            raise Refused(400, "old is not a decimal size\n")
        old = int(old)
        if len(lines) - 1 > MAX_PROOF:
            raise Refused(400, "more than 63 proof lines\n")
        try:
            proof = [base64.b64decode(l, validate=True) for l in lines[1:]]
        except (binascii.Error, ValueError):
            raise Refused(400, "a proof line is not base64\n") from None
        if any(len(h) != 32 for h in proof):
            raise Refused(400, "a proof hash is not 32 bytes\n")
        try:
            cp_text, _ = note.split_note(signed)
            cp = note.parse_checkpoint(cp_text)
        except note.NoteError as e:
            raise Refused(400, f"{e}\n") from None
        if cp.origin != self.log.name:
            raise Refused(404, "unknown log\n")
        try:
            note.verify_checkpoint(signed, self.log)
        except note.NoteError as e:
            raise Refused(403, f"{e}\n") from None
        if old > cp.size:
            raise Refused(400, "old is beyond the checkpoint's size\n")
        with self.lock:
            size, root = self.state
            if old != size:
                raise Refused(409, f"{size}\n")
            if old == cp.size:
                if proof or (root is not None and root != cp.root):
                    raise Refused(409 if root != cp.root else 422, f"{size}\n")
            elif old == 0:
                if proof:
                    raise Refused(422, "a proof from the empty tree must be empty\n")
            else:
                try:
                    merkle.verify_consistency(old, cp.size, proof, root, cp.root)
                except merkle.ProofError as e:
                    raise Refused(422, f"{e}\n") from None
            self.state = (cp.size, cp.root)
        return self.cosigner.line(cp_text, int(time.time()))


def handler(witness: Witness):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != "/add-checkpoint":
                return self.answer(404, "text/plain", "POST /add-checkpoint\n")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.answer(413, "text/plain", "too large\n")
            try:
                line = witness.add_checkpoint(self.rfile.read(length))
                self.answer(200, "text/plain; charset=utf-8", line)
            except Refused as r:
                kind = "text/x.tlog.size" if r.status == 409 else "text/plain; charset=utf-8"
                self.answer(r.status, kind, r.body)

        def answer(self, status, kind, body):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


def main(argv=None):
    p = argparse.ArgumentParser(prog="isthmus_client.witness", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log-key", required=True, help="the log's verifier key file (certs-dev/log.pub)")
    p.add_argument("--name", default="python.example/witness", help="the witness's key name")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    args = p.parse_args(argv)
    log = note.Verifier.parse(pathlib.Path(args.log_key).read_text())
    witness = Witness(Cosigner(args.name), log)
    host, _, port = args.listen.rpartition(":")
    server = http.server.ThreadingHTTPServer((host, int(port)), handler(witness))
    print(f"vkey {witness.cosigner.verifier.vkey()}", flush=True)
    print(f"listening on {host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
