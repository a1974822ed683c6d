#!/usr/bin/env bash
# The run command: everything a newcomer needs, from a fresh machine, to try Truffle at /docs.
# Starts PostgreSQL, builds, applies migrations, seeds the demo data and serves on
# 127.0.0.1:8080 (override with LISTEN_ADDR). Variables already in the environment win over .env.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_postgres
if [ ! -f .env ]; then
  say "creating .env from .env.example (development secrets only)"
  cp .env.example .env
fi
say "building truffle"
cargo build --quiet --bin truffle
say "starting truffle with demo data; API docs at http://${LISTEN_ADDR:-127.0.0.1:8080}/docs"
exec "$ROOT/target/debug/truffle" serve --demo
