#!/usr/bin/env bash
# The guardian against a local sandbox: a real Temporal server, a real kube-apiserver and a real etcd cluster run
# as pods by simulated nodes. A node fails; the guardian notices and moves the member; the history tells the story.
# This script installs what the demo needs and builds, then runs `etcd-guardian demo` with its arguments:
#   scripts/demo.sh [--fault node-down|node-pressure] [--fault-after <s>] [--exit-after-migration] [--keep] [--state-dir <dir>]
# (scripts/demo.sh --help lists them all.)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prepare.sh

exec node dist/src/cli/main.js demo "$@"
