#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the real components the etcd-guardian sandbox and tests run, into a cache outside the repo:
#   etcd, etcdctl     Debian packages etcd-server / etcd-client (linked into $CACHE/bin)
#   temporal          Temporal CLI, go install github.com/temporalio/cli/cmd/temporal@v1.5.1
#   kube-apiserver, kube-controller-manager, kube-scheduler
#                     built from the k8s.io/kubernetes Go module, staging modules replaced by published ones
#   etcd 3.6, 3.5     etcd, etcdctl, etcdutl built from the go.etcd.io/etcd modules, one directory per version
# Idempotent: a second run only checks versions and takes a few seconds.
#
# Usage: scripts/install-components.sh [--check | --print-env | --force | --smoke | --help]
# Cache: ${ETCD_GUARDIAN_CACHE:-$HOME/.cache/etcd-guardian}, binaries in $CACHE/bin.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

# ---- pinned versions --------------------------------------------------------------------------
# Kubernetes control plane: a release whose staging modules the Go module proxy serves in full (1.31's
# kube-controller-manager and kube-scheduler modules are not served; 1.37.2's are, bar two sample modules
# nothing imports). Check with: go list -m -versions k8s.io/kubernetes
KUBE_VERSION=${ETCD_GUARDIAN_KUBE_VERSION:-v1.37.2}
KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler)
# Temporal CLI: v1.1.0..v1.5.1 have no replace directive; later tags cannot be go-installed.
TEMPORAL_VERSION=1.5.1
# Temporal CLI v1.5.1's go.mod says go 1.25.0; k8s.io/kubernetes 1.37.2 says go 1.26.0.
GO_MIN_TEMPORAL=1.25.0
GO_MIN_KUBE=1.26.0
ETCD_MIN=3.4.0 # learners and strict reconfig
# etcd built from the Go module proxy into $CACHE/etcd/v<version>/bin (etcd, etcdctl, etcdutl), beside Debian's 3.4.
# Kubernetes runs 3.5 and 3.6; these are the newest patches the proxy serves (go list -m -versions
# go.etcd.io/etcd/server/v3). The demo and CI need 3.6 only (3.4 is Debian's); scripts/test-matrix.sh adds 3.5.35
# through ETCD_GUARDIAN_ETCD_BUILDS, which overrides the list (an empty value builds none).
ETCD_BUILDS=${ETCD_GUARDIAN_ETCD_BUILDS-3.6.16}
GO_MIN_ETCD=1.26.0 # the go directive of go.etcd.io/etcd/server/v3 v3.6.16 and v3.5.35

CACHE=$ETCD_GUARDIAN_CACHE
BIN=$CACHE/bin
LOGS=$CACHE/logs
STAMP=$CACHE/components.json

[[ $KUBE_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] ||
  die "ETCD_GUARDIAN_KUBE_VERSION must look like v1.31.14 (got '$KUBE_VERSION')"
KUBE_MINOR=${BASH_REMATCH[1]}
KUBE_PATCH=${BASH_REMATCH[2]}
STAGING_VERSION=v0.${KUBE_MINOR}.${KUBE_PATCH}
KUBE_BUILD_DIR=$CACHE/build/kube-$KUBE_VERSION
read -r -a ETCD_BUILD_LIST <<<"$ETCD_BUILDS"
for v in "${ETCD_BUILD_LIST[@]}"; do
  [[ $v =~ ^3\.[5-9]\.[0-9]+$ ]] ||
    die "ETCD_GUARDIAN_ETCD_BUILDS: '$v' is not an etcd version to build; give versions like 3.6.16 3.5.35 (3.5 or newer; 3.4 is Debian's)"
done

usage() {
  cat <<EOF
Usage: $(basename "$0") [option]
  (none)       install whatever is missing, then write $STAMP
  --check      exit non-zero listing the missing components; installs nothing
  --print-env  print shell lines to put the cached binaries on PATH:  eval "\$($(basename "$0") --print-env)"
  --force      reinstall / rebuild everything
  --smoke      start kube-apiserver against a throwaway etcd on loopback and GET /version, then clean up
Cache: $CACHE (set ETCD_GUARDIAN_CACHE to move it). Pinned: Kubernetes $KUBE_VERSION (${KUBE_BINARIES[*]}), Temporal CLI $TEMPORAL_VERSION,
etcd ${ETCD_BUILDS:-(no builds)} in $CACHE/etcd/v<version>/bin (ETCD_GUARDIAN_ETCD_BUILDS) beside Debian's etcd in $BIN.
EOF
}

# ---- version probes (each prints the version or nothing) --------------------------------------
probe() { # probe BINARY SED-SCRIPT ARGS...: the first line sed extracts from BINARY's output
  local bin=$1 script=$2
  shift 2
  if [[ -x $bin ]]; then "$bin" "$@" 2>/dev/null | sed -n "$script" | head -n1; fi
  return 0
}
etcd_version() { probe "$1" 's/^etcd Version: *//p' --version; }
etcdctl_version() { probe "$1" 's/^etcdctl version: *//p' version; }
temporal_version() { probe "$1" 's/^temporal version \([^ ]*\).*/\1/p' --version; }
kube_version() { probe "$1" 's/^Kubernetes \(v[^ ]*\).*/\1/p' --version; }
etcdutl_version() { probe "$1" 's/^etcdutl version: *//p' version; }

need_etcd() {
  local v
  v=$(etcd_version "$BIN/etcd")
  [[ -n $v ]] && version_ge "$v" "$ETCD_MIN" && [[ -n $(etcdctl_version "$BIN/etcdctl") ]] && return 1
  return 0
}
need_temporal() { [[ $(temporal_version "$BIN/temporal") != "$TEMPORAL_VERSION" ]]; }
need_kube() { # true unless every control-plane binary reports $KUBE_VERSION
  local b
  for b in "${KUBE_BINARIES[@]}"; do [[ $(kube_version "$BIN/$b") == "$KUBE_VERSION" ]] || return 0; done
  return 1
}
etcd_build_bin() { printf '%s/etcd/v%s/bin' "$CACHE" "$1"; }
need_etcd_build() { # need_etcd_build VERSION: true unless etcd, etcdctl and etcdutl of VERSION are all there
  local dir
  dir=$(etcd_build_bin "$1")
  [[ $(etcd_version "$dir/etcd") == "$1" && $(etcdctl_version "$dir/etcdctl") == "$1" &&
    $(etcdutl_version "$dir/etcdutl") == "$1" ]] && return 1
  return 0
}

# ---- --print-env ------------------------------------------------------------------------------
print_env() {
  printf 'export ETCD_GUARDIAN_CACHE=%q\n' "$CACHE"
  # $PATH stays literal: it expands where the lines are eval'ed.
  # shellcheck disable=SC2016
  printf 'export PATH=%q:"$PATH"\n' "$BIN"
}

# ---- --check ----------------------------------------------------------------------------------
check_only() {
  local missing=()
  need_etcd && missing+=("etcd/etcdctl >= $ETCD_MIN in $BIN (Debian packages etcd-server, etcd-client)")
  need_temporal && missing+=("temporal $TEMPORAL_VERSION in $BIN")
  need_kube && missing+=("${KUBE_BINARIES[*]} $KUBE_VERSION in $BIN")
  local v
  for v in "${ETCD_BUILD_LIST[@]}"; do
    need_etcd_build "$v" && missing+=("etcd, etcdctl, etcdutl $v in $(etcd_build_bin "$v")")
  done
  [[ -f $STAMP ]] || missing+=("stamp file $STAMP")
  if ((${#missing[@]})); then
    local m
    for m in "${missing[@]}"; do log "missing: $m"; done
    log "run scripts/install-components.sh to install them"
    return 1
  fi
  log "all components present in $BIN (Kubernetes $KUBE_VERSION control plane, temporal $TEMPORAL_VERSION, etcd $(etcd_version "$BIN/etcd")${ETCD_BUILDS:+, etcd builds $ETCD_BUILDS})"
}

# ---- prerequisites: fail at once, before any work ---------------------------------------------
GO_FOUND=
check_go() { # check_go MIN WHAT
  local min=$1 what=$2
  have go || die "Go is required to ${what}; install Go >= ${min%.0} from https://go.dev/dl or your package manager"
  if [[ -z $GO_FOUND ]]; then
    GO_FOUND=$(go env GOVERSION 2>/dev/null) || die "'go env GOVERSION' failed; is the Go installation broken? (https://go.dev/dl)"
  fi
  if [[ $GO_FOUND =~ ^go([0-9]+(\.[0-9]+)*) ]]; then
    version_ge "${BASH_REMATCH[1]}" "$min" ||
      die "Go >= ${min%.0} is required to ${what} (found ${GO_FOUND}); install a newer Go from https://go.dev/dl or your package manager"
  fi # devel builds: trust them
}

check_prereqs() {
  if ((DO_ETCD)) && ! etcd_preinstalled; then
    have apt-get || die "etcd and etcdctl are missing and apt-get is not available; install etcd >= $ETCD_MIN (Debian/Ubuntu packages etcd-server and etcd-client, or https://github.com/etcd-io/etcd/releases) so that etcd and etcdctl are on PATH"
    can_be_root || die "installing the etcd-server and etcd-client packages needs root; run as root or install sudo"
  fi
  if ((DO_TEMPORAL && DO_KUBE)); then
    check_go "$GO_MIN_KUBE" "build the Kubernetes $KUBE_VERSION control plane and the Temporal CLI $TEMPORAL_VERSION"
  elif ((DO_TEMPORAL)); then
    check_go "$GO_MIN_TEMPORAL" "build the Temporal CLI $TEMPORAL_VERSION"
  elif ((DO_KUBE)); then
    check_go "$GO_MIN_KUBE" "build the Kubernetes $KUBE_VERSION control plane"
  fi
  local v
  for v in "${ETCD_BUILD_LIST[@]}"; do
    if ((FORCE)) || need_etcd_build "$v"; then check_go "$GO_MIN_ETCD" "build etcd $v"; fi
  done
  return 0
}

# ---- etcd --------------------------------------------------------------------------------------
pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]; }

# Finds etcd/etcdctl already on the machine (Debian package or on PATH, outside our cache).
ETCD_SRC=
ETCDCTL_SRC=
etcd_preinstalled() {
  if have dpkg-query && pkg_installed etcd-server && pkg_installed etcd-client; then
    ETCD_SRC=/usr/bin/etcd
    ETCDCTL_SRC=/usr/bin/etcdctl
    return 0
  fi
  local e c p path_wo=
  local IFS=:
  for p in $PATH; do [[ $p == "$BIN" ]] || path_wo+=${path_wo:+:}$p; done
  unset IFS
  e=$(PATH=$path_wo command -v etcd || true)
  c=$(PATH=$path_wo command -v etcdctl || true)
  if [[ -n $e && -n $c && $e != "$BIN/etcd" ]]; then
    local v
    v=$(etcd_version "$e")
    if [[ -n $v ]] && version_ge "$v" "$ETCD_MIN"; then
      ETCD_SRC=$e
      ETCDCTL_SRC=$c
      return 0
    fi
  fi
  return 1
}

POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
remove_policy_rc() {
  if ((POLICY_RC_OURS)); then
    as_root rm -f "$POLICY_RC" || true
    POLICY_RC_OURS=0
  fi
}

# Make sure the package's own etcd service (127.0.0.1:2379, /var/lib/etcd) is neither running nor enabled.
disable_etcd_service() {
  if [[ -d /run/systemd/system ]] && have systemctl; then
    as_root systemctl disable --now etcd.service >/dev/null 2>&1 || true
  fi
  if have deb-systemd-helper; then as_root deb-systemd-helper disable etcd.service >/dev/null 2>&1 || true; fi
  if have update-rc.d && [[ -x /etc/init.d/etcd ]]; then as_root update-rc.d etcd disable >/dev/null 2>&1 || true; fi
  # sysvinit-style start (no systemd): init-d-script keeps a pidfile.
  local pidfile
  for pidfile in /run/etcd.pid /var/run/etcd.pid; do
    if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "  stopping the etcd service the package started (pid $(cat "$pidfile"))"
      as_root /etc/init.d/etcd stop >/dev/null 2>&1 || as_root kill "$(cat "$pidfile")" || true
    fi
  done
}

install_etcd() {
  if ! etcd_preinstalled; then
    log "etcd: installing Debian packages etcd-server etcd-client (log: $LOGS/apt.log)"
    # Keep the package from starting its own etcd on 127.0.0.1:2379 (the sandbox uses its own ports).
    if [[ ! -e $POLICY_RC ]]; then
      as_root sh -c "printf '#!/bin/sh\n# etcd-guardian installer: no service starts during apt-get install\nexit 101\n' > $POLICY_RC && chmod 755 $POLICY_RC"
      POLICY_RC_OURS=1
    fi
    run_logged "apt-get update" "$LOGS/apt.log" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    run_logged "apt-get install etcd-server etcd-client" "$LOGS/apt-install.log" \
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends etcd-server etcd-client
    remove_policy_rc
    disable_etcd_service
    etcd_preinstalled || die "etcd-server/etcd-client installed but /usr/bin/etcd is not usable; see $LOGS/apt-install.log"
  else
    log "etcd: found $ETCD_SRC"
  fi
  ln -sfn "$ETCD_SRC" "$BIN/etcd"
  ln -sfn "$ETCDCTL_SRC" "$BIN/etcdctl"
  local v
  v=$(etcd_version "$BIN/etcd")
  [[ -n $v ]] || die "$BIN/etcd --version prints no version; check $ETCD_SRC"
  version_ge "$v" "$ETCD_MIN" || die "etcd $v is too old (need >= $ETCD_MIN for learners); install a newer etcd-server"
}

# ---- Temporal CLI ------------------------------------------------------------------------------
install_temporal() {
  log "temporal: go install github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_VERSION (log: $LOGS/temporal.log)"
  # The release sets temporalcli.Version with -ldflags; a plain go install reports 0.0.0-DEV.
  run_logged "go install temporal" "$LOGS/temporal.log" \
    env GOBIN="$BIN" CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false \
    go install -trimpath -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_VERSION" \
    "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_VERSION"
  local v
  v=$(temporal_version "$BIN/temporal")
  [[ $v == "$TEMPORAL_VERSION" ]] || die "$BIN/temporal --version reports '${v:-nothing}', expected $TEMPORAL_VERSION"
}

# ---- Kubernetes control plane ------------------------------------------------------------------
# Prints the staging modules k8s.io/kubernetes@$KUBE_VERSION requires at v0.0.0 and replaces with ./staging/.
staging_modules() {
  local gomod=$1
  awk '
    /^replace[ \t]*\(/ { inrep = 1; next }
    inrep && /^\)/ { inrep = 0; next }
    inrep && $2 == "=>" && $3 ~ /^\.\/staging\// { staged[$1] = 1 }
    /^require[ \t]*\(/ { inreq = 1; next }
    inreq && /^\)/ { inreq = 0; next }
    inreq && $2 == "v0.0.0" { zero[$1] = 1 }
    END { for (m in staged) if (m in zero) print m }
  ' "$gomod" | sort
}

# Go with a predictable environment: no toolchain switching, no workspace, no cgo, no VCS stamping.
kube_go() { env GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 go "$@"; }
# These two run in the background under run_logged; the cd stays in that subshell.
kube_cmds() { local b; for b in "${KUBE_BINARIES[@]}"; do printf 'k8s.io/kubernetes/cmd/%s\n' "$b"; done; }
kube_get() {
  local b args=()
  for b in "${KUBE_BINARIES[@]}"; do args+=("k8s.io/kubernetes/cmd/$b@$KUBE_VERSION"); done
  cd "$KUBE_BUILD_DIR" && kube_go get "${args[@]}"
}
kube_build() {
  local b
  cd "$KUBE_BUILD_DIR" || return 1
  for b in "${KUBE_BINARIES[@]}"; do
    kube_go build -trimpath -ldflags "$KUBE_LDFLAGS" -o "$BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b" || return 1
  done
}

install_kube() {
  mkdir -p "$KUBE_BUILD_DIR"
  log "kubernetes: resolving k8s.io/kubernetes@$KUBE_VERSION"
  local json gomod info
  json=$(cd "$KUBE_BUILD_DIR/.." && kube_go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>&1) ||
    die "go mod download k8s.io/kubernetes@$KUBE_VERSION failed: $(printf '%s' "$json" | tr '\n' ' ' | cut -c1-300)"
  gomod=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  info=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p')
  [[ -f $gomod ]] || die "cannot find the go.mod of k8s.io/kubernetes@$KUBE_VERSION in the module cache"

  local mods=()
  mapfile -t mods < <(staging_modules "$gomod")
  ((${#mods[@]} > 0)) || die "no staging modules found in $gomod (unexpected go.mod layout)"
  log "  ${#mods[@]} staging modules -> $STAGING_VERSION: ${mods[*]#k8s.io/}"

  # Each staging module goes to its published $STAGING_VERSION (legacy-cloud-providers ends at v0.30,
  # cri-client starts at v0.31, externaljwt at v0.32; the list above comes from the release itself).
  # A module the proxy cannot serve at that version gets an empty local stub instead: MVS only needs a
  # go.mod for it, and the check after `go get` proves no control-plane binary compiles a package from a stub.
  local args=() m bad=() published=() stubbed=()
  for m in "${mods[@]}"; do args+=("$m@$STAGING_VERSION"); done
  mapfile -t bad < <(cd "$CACHE/build" && { kube_go list -m -e -f '{{if .Error}}{{.Path}}{{end}}' "${args[@]}" 2>/dev/null | grep . || true; })
  for m in "${mods[@]}"; do
    if [[ " ${bad[*]} " == *" $m "* ]]; then stubbed+=("$m"); else published+=("$m"); fi
  done
  if ((${#stubbed[@]})); then
    ((${ETCD_GUARDIAN_KUBE_STRICT:-0} == 0)) ||
      die "the Go module proxy does not serve these staging modules at $STAGING_VERSION: ${stubbed[*]} (ETCD_GUARDIAN_KUBE_STRICT=1 forbids stubs)"
    log "  not served by the module proxy at $STAGING_VERSION, replaced by empty stubs (must stay unused): ${stubbed[*]#k8s.io/}"
  fi
  rm -rf "$KUBE_BUILD_DIR/stub"
  for m in "${stubbed[@]}"; do
    mkdir -p "$KUBE_BUILD_DIR/stub/${m#k8s.io/}"
    printf 'module %s\n\ngo 1.22.0\n' "$m" >"$KUBE_BUILD_DIR/stub/${m#k8s.io/}/go.mod"
  done

  # go.mod of the throwaway build module; `go get` then adds the requirements and go.sum.
  {
    printf '// Generated by etcd-guardian scripts/install-components.sh: builds the Kubernetes %s control plane.\n' "$KUBE_VERSION"
    printf 'module etcd-guardian.local/kube-build\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    for m in "${published[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
    for m in "${stubbed[@]}"; do printf '\t%s => ./stub/%s\n' "$m" "${m#k8s.io/}"; done
    printf ')\n'
  } >"$KUBE_BUILD_DIR/go.mod"
  rm -f "$KUBE_BUILD_DIR/go.sum"

  log "kubernetes: downloading modules (log: $LOGS/kube-deps.log)"
  run_logged "go get ${KUBE_BINARIES[*]}" "$LOGS/kube-deps.log" kube_get
  local deps from_stub
  deps=$(cd "$KUBE_BUILD_DIR" && kube_go list -deps -f '{{with .Module}}{{with .Replace}}{{.Path}}{{end}}{{end}}' \
    $(kube_cmds) 2>&1) ||
    die "go list -deps $(kube_cmds | tr '\n' ' ')failed in $KUBE_BUILD_DIR: $(printf '%s' "$deps" | tail -n 3 | tr '\n' ' ')"
  from_stub=$(printf '%s\n' "$deps" | grep '^\./stub/' | sort -u | tr '\n' ' ' || true)
  [[ -z $from_stub ]] ||
    die "Kubernetes $KUBE_VERSION needs staging modules the Go module proxy does not serve at $STAGING_VERSION: ${from_stub}; use a proxy that has them (GOPROXY) or another ETCD_GUARDIAN_KUBE_VERSION"

  # The same -X pairs as hack/lib/version.sh (client-go and component-base both carry version vars).
  local build_date ldflags="-s -w" pkg
  build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null | head -n1)
  [[ -n $build_date ]] || build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  log "kubernetes: go build ${KUBE_BINARIES[*]} (about 6 min on 2 cores with the modules downloaded; log: $LOGS/kube-build.log)"
  KUBE_LDFLAGS=$ldflags
  run_logged "go build ${KUBE_BINARIES[*]}" "$LOGS/kube-build.log" kube_build
  local b v
  for b in "${KUBE_BINARIES[@]}"; do
    mv -f "$BIN/$b.tmp" "$BIN/$b"
    v=$(kube_version "$BIN/$b")
    [[ $v == "$KUBE_VERSION" ]] || die "$BIN/$b --version reports '${v:-nothing}', expected $KUBE_VERSION"
  done
}

# ---- etcd 3.5+ from the Go module proxy --------------------------------------------------------
# The upstream go.mod files of server, etcdctl and etcdutl carry replace directives (to ../api, ../pkg...), which
# `go install pkg@version` refuses; a throwaway module requiring the three at one version builds their main packages.
ETCD_BUILD_DIR=
ETCD_BUILD_VERSION=
etcd_get() {
  cd "$ETCD_BUILD_DIR" && kube_go get "go.etcd.io/etcd/server/v3@v$ETCD_BUILD_VERSION" \
    "go.etcd.io/etcd/etcdctl/v3@v$ETCD_BUILD_VERSION" "go.etcd.io/etcd/etcdutl/v3@v$ETCD_BUILD_VERSION"
}
etcd_build() {
  local out
  out=$(etcd_build_bin "$ETCD_BUILD_VERSION")
  cd "$ETCD_BUILD_DIR" &&
    kube_go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3 &&
    kube_go build -trimpath -ldflags "-s -w" -o "$out/etcdctl.tmp" go.etcd.io/etcd/etcdctl/v3 &&
    kube_go build -trimpath -ldflags "-s -w" -o "$out/etcdutl.tmp" go.etcd.io/etcd/etcdutl/v3
}

install_etcd_build() { # install_etcd_build VERSION
  local version=$1 out b
  out=$(etcd_build_bin "$version")
  ETCD_BUILD_VERSION=$version
  ETCD_BUILD_DIR=$CACHE/build/etcd-v$version
  mkdir -p "$ETCD_BUILD_DIR" "$out"
  printf '// Generated by etcd-guardian scripts/install-components.sh: builds etcd %s.\nmodule etcd-guardian.local/etcd-build\n\ngo 1.22.0\n' \
    "$version" >"$ETCD_BUILD_DIR/go.mod"
  rm -f "$ETCD_BUILD_DIR/go.sum"
  log "etcd $version: downloading go.etcd.io/etcd/{server,etcdctl,etcdutl}/v3@v$version (log: $LOGS/etcd-$version-deps.log)"
  run_logged "go get etcd $version" "$LOGS/etcd-$version-deps.log" etcd_get
  log "etcd $version: go build etcd, etcdctl, etcdutl (about 1 min on 2 cores; log: $LOGS/etcd-$version-build.log)"
  run_logged "go build etcd $version" "$LOGS/etcd-$version-build.log" etcd_build
  for b in etcd etcdctl etcdutl; do mv -f "$out/$b.tmp" "$out/$b"; done
  need_etcd_build "$version" &&
    die "etcd $version built, but $out/etcd --version, etcdctl version or etcdutl version does not report $version (see $LOGS/etcd-$version-build.log)"
  return 0
}

# ---- stamp -------------------------------------------------------------------------------------
write_stamp() {
  local tmp=$STAMP.tmp
  {
    printf '{\n  "cache": %s,\n  "bin": %s,\n  "components": {\n' "$(json_str "$CACHE")" "$(json_str "$BIN")"
    printf '    "etcd": {"path": %s, "version": %s, "source": "debian:etcd-server", "target": %s},\n' \
      "$(json_str "$BIN/etcd")" "$(json_str "$(etcd_version "$BIN/etcd")")" "$(json_str "$(readlink -f "$BIN/etcd")")"
    printf '    "etcdctl": {"path": %s, "version": %s, "source": "debian:etcd-client", "target": %s},\n' \
      "$(json_str "$BIN/etcdctl")" "$(json_str "$(etcdctl_version "$BIN/etcdctl")")" "$(json_str "$(readlink -f "$BIN/etcdctl")")"
    printf '    "temporal": {"path": %s, "version": %s, "source": "go:github.com/temporalio/cli/cmd/temporal@v%s"},\n' \
      "$(json_str "$BIN/temporal")" "$(json_str "$(temporal_version "$BIN/temporal")")" "$TEMPORAL_VERSION"
    local v dir b sep=
    for b in "${KUBE_BINARIES[@]}"; do
      printf '%s    "%s": {"path": %s, "version": %s, "source": "go:k8s.io/kubernetes/cmd/%s@%s"}' "$sep" "$b" \
        "$(json_str "$BIN/$b")" "$(json_str "$(kube_version "$BIN/$b")")" "$b" "$KUBE_VERSION"
      sep=$',\n'
    done
    for v in "${ETCD_BUILD_LIST[@]}"; do
      dir=$(etcd_build_bin "$v")
      printf ',\n    "etcd-%s": {"path": %s, "version": %s, "etcdctl": %s, "etcdutl": %s, "source": "go:go.etcd.io/etcd/server/v3@v%s"}' \
        "$v" "$(json_str "$dir/etcd")" "$(json_str "$(etcd_version "$dir/etcd")")" "$(json_str "$dir/etcdctl")" \
        "$(json_str "$dir/etcdutl")" "$v"
    done
    printf '\n'
    printf '  }\n}\n'
  } >"$tmp"
  mv -f "$tmp" "$STAMP"
}

# ---- main --------------------------------------------------------------------------------------
MODE=install
FORCE=0
for arg in "$@"; do
  case $arg in
  --check) MODE=check ;;
  --print-env) MODE='env' ;;
  --smoke) MODE=smoke ;;
  --force) FORCE=1 ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    die "unknown option '$arg'"
    ;;
  esac
done

case $MODE in
env)
  print_env
  exit 0
  ;;
check)
  check_only
  exit $?
  ;;
smoke)
  # shellcheck source=lib/smoke-kube-apiserver.sh
  . "$SCRIPT_DIR/lib/smoke-kube-apiserver.sh"
  smoke_kube_apiserver
  exit $?
  ;;
esac

T0=$(now_ms)
mkdir -p "$BIN" "$LOGS" "$CACHE/build"
# One installer at a time per cache.
if have flock; then
  exec 9>"$CACHE/.install.lock"
  flock -n 9 || {
    log "another install is running on $CACHE; waiting for it"
    flock 9
  }
fi
trap 'remove_policy_rc' EXIT

DO_ETCD=1 DO_TEMPORAL=1 DO_KUBE=1
if ((!FORCE)); then
  need_etcd || DO_ETCD=0
  need_temporal || DO_TEMPORAL=0
  need_kube || DO_KUBE=0
fi
check_prereqs
log "cache $CACHE"

declare -A TOOK STATUS
step() { # step NAME DO FUNCTION [ARGS...]
  local name=$1 wanted=$2 t
  shift 2
  t=$(now_ms)
  if ((wanted)); then
    "$@"
    STATUS[$name]=installed
  else
    log "$name: cached"
    STATUS[$name]=cached
  fi
  TOOK[$name]=$(($(now_ms) - t))
}
step etcd "$DO_ETCD" install_etcd
step temporal "$DO_TEMPORAL" install_temporal
step kubernetes "$DO_KUBE" install_kube
for v in "${ETCD_BUILD_LIST[@]}"; do
  DO_BUILD=1
  if ((!FORCE)) && ! need_etcd_build "$v"; then DO_BUILD=0; fi
  step "etcd-$v" "$DO_BUILD" install_etcd_build "$v"
done
write_stamp

log "summary (stamp: $STAMP):"
printf '[install]   %-15s %-10s %-10s %s\n' etcd "$(etcd_version "$BIN/etcd")" "${STATUS[etcd]}" "$(fmt_ms "${TOOK[etcd]}")"
printf '[install]   %-15s %-10s %-10s %s\n' temporal "$(temporal_version "$BIN/temporal")" "${STATUS[temporal]}" "$(fmt_ms "${TOOK[temporal]}")"
printf '[install]   %-15s %-10s %-10s %s  (%s)\n' kubernetes "$(kube_version "$BIN/kube-scheduler")" "${STATUS[kubernetes]}" "$(fmt_ms "${TOOK[kubernetes]}")" "${KUBE_BINARIES[*]}"
for v in "${ETCD_BUILD_LIST[@]}"; do
  printf '[install]   %-15s %-10s %-10s %s  (%s: etcd, etcdctl, etcdutl)\n' "etcd-$v" "$(etcd_version "$(etcd_build_bin "$v")/etcd")" \
    "${STATUS[etcd-$v]}" "$(fmt_ms "${TOOK[etcd-$v]}")" "$(etcd_build_bin "$v")"
done
log "total $(fmt_ms $(($(now_ms) - T0))). Put the binaries on PATH with: eval \"\$($0 --print-env)\""
