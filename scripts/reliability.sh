#!/usr/bin/env bash
# Runs the reliability scenarios against the release server and prints their figures; exits
# non-zero when any scenario misses its target. docs/reliability.md records the figures.
#
#   scripts/reliability.sh           scenarios 1 (database outage), 2 (crash), 4 (hostile input),
#                                    7 (rolling restart) and 8 (instance killed)
#   scripts/reliability.sh --soak    the same, then 6 (60 s soak with the server's memory sampled)
#
# It builds target/release/gatehouse and the scenario runner (crates/server/examples/reliability.rs),
# and runs them against a PostgreSQL cluster of its own (scripts/db.sh with
# GATEHOUSE_PG_CLUSTER=reliability: .data/postgres-reliability, its own port), never the one tests
# and scripts/run.sh use, since scenario 1 stops and starts it. DATABASE_URL is ignored. Scenarios 7
# and 8 run 3 instances behind nginx with scripts/cluster.sh (CLUSTER_DIR=.data/cluster-reliability,
# nginx installed with apt when missing). On exit the servers and nginx it started are stopped and
# that PostgreSQL cluster too. Logs go to target/reliability/ (nginx's and the instances' to
# .data/cluster-reliability/).
#
#   1  16 clients (pages of organizations, /v1/me/info with an API key, new organizations) while
#      PostgreSQL is stopped for 10 s then started: every answer while it is down is 503 within
#      3 s, none hangs, answers are 2xx again within 5 s without restarting Gatehouse, and every
#      acknowledged write is there afterwards.
#   2  16 clients creating users and roles (with permissions and limits); the server is killed with
#      SIGKILL after 4 s and restarted: every acknowledged object exists and is whole, and no
#      object is half-written.
#   4  scripts/fuzz.sh (GATEHOUSE_URL, MASTER_KEY) against the server that went through scenario 1,
#      when that script exists; skipped with a note otherwise.
#   6  32 clients of mixed reads and writes for 60 s: no 5xx, and the server's memory is flat.
#   7  3 instances behind nginx, 16 clients (pages of organizations, /v1/me/info with an API key,
#      new organizations) through nginx while scripts/cluster.sh --restart-rolling restarts every
#      instance: every answer is 2xx, and every acknowledged write is there afterwards.
#   8  the same load while one instance is killed with SIGKILL: every GET answers 2xx; the POSTs
#      cut on that instance (nginx does not retry a write it has sent) are counted, at most one
#      per client, and checked whether they were committed anyway.
#
# Without --soak it takes about two minutes after the build (half a minute of it is
# scripts/fuzz.sh, half a minute scenarios 7 and 8); --soak adds about 70 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

soak=false
case "${1:-}" in
  --soak) soak=true ;;
  "") ;;
  *) echo "usage: scripts/reliability.sh [--soak]" >&2; exit 2 ;;
esac

unset DATABASE_URL
export GATEHOUSE_PG_CLUSTER=reliability
logs="$PWD/target/reliability"
mkdir -p .data "$logs"

# One run at a time: scenario 1 stops the cluster that every run shares. Children must not
# inherit the lock (fd 8), or a PostgreSQL or server left behind would hold it.
exec 8>.data/reliability.lock
if ! flock -n 8; then
  echo "reliability.sh: waiting for another run to finish" >&2
  flock 8
fi

db() { scripts/db.sh "$@" 8>&-; }

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port=$1
  while ! port_is_free "$port"; do port=$((port + 1)); done
  echo "$port"
}

export CLUSTER_DIR="$PWD/.data/cluster-reliability"
cluster() { scripts/cluster.sh "$@" 8>&-; }

server=""
cleanup() {
  local status=$?
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  cluster --stop >/dev/null 2>&1 || true
  db --stop >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== PostgreSQL cluster '$GATEHOUSE_PG_CLUSTER' (scripts/db.sh)" >&2
db --drop gatehouse_outage >/dev/null
db --drop gatehouse_crash >/dev/null
db --drop gatehouse_cluster >/dev/null
outage_url="$(db gatehouse_outage)"
crash_url="$(db gatehouse_crash)"
cluster_url="$(db gatehouse_cluster)"

# After db.sh, which installs libpq-dev on a clean machine.
echo "== build" >&2
cargo build --release --locked --bin gatehouse --example reliability >&2
runner=target/release/examples/reliability

MASTER_KEY="reliability-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
export MASTER_KEY

port="$(free_port 18300)"
export GATEHOUSE_URL="http://127.0.0.1:$port"
DATABASE_URL="$outage_url" LISTEN_ADDR="127.0.0.1:$port" RUST_LOG=warn \
  target/release/gatehouse serve 2>"$logs/server.log" 8>&- &
server=$!

declare -A result
run_scenario() {
  local number=$1 name=$2
  shift 2
  echo "== scenario $number: $name" >&2
  if "$@" 8>&- | tee "$logs/$number.txt"; then result[$number]=pass; else result[$number]=FAIL; fi
}

# stdout of db.sh (the URL) goes to the runner's /dev/null; its progress to stderr.
run_scenario 1 "database outage" "$runner" outage \
  --stop-command "scripts/db.sh --stop" --start-command "scripts/db.sh gatehouse_outage"
if [[ $(db gatehouse_outage) != "$outage_url" ]]; then
  echo "the cluster came back on another port: $(db gatehouse_outage)" >&2
  result[1]=FAIL
fi

crash_port="$(free_port $((port + 1)))"
run_scenario 2 "crash" "$runner" crash --binary target/release/gatehouse \
  --database-url "$crash_url" --listen "127.0.0.1:$crash_port" --log "$logs/crash-server.log"

if [[ -x scripts/fuzz.sh ]]; then
  echo "== scenario 4: hostile input (scripts/fuzz.sh)" >&2
  if scripts/fuzz.sh 8>&- 2>&1 | tee "$logs/4.txt"; then result[4]=pass; else result[4]=FAIL; fi
else
  echo "== scenario 4: skipped, scripts/fuzz.sh is missing or not executable" >&2
  result[4]=skipped
fi

echo "== 3 instances behind nginx (scripts/cluster.sh)" >&2
cluster_port="$(free_port $((crash_port + 1)))"
if DATABASE_URL="$cluster_url" CLUSTER_PORT="$cluster_port" RUST_LOG=warn \
  cluster --instances 3 2>"$logs/cluster.log"; then
  run_scenario 7 "rolling restart" "$runner" rolling --url "http://127.0.0.1:$cluster_port" \
    --restart-command "scripts/cluster.sh --restart-rolling"
  run_scenario 8 "instance killed" "$runner" kill --url "http://127.0.0.1:$cluster_port" \
    --kill-command "kill -KILL \$(cat '$CLUSTER_DIR/instance-2.pid')"
  cluster --stop
else
  echo "scripts/cluster.sh could not start the cluster; see $logs/cluster.log" >&2
  result[7]=FAIL
  result[8]=FAIL
fi

if $soak; then
  run_scenario 6 "soak" "$runner" soak --pid "$server"
fi

if ! kill -0 "$server" 2>/dev/null; then
  echo "the server of scenarios 1, 4 and 6 died; see $logs/server.log" >&2
  result[1]=FAIL
fi

echo
echo "== figures (logs in $logs)"
printf '%-8s %-72s %s\n' scenario figure value
for number in 1 2 4 6 7 8; do
  [[ -n ${result[$number]:-} ]] || continue
  if [[ $number != 4 && -f $logs/$number.txt ]]; then
    awk -v n="$number" -F': ' '$1 != "result" && NF > 1 {
      v = substr($0, length($1) + 3); printf "%-8s %-72s %s\n", n, $1, v }' "$logs/$number.txt"
  fi
  printf '%-8s %-72s %s\n' "$number" "RESULT" "${result[$number]}"
done

for number in "${!result[@]}"; do
  [[ ${result[$number]} != FAIL ]] || exit 1
done
