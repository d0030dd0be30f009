#!/usr/bin/env bash
# Provides the PostgreSQL database Gatehouse runs and tests against, and prints its URL on stdout.
#
#   scripts/db.sh [NAME]        URL of database NAME (default: gatehouse), created if missing
#   scripts/db.sh --drop NAME   drops database NAME
#   scripts/db.sh --stop        stops the local cluster
#   scripts/db.sh --status      succeeds when the local cluster is running (starts nothing)
#
# With DATABASE_URL set, that server is used as it is: the first form prints DATABASE_URL and
# nothing is installed or started. Without it, a local cluster is provisioned, idempotently:
# the PostgreSQL server package is installed with apt if missing (and libpq-dev, which the build
# links against), a cluster is initialised under .data/postgres (or, when the postgres system user
# cannot reach that directory, under /var/tmp), and started on a free port of 127.0.0.1.
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` system user.
#
# GATEHOUSE_PG_CLUSTER=NAME selects another, separate local cluster: data under
# .data/postgres-NAME (or the /var/tmp fallback with the same suffix), its own port file and lock,
# so that it can be stopped and started (scripts/reliability.sh does) without touching the default
# cluster. A cluster keeps its port across --stop and restart (the port file), so that URLs handed
# out before the stop stay valid, unless another process took that port in the meantime.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.data"
pg_user=gatehouse
cluster="${GATEHOUSE_PG_CLUSTER:-}"
if [[ -n $cluster && ! $cluster =~ ^[a-z0-9][a-z0-9_-]*$ ]]; then
  echo "db.sh: invalid GATEHOUSE_PG_CLUSTER: $cluster" >&2
  exit 1
fi
# Names of the cluster's directory, port file and lock file, and the first port it tries. The
# ports are below Linux's ephemeral range (32768-60999): there, the source port of any outgoing
# connection (the tests make thousands) can take the cluster's port between the check that it is
# free and PostgreSQL's bind, which then fails.
suffix="${cluster:+-$cluster}"
port_file="$state/postgres$suffix.port"
lock_file="$state/db$suffix.lock"
first_port=25432
if [[ -n $cluster ]]; then
  first_port=$((25440 + $(printf '%s' "$cluster" | cksum | cut -d' ' -f1) % 50))
fi

log() { echo "db.sh: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"
  fi
}

apt_install() {
  log "installing $* with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# Runs a PostgreSQL program as the user that owns the cluster. The server it may start must not
# inherit the lock on fd 9, or the next run would wait for it forever.
as_owner() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@" 9>&-; else "$@" 9>&-; fi
}

ensure_packages() {
  local missing=()
  bindir="$(pg_bindir)"
  [[ -n $bindir && -x $bindir/initdb ]] || missing+=(postgresql)
  compgen -G '/usr/lib/*/libpq.so' >/dev/null || compgen -G '/usr/lib/libpq.so' >/dev/null \
    || missing+=(libpq-dev)
  if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
  bindir="$(pg_bindir)"
  [[ -n $bindir && -x $bindir/initdb ]] || die "PostgreSQL server binaries not found after install"
}

# The cluster directory: .data/postgres (with the cluster suffix), unless the postgres user cannot
# reach it.
choose_datadir() {
  mkdir -p "$state"
  datadir="$state/postgres$suffix"
  if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$state"; then
    datadir="/var/tmp/gatehouse-$(printf '%s' "$root" | cksum | cut -d' ' -f1)/postgres$suffix"
    log "the postgres user cannot reach $state; using $datadir"
  fi
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_port() {
  as_owner "$bindir/pg_ctl" status -D "$datadir" >/dev/null 2>&1 || return 1
  sed -n 4p "$datadir/postmaster.pid"
}

start_cluster() {
  if [[ ! -s $datadir/PG_VERSION ]]; then
    log "initialising a cluster in $datadir"
    mkdir -p "$datadir"
    if [[ $EUID -eq 0 ]]; then chown postgres: "$datadir"; fi
    chmod 700 "$datadir"
    as_owner "$bindir/initdb" -D "$datadir" -U "$pg_user" --auth=trust --encoding=UTF8 \
      --no-locale --no-sync >&2
  fi
  if port="$(running_port)"; then return; fi
  port="$(cat "$port_file" 2>/dev/null || echo "$first_port")"
  local wanted="$port"
  while ! port_is_free "$port"; do port=$((port + 1)); done
  if [[ $port != "$wanted" ]]; then log "port $wanted is taken; using $port"; fi
  echo "$port" >"$port_file"
  log "starting PostgreSQL on 127.0.0.1:$port"
  as_owner "$bindir/pg_ctl" start -D "$datadir" -l "$datadir/server.log" -w -t 60 \
    -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300" >&2 \
    || { tail -n 20 "$datadir/server.log" >&2 || true; die "PostgreSQL did not start"; }
}

psql_admin() {
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$pg_user" -d postgres -tA "$@"
}

valid_name() { [[ $1 =~ ^[a-z_][a-z0-9_]*$ ]] || die "invalid database name: $1"; }

main() {
  local action=url name=gatehouse
  case "${1:-}" in
    --stop) action=stop ;;
    --status) action=status ;;
    --drop) action=drop; name="${2:?--drop needs a database name}" ;;
    "") ;;
    -*) die "unknown option $1" ;;
    *) name="$1" ;;
  esac
  valid_name "$name"

  if [[ -n ${DATABASE_URL:-} ]]; then
    [[ $action == url ]] || die "DATABASE_URL is set: manage that server yourself"
    echo "$DATABASE_URL"
    return
  fi

  mkdir -p "$state"
  exec 9>"$lock_file"
  flock 9
  ensure_packages
  choose_datadir
  if [[ $action == stop ]]; then
    as_owner "$bindir/pg_ctl" stop -D "$datadir" -m fast >&2 || true
    return
  fi
  if [[ $action == status ]]; then
    running_port >/dev/null
    return
  fi
  start_cluster
  case "$action" in
    drop) psql_admin -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" ;;
    url)
      if [[ -z $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$name'") ]]; then
        psql_admin -c "CREATE DATABASE $name"
      fi
      echo "postgres://$pg_user@127.0.0.1:$port/$name"
      ;;
  esac
}

main "$@"
