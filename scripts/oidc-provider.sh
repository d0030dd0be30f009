#!/usr/bin/env bash
# Starts, stops or checks the OpenID provider that Gatehouse's sign-on tests run against: the npm
# package `oidc-provider` on loopback (crates/server/tests/oidc/provider.mjs says what it serves).
# For the tests only: it is never part of the product.
#
#   scripts/oidc-provider.sh               start it in the background; prints, for `eval`:
#                                            OIDC_ISSUER_URL=http://127.0.0.1:18900
#                                            OIDC_PROVIDER_PID=12345
#                                          (already running on that port: prints the same, starts nothing)
#   scripts/oidc-provider.sh --stop        stop the one on that port (nothing running: nothing to do)
#   scripts/oidc-provider.sh --self-test   check it end to end with no Gatehouse (check.mjs): discovery,
#                                          the code flow with PKCE through its sign-in form, the ID token
#                                          against its keys, its /test/token refusals. Starts one for the
#                                          check and stops it after, unless one was already running.
#
# Settings (environment): OIDC_PROVIDER_PORT (default 18900; the issuer is http://127.0.0.1:<port>),
# OIDC_PROVIDER_CLIENT_SECRET (the secret of the client `gatehouse-test`; default gatehouse-test-secret),
# OIDC_REDIRECT_URI (default http://127.0.0.1:18123/v1/auth/oidc/callback).
#
# What is missing is installed, once: Debian's nodejs and npm with apt; oidc-provider and jose, at
# the versions of crates/server/tests/oidc/package-lock.json (npm ci), into .data/oidc-provider/,
# again only when that lock file changes. The provider's log is .data/oidc-provider/provider-<port>.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "oidc-provider.sh: $*" >&2; }
die() { log "$*"; exit 1; }

action=start
case "${1:-}" in
  "") ;;
  --stop) action=stop ;;
  --self-test) action=self-test ;;
  *) die "usage: $0 [--stop | --self-test]" ;;
esac
(($# <= 1)) || die "usage: $0 [--stop | --self-test]"

port="${OIDC_PROVIDER_PORT:-18900}"
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
  die "OIDC_PROVIDER_PORT is not a port: $port"
fi
export OIDC_PROVIDER_PORT="$port"
issuer="http://127.0.0.1:$port"
sources="$PWD/crates/server/tests/oidc"
data="$PWD/.data/oidc-provider"
pidfile="$data/provider-$port.pid"
logfile="$data/provider-$port.log"

# The pid of the provider this script started on $port, if it still runs.
running_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "provider.mjs" || return 1
  echo "$pid"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "provider $pid did not stop on SIGTERM: SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped the provider at $issuer (pid $pid)"
}

install() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "installing nodejs and npm with apt"
    if [[ $EUID -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >&2
  fi
  mkdir -p "$data"
  # deps.mjs is what the source tree imports its packages through: it must sit beside node_modules.
  cp "$sources/deps.mjs" "$data/deps.mjs"
  if ! cmp -s "$sources/package-lock.json" "$data/pins" || [[ ! -f $data/node_modules/oidc-provider/package.json ]]; then
    log "installing $(node -p "Object.entries(require('$sources/package.json').dependencies).map(([n, v]) => n + '@' + v).join(' ')") into $data"
    rm -rf "$data/node_modules" "$data/pins"
    cp "$sources/package.json" "$sources/package-lock.json" "$data/"
    # No install scripts: neither package needs one.
    npm ci --prefix "$data" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
    cp "$sources/package-lock.json" "$data/pins"
  fi
  export OIDC_PROVIDER_DEPS="$data/deps.mjs"
}

start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running at $issuer (pid $pid)"
  else
    install
    node "$sources/provider.mjs" </dev/null >"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    for _ in $(seq 300); do
      grep -q "^oidc-provider listening" "$logfile" 2>/dev/null && break
      if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pidfile"
        die "the provider exited at start-up; its log ($logfile):"$'\n'"$(tail -n 20 "$logfile")"
      fi
      sleep 0.1
    done
    if ! grep -q "^oidc-provider listening" "$logfile"; then
      stop
      die "the provider did not listen at $issuer within 30 s; its log: $logfile"
    fi
    log "started at $issuer (pid $pid, log $logfile)"
  fi
  echo "OIDC_ISSUER_URL=$issuer"
  echo "OIDC_PROVIDER_PID=$pid"
}

case $action in
  start) start ;;
  stop) stop ;;
  self-test)
    install
    if running_pid >/dev/null; then
      log "checking the provider already running at $issuer"
    else
      start >/dev/null
      trap stop EXIT
    fi
    node "$sources/check.mjs"
    ;;
esac
