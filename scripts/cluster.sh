#!/usr/bin/env bash
# Runs several Gatehouse instances on one PostgreSQL behind nginx, as in production behind a load
# balancer, on this machine.
#
#   scripts/cluster.sh [--instances N] [--foreground]
#                                  builds target/release/gatehouse, applies the migrations once,
#                                  starts N instances (2 or 3, default 2) on loopback ports and
#                                  nginx in front of them on CLUSTER_PORT (default 8080), waits
#                                  until each answers /health, prints the URL and the master key
#                                  and returns; with --foreground it stays until Ctrl-C or a TERM
#                                  instead, then stops everything
#   scripts/cluster.sh --restart-rolling
#                                  restarts the instances one at a time: SIGTERM (requests in
#                                  flight finish), wait for it to exit, start it again on the same
#                                  port with the same environment, wait until its /health answers
#                                  200, wait nginx's fail_timeout, then the next one
#   scripts/cluster.sh --stop      stops nginx and the instances this script started
#   scripts/cluster.sh --status    lists what runs; succeeds when nginx and every instance do
#
# Without DATABASE_URL, scripts/db.sh provisions the local PostgreSQL (as scripts/run.sh does).
# Without MASTER_KEY, the one in .data/master_key is used (generated once). The instances get the
# rest of this environment (see docs/configuration.md), with TRUSTED_PROXIES=127.0.0.1 unless it
# is set, so that login throttling counts failures under the client's address that nginx puts in
# X-Forwarded-For, not under nginx's. nginx (Debian's package, installed with apt when missing,
# without letting the package start the system's nginx) runs with a configuration of its own, never
# /etc/nginx's: everything of a cluster is under CLUSTER_DIR (default .data/cluster): nginx.conf,
# its pid file, logs and temporary directories, and each instance's pid, port and log
# (instance-K.pid, instance-K.port, instance-K.log, K from 1).
#
# Why nginx is configured as it is: see nginx_conf below. A start that fails half-way stops what
# it started; --stop never leaves nginx running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir="${CLUSTER_DIR:-$PWD/.data/cluster}"
[[ $dir == /* ]] || dir="$PWD/$dir"
nginx_port="${CLUSTER_PORT:-8080}"
# nginx puts an instance that refused a connection aside for this long (fail_timeout); a rolling
# restart waits as long after an instance is back before stopping the next, so that with two
# instances nginx never has both aside at once (it would answer 502 "no live upstreams").
fail_timeout=2

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Whether process $1 runs (a zombie, which nobody reaped yet, does not) and its command line
# contains $2: a pid file left behind must not make us signal a process that reused its number.
running() {
  local pid=$1 what=$2 state cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *"$what"* ]]
}

# Waits up to $2 seconds for process $1 to be gone.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while running "$pid" ""; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The status code of GET $2 on 127.0.0.1:$1, or nothing: plain bash, so that curl is not needed.
http_status() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
    read -r _ status _ <&3 && echo "$status"' _ "$1" "$2" 2>/dev/null || true
}

# Waits up to $3 seconds until instance $1 (pid $2) answers 200 on /health.
wait_healthy() {
  local k=$1 pid=$2 deadline=$((SECONDS + $3)) port
  port="$(cat "$dir/instance-$k.port")"
  until [[ $(http_status "$port" /health) == 200 ]]; do
    if ! running "$pid" gatehouse; then
      tail -n 20 "$dir/instance-$k.log" >&2 || true
      die "instance $k (port $port) stopped; its log: $dir/instance-$k.log"
    fi
    ((SECONDS < deadline)) || die "instance $k (port $port) did not answer /health with 200 in $3 s"
    sleep 0.1
  done
}

nginx_bin() {
  command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }
}

# Installs nginx with apt when missing. A package's maintainer script would start the system's
# nginx (port 80, /etc/nginx): a policy-rc.d that forbids starting services is put in place for the
# install when there is none (containers usually have one) and removed after it.
ensure_nginx() {
  [[ -z $(nginx_bin) ]] || return 0
  local sudo=() policy=/usr/sbin/policy-rc.d placed=
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  log "installing nginx with apt"
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    placed=1
  fi
  local status=0
  {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
      && { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends nginx-light >&2 2>/dev/null \
        || "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          --no-install-recommends nginx >&2; }
  } || status=$?
  if [[ -n $placed ]]; then "${sudo[@]}" rm -f "$policy"; fi
  ((status == 0)) || die "could not install nginx"
  [[ -n $(nginx_bin) ]] || die "nginx not found after its install"
}

# nginx with our configuration and prefix, never the system's.
run_nginx() {
  "$(nginx_bin)" 7>&- -p "$dir/nginx/" -c "$dir/nginx.conf" -e "$dir/nginx/logs/error.log" "$@"
}

# The configuration, for instances on ports $@.
#
# - Retries (proxy_next_upstream error timeout): a refused or reset connection, or a connect
#   timeout, is tried on the next instance, at most once per instance
#   (proxy_next_upstream_tries), within 10 s. nginx never retries a POST or PATCH once it has sent
#   it (it may have been done): that needs `non_idempotent`, which is left out on purpose, since a
#   POST cut by an instance's crash would then be done twice (a second organization, or a 409 for
#   the client's own create). http_502 is left out since Gatehouse never answers 502 itself, and
#   http_503 since Gatehouse's 503 means "database unavailable": another instance would say the
#   same after its own 2 s wait, tripling the answer's time, and marking every instance failed
#   would turn the 503s into nginx's 502s.
# - A short connect timeout (1 s): on loopback a stopped instance refuses at once; on a network, a
#   dead host must not hold a request long before the next instance is tried.
# - max_fails=1 with a short fail_timeout: an instance that refused is put aside for 2 s, then
#   tried again with live traffic; nginx (open source) has no active health checks.
# - keepalive to the instances, over HTTP/1.1 with the Connection header cleared (nginx would send
#   "close"), closed by nginx after 4 s idle: below Gatehouse's 5 s keep-alive
#   (crates/server/src/startup.rs), so that nginx never sends a request on a connection the
#   instance is closing for idleness.
# - X-Forwarded-For: the client's address appended to what the client sent; Gatehouse, with
#   TRUSTED_PROXIES=127.0.0.1, takes the right-most address that is not a trusted proxy, which is
#   the one nginx appended.
# - Bodies are held in memory (Gatehouse takes at most 64 KiB) and answers are never spooled to
#   disk, so that the workers (which drop root's rights) never need the temporary directories.
nginx_conf() {
  local user=
  [[ $EUID -ne 0 ]] || user="user nobody nogroup;"
  cat <<CONF
# Written by scripts/cluster.sh; rewritten at each start.
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx/logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    log_format upstream '\$remote_addr [\$time_local] "\$request" \$status \$request_time '
                        'upstream=\$upstream_addr status=\$upstream_status time=\$upstream_response_time';
    access_log $dir/nginx/logs/access.log upstream buffer=64k flush=1s;
    client_body_temp_path $dir/nginx/tmp/client_body;
    proxy_temp_path $dir/nginx/tmp/proxy;
    fastcgi_temp_path $dir/nginx/tmp/fastcgi;
    uwsgi_temp_path $dir/nginx/tmp/uwsgi;
    scgi_temp_path $dir/nginx/tmp/scgi;
    client_max_body_size 1m;
    client_body_buffer_size 1m;
    proxy_max_temp_file_size 0;
    server_tokens off;

    upstream gatehouse {
$(for port in "$@"; do echo "        server 127.0.0.1:$port max_fails=1 fail_timeout=${fail_timeout}s;"; done)
        keepalive 32;
        keepalive_timeout 4s;
    }

    server {
        listen 127.0.0.1:$nginx_port;

        location / {
            proxy_pass http://gatehouse;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_connect_timeout 1s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries $#;
            proxy_next_upstream_timeout 10s;
        }
    }
}
CONF
}

binary=target/release/gatehouse

# Starts instance $1 on port $2, with this environment; writes its pid file.
start_instance() {
  local k=$1 port=$2
  echo "$port" >"$dir/instance-$k.port"
  LISTEN_ADDR="127.0.0.1:$port" "$binary" serve >>"$dir/instance-$k.log" 2>&1 </dev/null 7>&- &
  echo $! >"$dir/instance-$k.pid"
}

# Restarts instance $1 with the environment it runs with (read from /proc), on its port.
restart_instance() {
  local k=$1 pid port vars=()
  pid="$(cat "$dir/instance-$k.pid" 2>/dev/null || true)"
  port="$(cat "$dir/instance-$k.port")"
  running "$pid" gatehouse || die "instance $k is not running; start the cluster again"
  mapfile -d '' vars <"/proc/$pid/environ"
  log "instance $k (port $port, pid $pid): SIGTERM"
  kill -TERM "$pid"
  # Gatehouse waits up to 10 s for requests in flight.
  if ! wait_gone "$pid" 20; then
    log "instance $k did not stop within 20 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "instance $k (pid $pid) does not stop"
  fi
  env -i "${vars[@]}" LISTEN_ADDR="127.0.0.1:$port" "$binary" serve \
    >>"$dir/instance-$k.log" 2>&1 </dev/null 7>&- &
  pid=$!
  echo "$pid" >"$dir/instance-$k.pid"
  wait_healthy "$k" "$pid" 60
  log "instance $k (port $port, pid $pid): healthy"
}

# Stops nginx, then the instances: SIGTERM, then SIGKILL after 20 s.
stop_all() {
  local pid file pids=()
  pid="$(cat "$dir/nginx.pid" 2>/dev/null || true)"
  if running "$pid" nginx; then
    kill -QUIT "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 10; then
      kill -KILL "$pid" 2>/dev/null || true
      pkill -KILL -P "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/nginx.pid"
  for file in "$dir"/instance-*.pid; do
    [[ -e $file ]] || continue
    pid="$(cat "$file")"
    if running "$pid" gatehouse; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    if ! wait_gone "$pid" 20; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -f "$dir"/instance-*.pid
}

# At the exit of a start: what it started is stopped unless the start succeeded.
stop_on_failure() {
  local rc=$?
  if ((rc)); then stop_all; fi
  exit "$rc"
}

status() {
  local ok=0 pid k
  pid="$(cat "$dir/nginx.pid" 2>/dev/null || true)"
  if running "$pid" nginx; then
    echo "nginx      pid $pid, http://127.0.0.1:$(cat "$dir/nginx.port" 2>/dev/null)"
  else
    echo "nginx      not running"; ok=1
  fi
  for file in "$dir"/instance-*.pid; do
    [[ -e $file ]] || continue
    k="${file##*/instance-}"; k="${k%.pid}"
    pid="$(cat "$file")"
    if running "$pid" gatehouse; then
      echo "instance $k pid $pid, port $(cat "$dir/instance-$k.port"), /health $(http_status "$(cat "$dir/instance-$k.port")" /health)"
    else
      echo "instance $k not running"; ok=1
    fi
  done
  return "$ok"
}

start() {
  local instances=$1 foreground=$2 k port ports=()
  [[ $instances =~ ^[23]$ ]] || die "--instances must be 2 or 3"
  local file what
  for file in "$dir/nginx.pid" "$dir"/instance-*.pid; do
    what=gatehouse
    [[ $file != */nginx.pid ]] || what=nginx
    if [[ -e $file ]] && running "$(cat "$file")" "$what"; then
      die "a cluster already runs from $dir: scripts/cluster.sh --stop first"
    fi
  done
  port_is_free "$nginx_port" \
    || die "cannot listen on 127.0.0.1:$nginx_port: address already in use; set CLUSTER_PORT"

  if [[ -z ${DATABASE_URL:-} ]]; then
    DATABASE_URL="$(scripts/db.sh 7>&-)"
    export DATABASE_URL
  fi
  if [[ -z ${MASTER_KEY:-} ]]; then
    local key_file=.data/master_key
    if [[ ! -s $key_file ]]; then
      mkdir -p .data
      (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_file")
    fi
    MASTER_KEY="$(cat "$key_file")"
    export MASTER_KEY
  fi
  export TRUSTED_PROXIES="${TRUSTED_PROXIES-127.0.0.1}"
  ensure_nginx
  # After db.sh, which installs libpq-dev on a clean machine. Only when the binary is missing or
  # older than a source: cargo would rebuild a binary that scripts/reliability.sh built along with
  # its example (other dependency features), for minutes, for nothing.
  if [[ ! -x $binary ]] \
    || [[ -n $(find crates migrations Cargo.toml Cargo.lock \
      \( -name tests -o -name examples -o -name benches -o -name target \) -prune \
      -o -newer "$binary" -print -quit) ]]; then
    command -v cargo >/dev/null || die "$binary is missing or stale, and cargo is not installed"
    cargo build --release --locked --bin gatehouse >&2 7>&-
  fi

  # From here on, a failure stops what was started.
  trap stop_on_failure EXIT
  trap 'exit 130' INT TERM
  # Each start's logs are its own.
  rm -rf "$dir/nginx"
  rm -f "$dir"/instance-* "$dir/migrate.log"
  mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
  # Once, before the instances: each would otherwise apply them at once, in parallel.
  "$binary" migrate >>"$dir/migrate.log" 2>&1 7>&- || {
    tail -n 20 "$dir/migrate.log" >&2
    die "gatehouse migrate failed; its log: $dir/migrate.log"
  }
  port=$((nginx_port + 1))
  for ((k = 1; k <= instances; k++)); do
    while ! port_is_free "$port"; do port=$((port + 1)); done
    ports+=("$port")
    start_instance "$k" "$port"
    port=$((port + 1))
  done
  for ((k = 1; k <= instances; k++)); do
    wait_healthy "$k" "$(cat "$dir/instance-$k.pid")" 60
  done

  (umask 077 && nginx_conf "${ports[@]}" >"$dir/nginx.conf")
  run_nginx -t -q || die "nginx refused $dir/nginx.conf"
  run_nginx -g 'daemon on;'
  echo "$nginx_port" >"$dir/nginx.port"
  local deadline=$((SECONDS + 10))
  until [[ $(http_status "$nginx_port" /health) == 200 ]]; do
    ((SECONDS < deadline)) || die "nginx does not answer on 127.0.0.1:$nginx_port; see $dir/nginx/logs"
    sleep 0.1
  done

  cat >&2 <<MSG

  Gatehouse on http://localhost:$nginx_port (nginx in front of $instances instances: ports ${ports[*]})
  Console:    http://localhost:$nginx_port/console/ (sign in as "master" with the master key)
  Master key: $MASTER_KEY
  Logs:       $dir

  Try: curl -H "Authorization: Bearer \$MASTER_KEY" http://localhost:$nginx_port/v1/admin/organizations
$(if $foreground; then echo "  Ctrl-C stops the cluster."; else
    echo "  Stop with scripts/cluster.sh --stop; restart one by one with --restart-rolling."; fi)

MSG
  if $foreground; then
    trap 'exit 0' INT TERM
    trap 'stop_all' EXIT
    # --stop and --restart-rolling may run meanwhile (an instance is then briefly down).
    flock -u 7
    while running "$(cat "$dir/nginx.pid" 2>/dev/null)" nginx; do sleep 1; done
    die "nginx stopped; see $dir/nginx/logs"
  fi
  trap - EXIT INT TERM
}

main() {
  local action=start instances=2 foreground=false
  while (($#)); do
    case $1 in
      --instances) instances="${2:?--instances needs a number}"; shift ;;
      --instances=*) instances="${1#*=}" ;;
      --foreground) foreground=true ;;
      --stop) action=stop ;;
      --status) action=status ;;
      --restart-rolling) action=rolling ;;
      -h | --help) usage ;;
      *) log "unknown argument: $1"; usage ;;
    esac
    shift
  done
  mkdir -p "$dir"
  # One command at a time on a cluster: a --stop must not race a --restart-rolling. No child may
  # inherit the lock (7>&-): an instance or nginx left behind would hold it.
  exec 7>"$dir/lock"
  flock 7
  case $action in
    start) start "$instances" "$foreground" ;;
    stop) stop_all ;;
    status) status ;;
    rolling)
      local files=("$dir"/instance-*.pid) k
      [[ -e ${files[0]} ]] || die "no cluster runs from $dir"
      for ((k = 1; k <= ${#files[@]}; k++)); do
        restart_instance "$k"
        ((k == ${#files[@]})) || sleep "$fail_timeout"
      done
      ;;
  esac
}

main "$@"
