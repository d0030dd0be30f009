#!/usr/bin/env bash
# Runs the web console's browser tests (crates/console/tests/browser/, pytest + Playwright) in
# headless Chromium against the real `gatehouse` binary: each test module starts `gatehouse serve`
# on a database of its own and walks the console's pages as a person would (forms, labels,
# errors, keyboard), checks the security headers and cookies, runs axe-core on every page, and
# keeps every page's weight under budget. Exits non-zero on any failure.
#
#   scripts/console-test.sh [PYTEST ARGS...]     e.g. -k organizations, -x, -v
#
# DATABASE_URL must name a PostgreSQL server whose role may CREATE DATABASE (scripts/test.sh
# exports one; `DATABASE_URL="$(scripts/db.sh)"` gives the local cluster): each test module
# creates a database `gh_console_<random>` there, which the server migrates at start-up, and drops
# it at the end. GATEHOUSE_BIN names the binary to test; without it, target/debug/gatehouse is
# built (cargo build --locked).
#
# What is missing is installed, once: Debian's chromium (never a browser download of Playwright's:
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, and the tests launch $(command -v chromium)), psql, python3
# with venv, and nodejs with npm, with apt; Playwright and pytest (pinned below) from PyPI into
# .data/console-venv; axe-core (pinned below, for the tests only: never part of the product)
# from npm into .data/console-axe. Each is reinstalled only when its pins change.
#
# Screenshots of every page visited (full page, light and dark colour schemes for the main
# pages) go to .data/console-screenshots/, the servers' logs to .data/console-logs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Every Python package of the venv, dependencies included, so that a run installs what the last
# one did. Playwright's wheel carries its own driver (Node.js inside the package); no browser.
python_pins=(
  playwright==1.65.2 greenlet==3.5.6
  pytest==9.2.0 iniconfig==2.3.1 packaging==26.4 pluggy==1.7.0 pygments==2.21.0
)
axe_version=4.14.1

log() { echo "console-test.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -n ${DATABASE_URL:-} ]] \
  || die "DATABASE_URL is not set (a server whose role may CREATE DATABASE: scripts/db.sh prints one)"

if [[ $EUID -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
apt_updated=false
apt_install() {
  log "installing $* with apt"
  if ! $apt_updated; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=true
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v psql >/dev/null || missing+=(postgresql-client)
if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
  missing+=(python3 python3-venv)
fi
# Debian's npm needs Debian's nodejs; a Node.js from elsewhere that has npm is left alone.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
chromium="$(command -v chromium)" || die "chromium not found after install"

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
venv="$PWD/.data/console-venv"
if [[ ! -x $venv/bin/python || "$(cat "$venv/pins" 2>/dev/null)" != "${python_pins[*]}" ]]; then
  log "installing ${python_pins[*]} into $venv"
  mkdir -p .data
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${python_pins[@]}" >&2
  echo "${python_pins[*]}" >"$venv/pins"
fi

axe_dir="$PWD/.data/console-axe"
axe_js="$axe_dir/node_modules/axe-core/axe.min.js"
if [[ "$(cat "$axe_dir/pins" 2>/dev/null)" != "axe-core@$axe_version" || ! -s $axe_js ]]; then
  log "installing axe-core@$axe_version into $axe_dir"
  rm -rf "$axe_dir"
  mkdir -p "$axe_dir"
  npm install --prefix "$axe_dir" --no-audit --no-fund --loglevel=error "axe-core@$axe_version" >&2
  [[ -s $axe_js ]] || die "axe-core did not install $axe_js"
  echo "axe-core@$axe_version" >"$axe_dir/pins"
fi

if [[ -z ${GATEHOUSE_BIN:-} ]]; then
  log "building target/debug/gatehouse"
  cargo build --locked --bin gatehouse >&2
  GATEHOUSE_BIN="$PWD/target/debug/gatehouse"
fi
[[ -x $GATEHOUSE_BIN ]] || die "GATEHOUSE_BIN is not an executable: $GATEHOUSE_BIN"

screenshots="$PWD/.data/console-screenshots"
rm -rf "$screenshots"
mkdir -p "$screenshots" .data/console-logs

log "running the browser tests ($("$chromium" --version 2>/dev/null || echo chromium), axe-core $axe_version)"
GATEHOUSE_BIN="$(realpath "$GATEHOUSE_BIN")"
export GATEHOUSE_BIN CONSOLE_CHROMIUM="$chromium" CONSOLE_AXE_JS="$axe_js" CONSOLE_AXE_VERSION="$axe_version" \
  CONSOLE_SCREENSHOTS="$screenshots" CONSOLE_LOGS="$PWD/.data/console-logs"
# No bytecode in the source tree (and no pytest cache: pytest.ini).
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest crates/console/tests/browser/ "$@"
