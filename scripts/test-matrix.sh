#!/usr/bin/env bash
# The etcd version matrix: every integration suite (game days included) on each etcd version the guardian supports,
# one version after the other, one suite at a time, in the full scope (every game-day scenario, the worker killed at
# every step). CI (scripts/test.sh) runs each suite once, on one version, in the CI scope; this runs the rest.
# About 25 minutes per version on 2 cores.
# Usage: scripts/test-matrix.sh [versions...] [-- extra jest arguments]     e.g. scripts/test-matrix.sh 3.5 -- --testPathPatterns migration
set -euo pipefail
cd "$(dirname "$0")/.."

versions=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
  3.4 | 3.5 | 3.6) versions+=("$1") ;;
  *)
    echo "etcd-guardian: test-matrix: unknown etcd version '$1': choose from 3.4, 3.5, 3.6" >&2
    exit 2
    ;;
  esac
  shift
done
[ "${1:-}" != "--" ] || shift
[ "${#versions[@]}" -gt 0 ] || versions=(3.4 3.5 3.6)

# The demo and CI build etcd 3.6 only; the matrix needs 3.5 as well.
ETCD_GUARDIAN_ETCD_BUILDS=${ETCD_GUARDIAN_ETCD_BUILDS-3.6.16 3.5.35} scripts/prepare.sh
scripts/install-test-tools.sh
# The S3 object store the backup suites run against (SeaweedFS's weed, built once into the cache; not the demo's).
scripts/install-object-store.sh

summary=()
status=0
for version in "${versions[@]}"; do
  echo "[matrix] integration suites on etcd $version"
  results=$(mktemp)
  started=$(date +%s)
  rc=0
  ETCD_GUARDIAN_TEST_SCOPE=full ETCD_GUARDIAN_ETCD_VERSION=$version npx jest --selectProjects integration --runInBand --forceExit --json --outputFile="$results" "$@" || rc=$?
  took=$(($(date +%s) - started))
  line=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$results" 2>/dev/null || echo "no results (exit $rc)")
  rm -f "$results"
  summary+=("etcd $version: $line in $((took / 60)) min $((took % 60)) s")
  [ "$rc" -eq 0 ] || status=$rc
done
# Processes of test sandboxes still running now were leaked by a test: name them, then stop them.
leftover=$(pgrep -f "${TMPDIR:-/tmp}/guardian-test-" || true)
if [ -n "$leftover" ]; then
  echo "[matrix] processes left running by the tests (now killed):" >&2
  ps -o pid=,args= -p "$(echo "$leftover" | paste -sd, -)" >&2 || true
  kill $leftover 2>/dev/null || true
fi
printf '[matrix] %s\n' "${summary[@]}"
exit "$status"
