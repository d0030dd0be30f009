#!/usr/bin/env bash
# Measures the release server under load from wrk, on this machine, against the local PostgreSQL:
# throughput and latency of the main read paths with API-key authentication, and the server's
# memory. Results go to stdout; docs/benchmarks.md records them with the machine they came from.
#
#   scripts/bench.sh [DURATION_SECONDS] [CONNECTIONS]     (defaults: 10, 32)
#
# Needs wrk and curl (installed with apt when missing). Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration="${1:-10}"
connections="${2:-32}"
port=18080
base="http://127.0.0.1:$port"
master="bench-master-key-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"

for tool in wrk curl; do
  if ! command -v "$tool" >/dev/null; then
    if [[ $EUID -eq 0 ]]; then apt-get install -y -qq "$tool" >&2; else sudo apt-get install -y -qq "$tool" >&2; fi
  fi
done

env -u DATABASE_URL scripts/db.sh --drop gatehouse_bench >/dev/null
database_url="$(env -u DATABASE_URL scripts/db.sh gatehouse_bench)"
cargo build --release --locked --bin gatehouse >&2

DATABASE_URL="$database_url" MASTER_KEY="$master" LISTEN_ADDR="127.0.0.1:$port" RUST_LOG=warn \
  target/release/gatehouse serve 2>/tmp/gatehouse-bench.log &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs "$base/health" >/dev/null && break
  sleep 0.2
done

call() { curl -fs -H "Authorization: Bearer $master" "$@"; }
json_field() { sed -E "s/.*\"$1\":\"?([^,\"}]*).*/\1/"; }
role=$(call -X POST "$base/v1/admin/roles" -d '{"name":"bench","permissions":["admin"]}' | json_field id)
organization=$(call -X POST "$base/v1/admin/organizations" -d '{"name":"bench"}' | json_field id)
for i in $(seq 50); do
  call -X POST "$base/v1/admin/users" \
    -d "{\"email\":\"user$i@example.com\",\"password\":\"correct horse battery\",\"role\":$role,\"organization\":$organization}" >/dev/null
done
key=$(call -X POST "$base/v1/admin/tokens" -d '{"name":"bench","user":1}' | json_field token)

run() {
  local name="$1" path="$2"
  echo "== $name: GET $path ($connections connections, ${duration}s)"
  wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $key" "$base$path" \
    | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr)"
run "health (database ping)" "/health"
run "one organization (key lookup + read)" "/v1/admin/organizations/$organization"
run "a page of 10 users (key lookup + count + page)" "/v1/admin/users?limit=10"
echo "== server memory after the runs: $(ps -o rss= -p "$server" | awk '{printf "%.1f MiB", $1/1024}')"
