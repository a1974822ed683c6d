#!/usr/bin/env bash
# The run command: everything a newcomer needs, from a fresh machine, to try Truffle at /docs.
# Starts PostgreSQL; installs the chain tools; when no CHAIN_RPC_URL is configured, starts anvil
# on 127.0.0.1 (state kept in .anvil/, 1 s blocks), deploys the registry and funds the anchoring
# key; builds; seeds the demo data and serves on 127.0.0.1:8080 (override with LISTEN_ADDR).
# Variables already in the environment win over .env.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_postgres
ensure_chain_tools
if [ ! -f .env ]; then
  say "creating .env from .env.example (development secrets only)"
  cp .env.example .env
fi
say "building truffle"
cargo build --quiet --bin truffle
BIN="$ROOT/target/debug/truffle"

anvil_pid=""
stop_anvil() {
  if [ -n "$anvil_pid" ]; then
    kill "$anvil_pid" 2>/dev/null || true
    wait "$anvil_pid" 2>/dev/null || true
    anvil_pid=""
  fi
}
rpc="${CHAIN_RPC_URL:-$(sed -n 's/^CHAIN_RPC_URL=//p' .env | tail -n 1)}"
if [ -z "$rpc" ]; then
  port="${ANVIL_PORT:-8545}"
  state="${ANVIL_STATE:-$ROOT/.anvil/state.json}"
  mkdir -p "$(dirname "$state")"
  say "starting anvil on 127.0.0.1:$port (state in $state)"
  "$ANVIL" --host 127.0.0.1 --port "$port" --block-time 1 --state "$state" --state-interval 5 \
    --silent >"$(dirname "$state")/anvil.log" 2>&1 &
  anvil_pid=$!
  trap stop_anvil EXIT
  export CHAIN_RPC_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 50); do
    curl -fsS -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' \
      "$CHAIN_RPC_URL" >/dev/null 2>&1 && break
    kill -0 "$anvil_pid" 2>/dev/null || die "anvil did not start: see $(dirname "$state")/anvil.log"
    sleep 0.2
  done
  "$BIN" devnet-setup
fi

say "starting truffle with demo data; API docs at http://${LISTEN_ADDR:-127.0.0.1:8080}/docs"
"$BIN" serve --demo &
pid=$!
# Pass SIGTERM/SIGINT on to the service, let it finish, then stop anvil.
trap 's=0; kill -TERM "$pid" 2>/dev/null; wait "$pid" || s=$?; stop_anvil; exit $s' TERM INT
status=0
wait "$pid" || status=$?
stop_anvil
exit $status
