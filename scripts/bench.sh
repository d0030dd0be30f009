#!/usr/bin/env bash
# Measures the release server under load from wrk, on this machine, against the local PostgreSQL:
# throughput and latency of the main read paths with API-key authentication, how long a failed
# login takes for an unknown email and for a wrong password (they must not differ), and the
# server's memory. Results go to stdout; docs/benchmarks.md records them with the machine they came from.
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

# p50 of wrk's --latency output, in milliseconds.
p50_ms() {
  awk '$1 == "50%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1; printf "%.2f", v * f }'
}

# One connection of logins with `body`, so that the latency is the login's own, free of queueing.
# Prints wrk's summary and leaves the p50 (ms) in $last_p50.
login_run() {
  local name="$1" body="$2" script out
  script="$(mktemp --suffix=.lua)"
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
    "'$body'" >"$script"
  echo "== $name: POST /v1/auth/login (1 connection, ${duration}s)"
  out="$(wrk -t1 -c1 -d"${duration}s" --latency -s "$script" "$base/v1/auth/login")"
  rm -f "$script"
  grep -E "Requests/sec|50%|99%|Non-2xx" <<<"$out"
  last_p50="$(p50_ms <<<"$out")"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr)"
run "health (database ping)" "/health"
run "one organization (key lookup + read)" "/v1/admin/organizations/$organization"
run "a page of 10 users (key lookup + count + page)" "/v1/admin/users?limit=10"
login_run "login, unknown email" '{"email":"nobody@example.com","password":"correct horse battery"}'
unknown="$last_p50"
login_run "login, wrong password" '{"email":"user1@example.com","password":"wrong horse battery"}'
wrong="$last_p50"
echo "== failed logins, p50: unknown email ${unknown} ms, wrong password ${wrong} ms, difference" \
  "$(awk -v a="$unknown" -v b="$wrong" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.1f", 100 * d / (a > b ? a : b) }') %"
echo "== server memory after the runs: $(ps -o rss= -p "$server" | awk '{printf "%.1f MiB", $1/1024}')"
