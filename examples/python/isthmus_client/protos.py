"""Python code for the Isthmus contract, generated at run time from proto/.

Nothing generated is committed: the .proto files in proto/isthmus/v1/ are
the contract, and grpcio-tools (which bundles protoc and the well-known
types such as google/protobuf/timestamp.proto) turns every one of them into
isthmus/v1/NAME_pb2.py (alert, ledger, sealed, service) and service_pb2_grpc.py.

    python -m isthmus_client.protos --out DIR     # generate into DIR
"""

import argparse
import importlib
import importlib.resources
import pathlib
import sys
import types

from grpc_tools import protoc

# examples/python/isthmus_client/protos.py -> the repository root.
REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
PROTO_ROOT = REPO_ROOT / "proto"


def proto_files(proto_root=PROTO_ROOT):
    """Every .proto of the contract (isthmus/v1/*.proto under proto_root),
    so that a new file is compiled with no change here."""
    root = pathlib.Path(proto_root)
    return sorted(p.relative_to(root).as_posix() for p in (root / "isthmus" / "v1").glob("*.proto"))


PROTO_FILES = proto_files()


def generate(out_dir, proto_root=PROTO_ROOT):
    """Runs protoc (from grpcio-tools) on every contract file."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        *proto_files(proto_root),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto_root}: see the messages above")


def load(out_dir):
    """Imports the generated modules from out_dir; returns them as pb.alert,
    pb.ledger, pb.sealed, pb.service and pb.service_grpc."""
    out = str(pathlib.Path(out_dir).resolve())
    if not (pathlib.Path(out) / "isthmus/v1/service_pb2.py").is_file():
        raise FileNotFoundError(f"no generated code in {out}; run: python -m isthmus_client.protos --out {out}")
    if out not in sys.path:
        # The generated files import each other as `isthmus.v1.ledger_pb2`.
        sys.path.insert(0, out)
    return types.SimpleNamespace(
        alert=importlib.import_module("isthmus.v1.alert_pb2"),
        ledger=importlib.import_module("isthmus.v1.ledger_pb2"),
        sealed=importlib.import_module("isthmus.v1.sealed_pb2"),
        service=importlib.import_module("isthmus.v1.service_pb2"),
        service_grpc=importlib.import_module("isthmus.v1.service_pb2_grpc"),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the generated code")
    generate(parser.parse_args().out)
    print(f"generated Python code for {', '.join(PROTO_FILES)}")
