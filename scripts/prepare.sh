#!/usr/bin/env bash
# Everything the tests, the game day and the benchmarks need on a fresh clone: node modules, the real components
# (etcd, the Temporal CLI, kube-apiserver, cached in ~/.cache/etcd-guardian) and the build. A second run takes a
# few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "etcd-guardian: Node.js >= 20.19 is required; install it from https://nodejs.org or your package manager" >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[prepare] installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi

scripts/install-components.sh

# Suites that run the CLI as a separate process (the worker crash drills, the demo) need the compiled build.
echo "[prepare] building"
npm run --silent build >/dev/null
