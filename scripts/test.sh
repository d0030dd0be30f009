#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy with warnings as errors, every test of the
# workspace against a real PostgreSQL (curl and jq, which the guides' examples use, are installed
# with apt when missing), then the reliability scenarios (scripts/reliability.sh: database outage,
# crash, hostile input) against the release server.
#
# Without DATABASE_URL, scripts/db.sh provisions the local cluster and a throwaway database is
# created for this run and dropped at the end. Tests then create their own databases from a migrated
# template, so they are isolated from each other and run in parallel. With DATABASE_URL, that
# server is used; its role needs the CREATEDB privilege. The reliability scenarios always run on a
# local cluster of their own (GATEHOUSE_PG_CLUSTER=reliability), which they stop and start: the
# database of the tests is never touched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The guides' examples run as written in the tests (crates/server/tests/docs.rs), with curl and jq.
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "== installing ${missing[*]} with apt" >&2
  sudo=(); [[ $EUID -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

if [[ -z ${DATABASE_URL:-} ]]; then
  scratch="gatehouse_run_$$"
  DATABASE_URL="$(scripts/db.sh "$scratch")"
  trap 'env -u DATABASE_URL scripts/db.sh --drop "$scratch" >/dev/null || true' EXIT
  export DATABASE_URL
fi

echo "== cargo fmt" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --all-features --locked
echo "== scripts/reliability.sh" >&2
scripts/reliability.sh
