"""Python code for the Isthmus contract, generated at run time from proto/.

Nothing generated is committed: the .proto files in proto/isthmus/v1/ are
the contract, and grpcio-tools (which bundles protoc and the well-known
types such as google/protobuf/timestamp.proto) turns them into
isthmus/v1/{alert,ledger,service}_pb2.py and service_pb2_grpc.py.

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
PROTO_FILES = ["isthmus/v1/alert.proto", "isthmus/v1/ledger.proto", "isthmus/v1/service.proto"]


def generate(out_dir, proto_root=PROTO_ROOT):
    """Runs protoc (from grpcio-tools) on the three contract files."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        *PROTO_FILES,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto_root}: see the messages above")


def load(out_dir):
    """Imports the generated modules from out_dir; returns them as pb.alert,
    pb.ledger, pb.service and pb.service_grpc."""
    out = str(pathlib.Path(out_dir).resolve())
    if not (pathlib.Path(out) / "isthmus/v1/service_pb2.py").is_file():
        raise FileNotFoundError(f"no generated code in {out}; run: python -m isthmus_client.protos --out {out}")
    if out not in sys.path:
        # The generated files import each other as `isthmus.v1.ledger_pb2`.
        sys.path.insert(0, out)
    return types.SimpleNamespace(
        alert=importlib.import_module("isthmus.v1.alert_pb2"),
        ledger=importlib.import_module("isthmus.v1.ledger_pb2"),
        service=importlib.import_module("isthmus.v1.service_pb2"),
        service_grpc=importlib.import_module("isthmus.v1.service_pb2_grpc"),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the generated code")
    generate(parser.parse_args().out)
    print(f"generated Python code for {', '.join(PROTO_FILES)}")
