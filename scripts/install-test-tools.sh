#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What the test suite needs beyond the sandbox's components, from Debian's packages:
#   chromium   the headless browser the Temporal UI test drives (through playwright-core, pointed at it)
#   promtool   checks and unit-tests deploy/monitoring's alerting rules (package prometheus; its service is
#              neither started nor enabled)
# The demo does not need them and does not install them. Idempotent: a second run takes a second.
# Usage: scripts/install-test-tools.sh [--check]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

LOGS=$ETCD_GUARDIAN_CACHE/logs
# binary -> the Debian package that ships it
declare -A PACKAGE_OF=([chromium]=chromium [promtool]=prometheus)

missing=()
for bin in chromium promtool; do have "$bin" || missing+=("$bin"); done

if [[ ${1:-} == --check ]]; then
  if ((${#missing[@]})); then
    for bin in "${missing[@]}"; do log "missing: $bin (Debian package ${PACKAGE_OF[$bin]})"; done
    log "run scripts/install-test-tools.sh to install them"
    exit 1
  fi
  exit 0
fi
[[ -z ${1:-} ]] || die "unknown option '$1' (usage: scripts/install-test-tools.sh [--check])"

if ((${#missing[@]} == 0)); then
  log "test tools present: $(command -v chromium), $(command -v promtool)"
  exit 0
fi

packages=()
for bin in "${missing[@]}"; do packages+=("${PACKAGE_OF[$bin]}"); done
have apt-get || die "the tests need ${missing[*]} (Debian packages ${packages[*]}) and apt-get is not available; install them with your package manager so that they are on PATH"
can_be_root || die "installing ${packages[*]} needs root; run as root or install sudo"

log "test tools: installing Debian packages ${packages[*]} (log: $LOGS/apt-test-tools.log)"
POLICY_RC=/usr/sbin/policy-rc.d
ours=0
# Keep the prometheus package from starting its server during the install.
if [[ ! -e $POLICY_RC ]]; then
  as_root sh -c "printf '#!/bin/sh\n# etcd-guardian installer: no service starts during apt-get install\nexit 101\n' > $POLICY_RC && chmod 755 $POLICY_RC"
  ours=1
fi
trap 'if ((ours)); then as_root rm -f "$POLICY_RC"; fi' EXIT
run_logged "apt-get update" "$LOGS/apt-test-tools.log" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
run_logged "apt-get install ${packages[*]}" "$LOGS/apt-test-tools-install.log" \
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
if [[ -d /run/systemd/system ]] && have systemctl; then as_root systemctl disable --now prometheus.service >/dev/null 2>&1 || true; fi
for bin in "${missing[@]}"; do
  have "$bin" || die "${PACKAGE_OF[$bin]} installed but $bin is not on PATH; see $LOGS/apt-test-tools-install.log"
done
log "test tools installed: $(command -v chromium), $(command -v promtool)"
