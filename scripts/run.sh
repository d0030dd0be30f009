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

cargo build --release --locked --bin gatehouse

cat >&2 <<MSG

  Gatehouse on http://localhost:$port
  API docs:   http://localhost:$port/docs
  Master key: $MASTER_KEY

  Try: curl -H "Authorization: Bearer \$MASTER_KEY" http://localhost:$port/v1/admin/organizations

MSG
exec target/release/gatehouse serve
