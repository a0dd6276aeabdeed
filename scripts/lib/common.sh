# shellcheck shell=bash
# Small helpers shared by the etcd-guardian shell scripts. Source it; do not run it.

# Where everything is cached. Never inside the repository.
: "${ETCD_GUARDIAN_CACHE:=${HOME}/.cache/etcd-guardian}"

log() { printf '[install] %s\n' "$*"; }
warn() { printf '[install] WARNING: %s\n' "$*" >&2; }
# die MESSAGE: one line on stderr, exit 1.
die() {
  printf 'etcd-guardian: %s\n' "$*" >&2
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# Milliseconds since the epoch (GNU date).
now_ms() { date +%s%3N; }

# fmt_ms 83456 -> "1m23.5s"; 2345 -> "2.3s"
fmt_ms() {
  local ms=$1
  if ((ms >= 60000)); then
    printf '%dm%02d.%ds' $((ms / 60000)) $(((ms % 60000) / 1000)) $(((ms % 1000) / 100))
  else
    printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
  fi
}

# version_ge A B: true when version A >= version B (dotted numbers, leading "v"/"go" ignored).
version_ge() {
  local a=${1#v} b=${2#v}
  a=${a#go}
  b=${b#go}
  [[ "$(printf '%s\n%s\n' "$b" "$a" | sort -V | head -n1)" == "$b" ]]
}

# as_root CMD...: run as root directly, or through sudo when we are not root.
as_root() {
  if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    die "root privileges are needed to run '$*'; run as root or install sudo"
  fi
}

can_be_root() { [[ ${EUID:-$(id -u)} -eq 0 ]] || have sudo; }

# json_str VALUE: VALUE as a JSON string literal (handles quotes, backslashes, control characters).
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# run_logged LABEL LOGFILE CMD...: run CMD with its output in LOGFILE, print a heartbeat every
# minute (silent CI jobs get killed), and on failure show the end of the log and exit.
run_logged() {
  local label=$1 logfile=$2
  shift 2
  mkdir -p "$(dirname "$logfile")"
  local start pid rc=0 last_beat
  start=$(now_ms)
  last_beat=$start
  "$@" >"$logfile" 2>&1 &
  pid=$!
  # Make an interrupt stop the child too (only the one we started).
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    local now
    now=$(now_ms)
    if ((now - last_beat >= 60000)); then
      log "  ${label}: still running ($(fmt_ms $((now - start))) so far)"
      last_beat=$now
    fi
  done
  wait "$pid" || rc=$?
  trap - INT TERM
  if ((rc != 0)); then
    printf '[install] %s failed (exit %d); last lines of %s:\n' "$label" "$rc" "$logfile" >&2
    tail -n 30 "$logfile" | sed 's/^/[install]   | /' >&2
    die "${label} failed; full log: ${logfile}"
  fi
}
