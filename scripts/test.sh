#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (node modules, and etcd, the Temporal CLI and
# kube-apiserver into ~/.cache/etcd-guardian), builds, then runs the unit and the integration tests (on etcd 3.6,
# and a subset again on 3.4).
# Usage: scripts/test.sh [extra jest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prepare.sh

echo "[test] running the test suite"
results=$(mktemp)
results34=$(mktemp)
trap 'rm -f "$results" "$results34"' EXIT
status=0
# One suite at a time: each integration suite runs its own Temporal server, kube-apiserver and etcd cluster,
# and two cores are enough for one of them at a time.
# --forceExit: a handle a failed test leaves open must fail that test, not hang CI until its time limit; Jest
# still names the leak in its output.
npx jest --coverage --runInBand --forceExit --json --outputFile="$results" "$@" || status=$?
# The integration suites above ran on etcd 3.6 (the sandbox's default). A representative subset runs again on
# Debian's 3.4, which the guardian keeps supporting: migration-auto (a fault found by the monitor, then a replace and
# a surge) and the model contract (etcd's membership rules against the model). etcd-tls on 3.4 (129 s) stays in the
# matrix: with it .ci/run took 30m15s, over its 30-minute budget. Only for the whole suite;
# scripts/test-matrix.sh runs every integration suite on 3.4, 3.5 and 3.6. ETCD_GUARDIAN_CI_34_SUITES overrides the
# list (a --testPathPatterns alternation; empty skips it).
ETCD34_SUITES=${ETCD_GUARDIAN_CI_34_SUITES-migration-auto|model-contract}
if { [ "$#" -eq 0 ] || [ "$*" = "--ci" ]; } && [ -n "$ETCD34_SUITES" ]; then
  echo "[test] integration subset on etcd 3.4: $ETCD34_SUITES"
  ETCD_GUARDIAN_ETCD_VERSION=3.4 npx jest --selectProjects integration --runInBand --forceExit --json --outputFile="$results34" \
    --testPathPatterns "($ETCD34_SUITES)" || { s=$?; [ "$status" -ne 0 ] || status=$s; }
fi
# Processes of test sandboxes still running now were leaked by a test: name them, then stop them.
leftover=$(pgrep -f "${TMPDIR:-/tmp}/guardian-test-" || true)
if [ -n "$leftover" ]; then
  echo "[test] processes left running by the tests (now killed):" >&2
  ps -o pid=,args= -p "$(echo "$leftover" | paste -sd, -)" >&2 || true
  kill $leftover 2>/dev/null || true
fi
# The deterministic simulation at CI scale: the plan runner and activities over the model under seeded faults
# (Jest runs a few hundred seeds; without its coverage instrumentation thousands take under a minute).
# Only for the whole suite: a run narrowed to some tests skips it.
if [ "$#" -eq 0 ] || [ "$*" = "--ci" ]; then
  echo "[test] simulation: ${SIM_CI_RUNS:-3000} seeds (npm run simulate)"
  sim_status=0
  npx tsx test/simulation/cli.ts --runs "${SIM_CI_RUNS:-3000}" --seed 1 || sim_status=$?
  if [ "$sim_status" -ne 0 ] && [ "$status" -eq 0 ]; then status=$sim_status; fi
fi
# One plain closing line that any CI reader understands.
node -e '
  const fs = require("fs");
  const line = (label, file) => {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    console.log(`${label}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  };
  line("jest", process.argv[1]);
  if (fs.statSync(process.argv[2]).size > 0) line("jest on etcd 3.4", process.argv[2]);
' "$results" "$results34" 2>/dev/null || echo "jest: no results (exit $status)"
exit "$status"
