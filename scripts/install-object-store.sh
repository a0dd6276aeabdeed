#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The S3-compatible object store the sandbox's backups go to: SeaweedFS's `weed` (Apache-2.0), built from the Go
# module proxy into $CACHE/bin/weed. The tests, the game days and the benchmarks need it; the demo does not (its
# backups go to a directory when no object store is installed), so scripts/demo.sh does not call this.
# Idempotent: a second run checks the version and takes a second. About 6 minutes on 2 cores the first time.
#
# Usage: scripts/install-object-store.sh [--check | --force]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

# A pseudo-version the Go module proxy serves (go list -m -versions lists no tags for the module: releases are
# tagged without the module path). Its go.mod says go 1.26.6 and has a replace directive, so `go install mod@v`
# refuses it: the module is copied out of the module cache and built in place.
WEED_MODULE=github.com/seaweedfs/seaweedfs
WEED_VERSION=${ETCD_GUARDIAN_WEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}
GO_MIN_WEED=1.26.0

CACHE=$ETCD_GUARDIAN_CACHE
BIN=$CACHE/bin
LOGS=$CACHE/logs
BUILD=$CACHE/build/weed-$WEED_VERSION
STAMP=$BIN/weed.version

have_weed() { [[ -x $BIN/weed && -f $STAMP && $(cat "$STAMP") == "$WEED_VERSION" ]]; }

case ${1:-} in
--check)
  if have_weed; then exit 0; fi
  log "missing: weed $WEED_VERSION in $BIN (the sandbox's S3 object store)"
  log "run scripts/install-object-store.sh to build it"
  exit 1
  ;;
--force) rm -f "$STAMP" ;;
'') ;;
*) die "unknown option '$1' (usage: scripts/install-object-store.sh [--check | --force])" ;;
esac

if have_weed; then
  log "object store: weed $WEED_VERSION present in $BIN"
  exit 0
fi

have go || die "Go >= ${GO_MIN_WEED%.0} is required to build SeaweedFS (the sandbox's object store); install it from https://go.dev/dl or your package manager"
found=$(go env GOVERSION 2>/dev/null) || die "'go env GOVERSION' failed; is the Go installation broken? (https://go.dev/dl)"
if [[ $found =~ ^go([0-9]+(\.[0-9]+)*) ]]; then
  version_ge "${BASH_REMATCH[1]}" "$GO_MIN_WEED" || die "Go >= ${GO_MIN_WEED%.0} is required to build SeaweedFS (found $found); install a newer Go from https://go.dev/dl"
fi

mkdir -p "$BIN" "$LOGS" "$CACHE/build"
exec 9>"$CACHE/.install-weed.lock"
flock 9

T0=$(now_ms)
weed_go() { env GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 go "$@"; }
log "object store: downloading $WEED_MODULE@$WEED_VERSION (log: $LOGS/weed-download.log)"
json=$(cd "$CACHE/build" && weed_go mod download -json "$WEED_MODULE@$WEED_VERSION" 2>"$LOGS/weed-download.log") ||
  die "go mod download $WEED_MODULE@$WEED_VERSION failed; see $LOGS/weed-download.log"
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $dir ]] || die "cannot find $WEED_MODULE@$WEED_VERSION in the module cache after go mod download"

# The module cache is read-only; a writable copy is built, with its own go.mod and its replace directive.
rm -rf "$BUILD"
mkdir -p "$BUILD"
cp -R "$dir/." "$BUILD/"
chmod -R u+w "$BUILD"
build() { cd "$BUILD" && weed_go build -trimpath -ldflags "-s -w" -o "$BIN/weed.tmp" ./weed; }
log "object store: go build weed (about 5 min on 2 cores; log: $LOGS/weed-build.log)"
run_logged "go build weed" "$LOGS/weed-build.log" build
mv -f "$BIN/weed.tmp" "$BIN/weed"
"$BIN/weed" version >/dev/null 2>&1 || die "$BIN/weed was built but 'weed version' fails; see $LOGS/weed-build.log"
printf '%s\n' "$WEED_VERSION" >"$STAMP"
# The sources are not needed once built (about 100 MB).
rm -rf "$BUILD"
log "object store: weed $WEED_VERSION installed in $BIN ($(fmt_ms $(($(now_ms) - T0))))"
