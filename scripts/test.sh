#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy with warnings as errors, every test of the
# workspace against a real PostgreSQL (curl and jq, which the guides' examples use, are installed
# with apt when missing) and, for sign-on, a real OpenID provider (scripts/oidc-provider.sh), the
# web console's browser tests (scripts/console-test.sh: headless
# Chromium, axe-core), then the reliability scenarios (scripts/reliability.sh: database outage,
# crash, hostile input, rolling restart and instance killed behind nginx) against the release
# server.
#
# Without DATABASE_URL, scripts/db.sh provisions the local cluster and a throwaway database is
# created for this run and dropped at the end; a cluster this run had to start is stopped at the
# end too (a developer's cluster, already running, stays up). Tests then create their own databases from a migrated
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

# The local cluster is stopped by the last run out, and only when a run started it: a run that
# finds it stopped marks it (`started`); every run holds a shared lock (fd 7) while it uses it;
# at exit, a run that gets that lock exclusively is the last one and stops a marked cluster,
# holding the lock meanwhile so that a run starting then waits. No child may inherit fd 7 (7>&-),
# or one left behind (PostgreSQL, above all) would keep every later run from stopping it.
if [[ -z ${DATABASE_URL:-} ]]; then
  db() { env -u DATABASE_URL scripts/db.sh "$@" 7>&-; }
  cluster="${GATEHOUSE_PG_CLUSTER:+-$GATEHOUSE_PG_CLUSTER}"
  started=".data/postgres$cluster.started-by-test"
  mkdir -p .data
  scratch="gatehouse_run_$$"
  finish() {
    db --drop "$scratch" >/dev/null || true
    if [[ -e $started ]] && flock -x -n 7; then
      echo "== stopping the PostgreSQL cluster a test run started" >&2
      db --stop || true
      rm -f "$started"
    fi
  }
  exec 7>".data/test$cluster.lock"
  flock -s 7
  trap finish EXIT
  trap 'exit 130' INT TERM
  if ! db --status; then touch "$started"; fi
  DATABASE_URL="$(db "$scratch")"
  export DATABASE_URL
fi

# A test run builds once from scratch on CI: incremental caches would only double its disk use.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "== cargo fmt" >&2
cargo fmt --all -- --check 7>&-
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings 7>&-
# The sign-on tests (crates/server/tests/sso.rs) run against a real OpenID provider on loopback,
# npm's oidc-provider on Debian's nodejs (both installed when missing): started here, and stopped at
# the end when this run started it. (A test binary run alone starts it itself, and leaves it up.)
provider_port="${OIDC_PROVIDER_PORT:-18900}"
provider_started=""
stop_provider() {
  if [[ -n $provider_started ]]; then scripts/oidc-provider.sh --stop 7>&- || true; fi
}
if [[ $(type -t finish) == function ]]; then
  trap 'stop_provider; finish' EXIT
else
  trap stop_provider EXIT
fi
if ! curl -fsS -o /dev/null "http://127.0.0.1:$provider_port/.well-known/openid-configuration" 2>/dev/null; then
  echo "== starting the OpenID provider of the sign-on tests (scripts/oidc-provider.sh)" >&2
  provider_started=1
  scripts/oidc-provider.sh >/dev/null 7>&-
fi
# The tests use the provider found or started here (another checkout's, maybe) rather than start one.
export OIDC_TEST_ISSUER="http://127.0.0.1:$provider_port"
echo "== cargo test" >&2
cargo test --workspace --all-features --locked 7>&-
echo "== scripts/console-test.sh" >&2
scripts/console-test.sh 7>&-
echo "== scripts/reliability.sh" >&2
scripts/reliability.sh 7>&-
