#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (node modules, and etcd, the Temporal CLI and
# kube-apiserver into ~/.cache/etcd-guardian; chromium and promtool from Debian's packages; SeaweedFS's weed for the backup suites), builds, then runs the unit and the integration tests (on etcd 3.6,
# one suite on 3.4 and one on 3.5) in the CI scope, and the deterministic simulation.
# Usage: scripts/test.sh [extra jest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole suite also runs some suites on etcd 3.5, which is built from source like 3.6 (under a minute, cached).
whole=false
if [ "$#" -eq 0 ] || [ "$*" = "--ci" ]; then whole=true; fi
if $whole; then
  ETCD_GUARDIAN_ETCD_BUILDS=${ETCD_GUARDIAN_ETCD_BUILDS-3.6.16 3.5.35} scripts/prepare.sh
else
  scripts/prepare.sh
fi
# The browser the Temporal UI test drives and promtool for the alerting rules (Debian packages; not the demo's).
scripts/install-test-tools.sh
# The S3 object store the backup suites run against (SeaweedFS's weed, built once into the cache; not the demo's).
scripts/install-object-store.sh
# The CI scope of the long suites: every fault kind once, not every repeat (test/integration/support/scope.ts);
# scripts/test-matrix.sh runs the full scope.
export ETCD_GUARDIAN_TEST_SCOPE=${ETCD_GUARDIAN_TEST_SCOPE-ci}

echo "[test] running the test suite (scope: $ETCD_GUARDIAN_TEST_SCOPE)"
results=$(mktemp)
other=$(mktemp -d)
trap 'rm -rf "$results" "$other"' EXIT
status=0
# The integration suites run on etcd 3.6 (the sandbox's default), except those OTHER_VERSIONS names, which run on the
# version it gives instead: each etcd version the guardian supports runs in CI. On Debian's 3.4, migration-auto (faults
# the monitor finds, then a replace and two surges); on 3.5, the StatefulSet game day (every fault kind that moves a
# member, on the other workload kind). scripts/test-matrix.sh runs every suite on 3.4, 3.5 and 3.6.
# ETCD_GUARDIAN_CI_OTHER_VERSIONS overrides the list ("version=suite|suite ..."; empty runs everything on 3.6).
OTHER_VERSIONS=${ETCD_GUARDIAN_CI_OTHER_VERSIONS-3.4=migration-auto 3.5=gameday-statefulset}
ignore=()
# Suites of the full scope only (scripts/test-matrix.sh runs them): repeats, on more members, of what the CI scope
# proves elsewhere. maintenance-5: the space game day on 5 members (CI runs it on 3, every scenario); recovery-5: the
# quorum-loss game day on 5 members with the worker killed mid-recovery (CI runs it on 3, in backups-recovery);
# gameday-5: the node and rack game day on 5 members (CI runs every fault kind on 3; two members lost at once, in
# the quorum-loss game day). report: `etcd-guardian report` of a monitor-started migration (the demo suite checks the
# same report's table, backups-recovery a recovery's); sandbox-cli: `sandbox up/status/fault/heal/down` as processes
# (the demo suite starts and stops the sandbox through the same launcher, the sandbox suite every fault). fleet-budget:
# the rack budget across two clusters sharing the sandbox's nodes (CI proves the same rule over models, in
# fleet-over-model). statefulset: a StatefulSet member moved by hand, the contract the guardian follows (CI runs the
# guardian's own StatefulSet migrations in gameday-statefulset: a crash loop and the leader's node down, on etcd 3.5).
FULL_ONLY=${ETCD_GUARDIAN_FULL_ONLY-maintenance-5 recovery-5 gameday-5 report sandbox-cli fleet-budget statefulset}
if [ "$ETCD_GUARDIAN_TEST_SCOPE" = ci ] && [ -n "$FULL_ONLY" ]; then
  echo "[test] in the full scope only (npm run test:matrix): $FULL_ONLY"
  for suite in $FULL_ONLY; do ignore+=("/test/integration/${suite}\.test\.ts$"); done
fi
if $whole; then
  for entry in $OTHER_VERSIONS; do
    case $entry in
    3.4=* | 3.5=*) ignore+=("/test/integration/(${entry#*=})\.test\.ts$") ;;
    *)
      echo "etcd-guardian: ETCD_GUARDIAN_CI_OTHER_VERSIONS: '$entry' is not version=suites with version 3.4 or 3.5 (e.g. 3.4=model-contract)" >&2
      exit 2
      ;;
    esac
  done
fi
# The Jest simulation tests run the first seeds of what the simulation below runs again (seeds 1 to SIM_CI_RUNS), five
# times slower under coverage: the whole suite runs 50 of them there, enough to prove the tests themselves.
if $whole; then export SIM_RUNS=${SIM_RUNS-50}; fi
# One suite at a time: each integration suite runs its own Temporal server, kube-apiserver and etcd cluster,
# and two cores are enough for one of them at a time.
# --forceExit: a handle a failed test leaves open must fail that test, not hang CI until its time limit; Jest
# still names the leak in its output.
npx jest --coverage --runInBand --forceExit --json --outputFile="$results" --testPathIgnorePatterns /node_modules/ "${ignore[@]}" "$@" || status=$?
if $whole; then
  for entry in $OTHER_VERSIONS; do
    version=${entry%%=*}
    suites=${entry#*=}
    echo "[test] on etcd $version: $suites"
    ETCD_GUARDIAN_ETCD_VERSION=$version npx jest --selectProjects integration --runInBand --forceExit --json --outputFile="$other/$version.json" \
      --testPathPatterns "/test/integration/($suites)\.test\.ts$" || { s=$?; [ "$status" -ne 0 ] || status=$s; }
  done
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
if $whole; then
  echo "[test] simulation: ${SIM_CI_RUNS:-600} migration seeds, ${SIM_CI_MAINTENANCE_RUNS:-300} maintenance seeds (npm run simulate)"
  sim_status=0
  npx tsx test/simulation/cli.ts --runs "${SIM_CI_RUNS:-600}" --maintenance-runs "${SIM_CI_MAINTENANCE_RUNS:-300}" --seed 1 || sim_status=$?
  if [ "$sim_status" -ne 0 ] && [ "$status" -eq 0 ]; then status=$sim_status; fi
fi
# One plain closing line per run that any CI reader understands.
node -e '
  const fs = require("fs");
  const path = require("path");
  const line = (label, file) => {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    console.log(`${label}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  };
  line("jest", process.argv[1]);
  for (const file of fs.readdirSync(process.argv[2]).sort()) line(`jest on etcd ${path.basename(file, ".json")}`, path.join(process.argv[2], file));
' "$results" "$other" 2>/dev/null || echo "jest: no results (exit $status)"
exit "$status"
