#!/usr/bin/env bash
# Builds and starts Gatehouse on localhost:8000.
#
# Without DATABASE_URL, scripts/db.sh provisions a local PostgreSQL under .data/ (installing the
# server package if it is missing). Without MASTER_KEY, a random one is generated once and kept in
# .data/master_key. Pending migrations are applied before serving. Other settings come from the
# environment (see docs/configuration.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z ${DATABASE_URL:-} ]]; then
  DATABASE_URL="$(scripts/db.sh)"
  export DATABASE_URL
fi

if [[ -z ${MASTER_KEY:-} ]]; then
  key_file=.data/master_key
  if [[ ! -s $key_file ]]; then
    mkdir -p .data
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_file")
  fi
  MASTER_KEY="$(cat "$key_file")"
  export MASTER_KEY
fi

export LISTEN_ADDR="${LISTEN_ADDR:-127.0.0.1:8000}"
port="${LISTEN_ADDR##*:}"
host="${LISTEN_ADDR%:*}"
host="${host#[}"
host="${host%]}"
# Where to knock to see whether something listens: a wildcard address is reached on loopback.
case $host in
  0.0.0.0 | '') probe=127.0.0.1 ;;
  ::) probe=::1 ;;
  *) probe=$host ;;
esac

# Whether something accepts connections on LISTEN_ADDR.
listening() {
  timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$probe" "$port" 2>/dev/null
}

refuse_taken_address() {
  if listening; then
    echo "error: cannot listen on $LISTEN_ADDR: address already in use; set LISTEN_ADDR to another address" >&2
    exit 1
  fi
}

# Before the build, which can take minutes: a taken address is told at once.
refuse_taken_address
cargo build --release --locked --bin gatehouse
refuse_taken_address

target/release/gatehouse serve &
server=$!
# Ctrl-C or a TERM stops the server gracefully; this script then ends with it.
stopping=
trap 'stopping=1; kill -TERM "$server" 2>/dev/null || true' INT TERM

# The banner only once the server listens (after its migrations). If it stops first, it has said
# why (its bind error names LISTEN_ADDR), and so does its exit status.
until listening; do
  if ! kill -0 "$server" 2>/dev/null; then
    status=0
    wait "$server" || status=$?
    exit "$status"
  fi
  sleep 0.2
done

cat >&2 <<MSG

  Gatehouse on http://localhost:$port
  Console:    http://localhost:$port/console/ (sign in as "master" with the master key)
  API docs:   http://localhost:$port/docs
  Master key: $MASTER_KEY

  Try: curl -H "Authorization: Bearer \$MASTER_KEY" http://localhost:$port/v1/admin/organizations

MSG

status=0
wait "$server" || status=$?
if [[ -n $stopping ]]; then
  # The signal ended that wait at once; this one returns the server's own status once it has
  # finished the requests in flight.
  status=0
  wait "$server" || status=$?
fi
exit "$status"
