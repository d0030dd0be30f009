#!/usr/bin/env bash
# Fuzzes the HTTP API of a running Gatehouse with Schemathesis: every operation of its
# /openapi.json, with requests generated from the documented schemas, valid and invalid ones
# alike (bodies, query strings, path ids, headers, methods). Every answer is checked: never a
# server error (5xx), a documented status, a documented content type and headers, a body that
# matches its documented schema, valid data accepted and invalid data refused. Prints the figures
# (requests sent, answers by status, results of each check) and exits non-zero on any failure, or
# if fewer than 1,000 requests were sent.
#
#   GATEHOUSE_URL=http://127.0.0.1:18123 MASTER_KEY=... scripts/fuzz.sh
#
# The server must already be running, on a database of its own: the fuzzer creates, changes and
# deletes whatever it reaches, with the master key (sent as `Authorization: Bearer`). For example:
#
#   cargo build --release --locked --bin gatehouse
#   export MASTER_KEY=fuzz-master-key-0123456789 GATEHOUSE_URL=http://127.0.0.1:18123
#   DATABASE_URL="$(scripts/db.sh gatehouse_fuzz)" LISTEN_ADDR=127.0.0.1:18123 RUST_LOG=warn \
#     target/release/gatehouse serve &
#   scripts/fuzz.sh
#   kill %1; env -u DATABASE_URL scripts/db.sh --drop gatehouse_fuzz
#
# Schemathesis (pinned below) is installed from PyPI with python3's venv and pip into
# .data/fuzz-venv, once. FUZZ_EXAMPLES (default 50) sets the examples per operation of the fuzzing
# phase; FUZZ_SEED fixes the seed (random otherwise; printed, to replay a run). The reports
# (NDJSON events, JSON summary) go to FUZZ_REPORT_DIR (default: a temporary directory, removed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

schemathesis_version=4.32.5
min_requests=1000

log() { echo "fuzz.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -n ${GATEHOUSE_URL:-} ]] || die "GATEHOUSE_URL is not set (e.g. http://127.0.0.1:18123)"
[[ -n ${MASTER_KEY:-} ]] || die "MASTER_KEY is not set"
base="${GATEHOUSE_URL%/}"
examples="${FUZZ_EXAMPLES:-50}"
seed="${FUZZ_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}"

venv="$PWD/.data/fuzz-venv"
if [[ ! -x $venv/bin/st ]] || [[ "$("$venv/bin/st" --version 2>/dev/null)" != *" $schemathesis_version" ]]; then
  log "installing schemathesis $schemathesis_version into $venv"
  mkdir -p .data
  # A fresh Debian may have no python3, or one without venv: Debian's packages provide both.
  if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    log "installing python3 and python3-venv with apt"
    if [[ $EUID -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv >&2
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version" >&2
fi
python="$venv/bin/python"

work="$(mktemp -d)"
reports="${FUZZ_REPORT_DIR:-$work/reports}"
trap 'rm -rf "$work"' EXIT
mkdir -p "$reports"

# Some data for the generated requests to find: ids 1 and up exist on a fresh database, so that
# the fuzzer reaches the success paths too, not only 404s.
"$python" - "$base" <<'PY' >&2
import json, os, sys, time, urllib.error, urllib.request

base, key = sys.argv[1], os.environ["MASTER_KEY"]

def call(method, path, body=None):
    request = urllib.request.Request(
        base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, None

for _ in range(150):
    try:
        if call("GET", "/health")[0] == 200:
            break
    except OSError:
        pass
    time.sleep(0.2)
else:
    sys.exit(f"fuzz.sh: no healthy server at {base}")

_, organization = call("POST", "/v1/admin/organizations", {"name": "Fuzz Inc."})
_, role = call("POST", "/v1/admin/roles", {"name": "fuzzers", "permissions": ["read_metric"],
                                          "limits": [{"router_id": 1, "type": "rpm", "value": 60}]})
if organization and role:
    _, user = call("POST", "/v1/admin/users", {"email": "fuzz@example.com", "password": "fuzz password",
                                               "role": role["id"], "organization": organization["id"]})
    _, project = call("POST", "/v1/admin/projects", {"name": "Apollo", "organization": organization["id"]})
    if user and project:
        call("PUT", f"/v1/admin/projects/{project['id']}/members/{user['id']}")
        call("POST", "/v1/admin/tokens", {"name": "fuzz key", "user": user["id"], "project": project["id"]})
PY

# Failures that are not the server's, and only those, are dropped; each is a rule that the
# OpenAPI document states in words because JSON Schema cannot state it, so that data valid by the
# schema may still be refused by that rule (`positive_data_acceptance`, ST202). Nothing else is
# dropped: a server error, an undocumented status or a body that does not match its schema always
# fails the run. The drops are counted and printed.
cat >"$work/hooks.py" <<'PY'
import json
import os

import schemathesis

DROPPED = os.environ["FUZZ_DROPPED"]


def _errors(response):
    try:
        detail = json.loads(response.content)["detail"]
    except (ValueError, KeyError, TypeError):
        return None
    return detail


def _all(errors, predicate):
    return isinstance(errors, list) and errors and all(predicate(error) for error in errors)


def _reason(failure, response):
    if failure.code != "ST202":
        return None
    status, errors = response.status_code, _errors(response)
    # An expiry must lie in the future: a rule relative to the clock, which no schema can state.
    if status == 422 and _all(errors, lambda e: e.get("loc") == ["body", "expires"]
                              and e.get("msg") == "Expiration timestamp must be in the future."):
        return "expiry not in the future (relative to the clock)"
    # Two limits may not share a router and type: uniqueness of a pair of fields across a list,
    # which JSON Schema cannot state (`uniqueItems` compares whole items).
    if status == 422 and _all(errors, lambda e: e.get("loc") == ["body", "limits"]
                              and str(e.get("msg", "")).startswith("Duplicate limit for router_id")):
        return "two limits with the same router_id and type"
    # A usage report of a call that was never authorized needs `router` and a key that
    # authenticates someone: whether a request id was authorized is state, which no schema knows.
    if status == 422 and _all(errors, lambda e: e.get("loc") in (["body", "router"], ["body", "key"])
                              and e.get("msg") in ("Field required",
                                                   "Unknown, deleted or expired API key.")):
        return "usage of a call never authorized without its router or with an unknown key"
    # The fuzzer authenticates with the master key, which the contract refuses here with 400 (it
    # cannot own keys nor change its account), whatever the body.
    if status == 400 and errors == "Master is not allowed to process this action.":
        return "master key refused by POST /v1/me/keys or PATCH /v1/me/info"
    return None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    reason = _reason(failure, response)
    if reason is None:
        return True
    with open(DROPPED, "a", encoding="utf-8") as out:
        out.write(reason + "\n")
    return False
PY

log "fuzzing $base/openapi.json with schemathesis $schemathesis_version, $examples examples, seed $seed"
status=0
(
  cd "$work"
  # One worker: Python 3.11's `ast.parse` is not thread-safe (CPython gh-106905), and Hypothesis
  # calls it while building strategies; several workers crash the run at random.
  FUZZ_DROPPED="$work/dropped.txt" SCHEMATHESIS_HOOKS="$work/hooks.py" \
    "$venv/bin/st" run "$base/openapi.json" \
    --header "Authorization: Bearer $MASTER_KEY" \
    --checks all \
    --phases examples,coverage,fuzzing \
    --mode all \
    --max-examples "$examples" \
    --seed "$seed" \
    --workers 1 \
    --request-timeout 20 \
    --wait-for-schema 30 \
    --generation-database none \
    --report ndjson,json --report-dir "$reports" \
    --no-color
) || status=$?

# The figures, from the run's events: every request and its answer, every check on it.
"$python" - "$reports" "$work/dropped.txt" "$min_requests" <<'PY' || status=$((status == 0 ? 1 : status))
import collections, glob, json, sys

reports, dropped_file, min_requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
requests, statuses, modes = 0, collections.Counter(), collections.Counter()
checks = collections.defaultdict(collections.Counter)
server_errors = []
for path in glob.glob(f"{reports}/*.ndjson"):
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line).get("ScenarioFinished")
            if not event:
                continue
            recorder = event["recorder"]
            for case_id, interaction in recorder.get("interactions", {}).items():
                requests += 1
                code = interaction["response"]["status_code"] if interaction.get("response") else None
                statuses[f"{code // 100}xx" if code else "no answer"] += 1
                if code and code >= 500:
                    server_errors.append(f"{recorder['label']}: {code}")
            for case in recorder.get("cases", {}).values():
                modes[case["value"].get("meta", {}).get("generation", {}).get("mode", "none")] += 1
            for results in recorder.get("checks", {}).values():
                for result in results:
                    checks[result["name"]][result["status"]] += 1
try:
    with open(dropped_file, encoding="utf-8") as lines:
        dropped = collections.Counter(line.strip() for line in lines if line.strip())
except FileNotFoundError:
    dropped = collections.Counter()

print()
print(f"Requests sent: {requests} ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))})")
print(f"Generated cases: {', '.join(f'{n} {m}' for m, n in sorted(modes.items()))}")
print("Checks (runs: success / failure / skip):")
for name in sorted(checks):
    counts = checks[name]
    print(f"  {name:30} {sum(counts.values()):6}: {counts['success']} / {counts['failure']} / {counts['skip']}")
print("Failures dropped as not the server's (see scripts/fuzz.sh):" + ("" if dropped else " none"))
for reason, count in dropped.most_common():
    print(f"  {count:5}  {reason}")
ok = True
if server_errors:
    print(f"Server errors: {len(server_errors)}, e.g. {server_errors[:5]}")
    ok = False
if requests < min_requests:
    print(f"Only {requests} requests were sent; at least {min_requests} are needed.")
    ok = False
sys.exit(0 if ok else 1)
PY

if ((status == 0)); then
  log "passed"
else
  log "FAILED (exit $status); replay with FUZZ_SEED=$seed"
fi
exit "$status"
