#!/usr/bin/env bash
# The guardian against a local sandbox: a real Temporal server, a real kube-apiserver and a real etcd cluster run
# as pods by simulated nodes. A node fails; the guardian notices and moves the member; the history tells the story.
# Usage: scripts/demo.sh [--fault node-down|node-pressure] [--keep]   (--keep leaves the sandbox running)
set -euo pipefail
cd "$(dirname "$0")/.."

fault=node-down
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fault) fault="${2:-}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $1 (choices: --fault node-down|node-pressure, --keep)" >&2; exit 2 ;;
  esac
done
case "$fault" in node-down|node-pressure) ;; *) echo "demo: unknown fault \"$fault\"; choose node-down or node-pressure" >&2; exit 2 ;; esac

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[demo] installing node modules"; npm ci --no-audit --no-fund
fi
scripts/install-components.sh
echo "[demo] building"
npm run --silent build >/dev/null

cli=(node dist/src/cli/main.js)
state=.sandbox
config="$state/guardian.yaml"
worker_pid=""

cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null
  if [ "$keep" = 0 ]; then "${cli[@]}" sandbox down --state-dir "$state" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${cli[@]}" sandbox up --state-dir "$state"

# The guardian's config for this sandbox, from what the sandbox says about itself.
node -e '
  const { readFileSync, writeFileSync } = require("fs");
  const { stringify } = require("yaml");
  const { sandboxConfigDocument } = require("./dist/src/config/sandbox");
  const info = JSON.parse(readFileSync(process.argv[1] + "/sandbox.json", "utf8")).info;
  const doc = sandboxConfigDocument({
    temporalAddress: info.temporal.address, namespace: info.temporal.namespace, kubeconfig: info.kubeconfig,
    etcdNamespace: info.etcd.namespace, etcdCluster: info.etcd.cluster, selector: info.etcd.selector,
    rackLabel: "topology.kubernetes.io/rack", domainLabel: "topology.kubernetes.io/zone",
    backupDirectory: info.stateDir + "/backups",
  }, { interval: "2s", endpointTimeout: "1s", hysteresisSamples: 3, cooldown: "1m" });
  writeFileSync(process.argv[2], stringify(doc));
' "$(realpath "$state")" "$config"

"${cli[@]}" worker --config "$config" > "$state/logs/worker.log" 2>&1 &
worker_pid=$!
"${cli[@]}" schedule apply --config "$config" --every 10

echo "[demo] waiting for the monitor's first healthy cycles"
for _ in $(seq 1 60); do
  if "${cli[@]}" status --config "$config" >/dev/null 2>&1; then break; fi
  sleep 2
done
"${cli[@]}" status --config "$config" || true

# Keys written before the fault must all be there after the migration.
etcdctl="$HOME/.cache/etcd-guardian/bin/etcdctl"
[ -n "${ETCD_GUARDIAN_CACHE:-}" ] && etcdctl="$ETCD_GUARDIAN_CACHE/bin/etcdctl"
endpoints=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).info.etcd.clientUrls.join(","))' "$state/sandbox.json")
for i in $(seq -w 1 100); do ETCDCTL_API=3 "$etcdctl" --endpoints "$endpoints" put "demo/key-$i" "value-$i" >/dev/null; done
echo "[demo] wrote 100 keys under demo/"

victim_node=$("${cli[@]}" sandbox status --state-dir "$state" --json | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const m = s.members.find((x) => x.name === "etcd-1") ?? s.members[0];
  process.stdout.write(m.node);
')
echo "[demo] injecting $fault on $victim_node (under etcd-1) in 3 seconds"
sleep 3
if [ "$fault" = node-pressure ]; then
  "${cli[@]}" sandbox fault node-pressure "$victim_node" --cpu 0.96 --memory 0.93 --state-dir "$state"
else
  "${cli[@]}" sandbox fault node-down "$victim_node" --state-dir "$state"
fi

echo "[demo] the guardian detects it after 3 samples and migrates the member:"
"${cli[@]}" follow main --config "$config" --timeout 180
"${cli[@]}" sandbox heal "$victim_node" --state-dir "$state" >/dev/null
sleep 4
"${cli[@]}" status --config "$config" || true
new_endpoints=$("${cli[@]}" sandbox status --state-dir "$state" --json | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
  process.stdout.write(s.members.filter((m) => !m.terminating).map((m) => m.clientUrl).join(","));
')
kept=$(ETCDCTL_API=3 "$etcdctl" --endpoints "$new_endpoints" get demo/ --prefix --keys-only | grep -c '^demo/' || true)
echo "[demo] keys under demo/ after the migration: $kept of 100"
ETCDCTL_API=3 "$etcdctl" --endpoints "$new_endpoints" endpoint hashkv --write-out=table || true
ui=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).info.temporal.uiUrl)' "$state/sandbox.json")
echo "[demo] the whole story is in the workflow histories: $ui/namespaces/default/workflows/migrate-main"
if [ "$keep" = 1 ]; then echo "[demo] sandbox left running (--keep); stop it with: node dist/src/cli/main.js sandbox down"; fi
