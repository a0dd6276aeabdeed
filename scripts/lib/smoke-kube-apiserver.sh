# shellcheck shell=bash
# Smoke test of the cached kube-apiserver: a throwaway etcd and apiserver on loopback high ports,
# a token-authenticated GET /version, then everything is stopped and removed.
# Sourced by install-components.sh (--smoke); needs lib/common.sh, openssl and curl.

: "${SMOKE_ETCD_CLIENT_PORT:=23790}"
: "${SMOKE_ETCD_PEER_PORT:=23800}"
: "${SMOKE_APISERVER_PORT:=26443}"

SMOKE_DIR=
SMOKE_ETCD_PID=
SMOKE_API_PID=

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after the deadline (a lone etcd can be slow to exit).
smoke_stop_pid() {
  local pid=$1 deadline=$2 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < deadline * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

smoke_cleanup() {
  smoke_stop_pid "$SMOKE_API_PID" 10
  smoke_stop_pid "$SMOKE_ETCD_PID" 10
  # SMOKE_LOG_DIR=dir keeps copies of the etcd and apiserver logs.
  if [[ -n ${SMOKE_LOG_DIR:-} && -n $SMOKE_DIR ]]; then
    mkdir -p "$SMOKE_LOG_DIR"
    cp "$SMOKE_DIR"/*.log "$SMOKE_LOG_DIR"/ 2>/dev/null || true
  fi
  [[ -n $SMOKE_DIR && -d $SMOKE_DIR ]] && rm -rf "$SMOKE_DIR"
  SMOKE_API_PID='' SMOKE_ETCD_PID='' SMOKE_DIR=''
}

smoke_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

smoke_kube_apiserver() {
  local bin=$ETCD_GUARDIAN_CACHE/bin p
  for p in etcd etcdctl kube-apiserver; do
    [[ -x $bin/$p ]] || die "$bin/$p is missing; run scripts/install-components.sh first"
  done
  have openssl || die "openssl is required for the smoke test (apt-get install openssl)"
  have curl || die "curl is required for the smoke test (apt-get install curl)"
  for p in "$SMOKE_ETCD_CLIENT_PORT" "$SMOKE_ETCD_PEER_PORT" "$SMOKE_APISERVER_PORT"; do
    smoke_port_free "$p" || die "port 127.0.0.1:$p is in use; set SMOKE_ETCD_CLIENT_PORT / SMOKE_ETCD_PEER_PORT / SMOKE_APISERVER_PORT"
  done

  SMOKE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/etcd-guardian-smoke.XXXXXX")
  trap smoke_cleanup EXIT
  local d=$SMOKE_DIR token t0 t1 t2 i
  token=$(openssl rand -hex 16)
  printf '%s,smoke-admin,smoke-admin,"system:masters"\n' "$token" >"$d/tokens.csv"
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null

  local etcd_url=http://127.0.0.1:$SMOKE_ETCD_CLIENT_PORT
  t0=$(now_ms)
  "$bin/etcd" --name smoke --data-dir "$d/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$SMOKE_ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$SMOKE_ETCD_PEER_PORT" \
    --initial-cluster "smoke=http://127.0.0.1:$SMOKE_ETCD_PEER_PORT" >"$d/etcd.log" 2>&1 &
  SMOKE_ETCD_PID=$!
  for ((i = 0; i < 100; i++)); do
    "$bin/etcdctl" --endpoints "$etcd_url" endpoint health >/dev/null 2>&1 && break
    kill -0 "$SMOKE_ETCD_PID" 2>/dev/null || { tail -n 20 "$d/etcd.log" >&2; die "smoke: etcd exited"; }
    sleep 0.2
  done
  ((i < 100)) || die "smoke: etcd not healthy after 20 s"
  log "smoke: etcd healthy on $etcd_url after $(fmt_ms $(($(now_ms) - t0)))"

  local api=https://127.0.0.1:$SMOKE_APISERVER_PORT
  local flags=(
    --etcd-servers="$etcd_url"
    --bind-address=127.0.0.1
    --secure-port="$SMOKE_APISERVER_PORT"
    --advertise-address=127.0.0.1
    --endpoint-reconciler-type=none
    --cert-dir="$d/certs"
    --service-cluster-ip-range=10.96.0.0/16
    --authorization-mode=RBAC
    --token-auth-file="$d/tokens.csv"
    --service-account-issuer="$api"
    --service-account-key-file="$d/sa.pub"
    --service-account-signing-key-file="$d/sa.key"
    --allow-privileged=true
  )
  log "smoke: kube-apiserver ${flags[*]}"
  t1=$(now_ms)
  "$bin/kube-apiserver" "${flags[@]}" >"$d/apiserver.log" 2>&1 &
  SMOKE_API_PID=$!
  local code=
  for ((i = 0; i < 600; i++)); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$api/readyz" || true)
    [[ $code == 200 ]] && break
    kill -0 "$SMOKE_API_PID" 2>/dev/null || { tail -n 30 "$d/apiserver.log" >&2; die "smoke: kube-apiserver exited"; }
    sleep 0.2
  done
  [[ $code == 200 ]] || { tail -n 30 "$d/apiserver.log" >&2; die "smoke: kube-apiserver not ready after 120 s (last /readyz: $code)"; }
  t2=$(now_ms)
  log "smoke: /readyz 200 after $(fmt_ms $((t2 - t1)))"
  local version ns
  version=$(curl -skf -H "Authorization: Bearer $token" "$api/version") || die "smoke: GET /version failed"
  log "smoke: GET /version -> $(printf '%s' "$version" | tr -d ' \n')"
  ns=$(curl -skf -H "Authorization: Bearer $token" "$api/api/v1/namespaces" | grep -c '"name"' || true)
  log "smoke: GET /api/v1/namespaces as smoke-admin (system:masters) -> $ns names"
  code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong-token" "$api/api/v1/namespaces" || true)
  log "smoke: same request with a wrong token -> HTTP $code"
  smoke_cleanup
  trap - EXIT
  log "smoke: ok (apiserver ready $(fmt_ms $((t2 - t1))) after start; processes stopped, temp dir removed)"
}
