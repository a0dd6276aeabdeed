#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then runs every jest project.
# Usage: scripts/test.sh [extra jest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "etcd-guardian: Node.js >= 20.3 is required to run the tests; install it from https://nodejs.org or your package manager" >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file, so that a second run starts at once.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[test] installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "[test] running the test suite"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
npx jest --coverage --json --outputFile="$results" "$@" || status=$?
# One plain closing line that any CI reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" 2>/dev/null || echo "jest: no results (exit $status)"
exit "$status"
