# Shared helpers for the project's scripts. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_VERSION="${PG_VERSION:-15}"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as the postgres OS user (we are root on these machines).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sudo -u postgres sh -c "$*"
  fi
}

# Installs PostgreSQL if missing, starts the cluster if it is down, and creates the `root` role
# and the `truffle` database. Safe to rerun.
ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing PostgreSQL $PG_VERSION (apt-get)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      die "PostgreSQL $PG_VERSION is missing: install it (Debian: apt-get install postgresql-$PG_VERSION) and rerun"
    fi
  fi
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PG_VERSION main$"; then
    say "creating the PostgreSQL $PG_VERSION cluster"
    pg_createcluster "$PG_VERSION" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
    say "starting PostgreSQL $PG_VERSION"
    pg_ctlcluster "$PG_VERSION" main start
  fi
  for _ in $(seq 1 30); do
    as_postgres "psql -qAtc 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 1
  done
  local me
  me="$(id -un)"
  if [ "$(as_postgres "psql -qAtc \"SELECT 1 FROM pg_roles WHERE rolname = '$me'\"")" != 1 ]; then
    say "creating the PostgreSQL role $me"
    as_postgres "psql -qc 'CREATE ROLE \"$me\" SUPERUSER LOGIN'"
  fi
  if [ "$(psql -d postgres -qAtc "SELECT 1 FROM pg_database WHERE datname = 'truffle'")" != 1 ]; then
    say "creating the database truffle"
    psql -d postgres -qc 'CREATE DATABASE truffle'
  fi
}

# Installs the pinned chain tools (anvil, forge, cast, solc) from the npm registry into
# node_modules when they are missing or package-lock.json changed. Safe to rerun.
ensure_chain_tools() {
  command -v npm >/dev/null 2>&1 || die "npm is missing: install Node.js 20 with npm (Debian: apt-get install nodejs npm)"
  local stamp="$ROOT/node_modules/.truffle-lock"
  if [ ! -x "$ROOT/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" ] \
     || ! cmp -s "$ROOT/package-lock.json" "$stamp"; then
    say "installing anvil, forge, cast and solc from the npm registry (npm install)"
    # `npm ci` refuses this lock file (it lacks the other platforms' optional binaries), so install
    # from it with `npm install`, which keeps to the locked versions and integrity hashes.
    (cd "$ROOT" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
    cp "$ROOT/package-lock.json" "$stamp"
  fi
  export FORGE="$ROOT/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
  export ANVIL="$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
  export CAST="$ROOT/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
}

# Installs Debian's Chromium, its matched WebDriver (chromedriver) and a Korean font, for the
# verification page's browser tests. Safe to rerun.
ensure_browser() {
  if command -v chromedriver >/dev/null 2>&1 && [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi nanum; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium, chromium-driver and a Korean font (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver fonts-nanum >/dev/null
  else
    die "chromium and chromedriver are missing: install them (Debian: apt-get install chromium chromium-driver fonts-nanum) and rerun"
  fi
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# A fresh place for the run command: a new, empty database named $1, a new devnet directory and
# free ports. Sets db, log, devnet and base, and exports what scripts/run.sh reads.
fresh_demo_env() {
  db="$1"
  psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  psql -d postgres -qc "CREATE DATABASE $db"
  log="$(mktemp)"
  devnet="$(mktemp -d)"
  local port
  port="$(free_port)"
  export ANVIL_PORT="$(free_port)"
  export ANVIL_STATE="$devnet/state.json"
  export DATABASE_URL="postgres:///$db?user=$(id -un)"
  export LISTEN_ADDR="127.0.0.1:$port"
  export SEARCH_INDEX_DIR="$devnet/search-index"
  base="http://127.0.0.1:$port"
}

# Starts the run command in the background (its pid in pid, its output in log) and waits until
# /ready says ready; $1 names the caller in messages, and the caller's fail() reports a failure.
start_demo() {
  say "$1: starting the run command on $LISTEN_ADDR (anvil on $ANVIL_PORT)"
  scripts/run.sh >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    if curl -fsS "$base/ready" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "the run command exited before it was ready"
    sleep 1
  done
  curl -fsS "$base/ready" | grep -q '"ready"' || fail "/ready did not answer"
}
