#!/usr/bin/env bash
# The test command: every test, from a fresh machine. Checks formatting and lints of the whole
# workspace (the service, crates/truffle-reco, crates/reco-eval and the shared test set-up), starts
# PostgreSQL, installs the chain tools (npm) and Chromium with its driver (apt), checks the
# verification page's vendored libraries against the npm registry, runs the Solidity tests (forge), the Rust unit and
# integration tests (each integration test gets its own database; one of them runs every migration
# down and up again), then the smoke test of the run command and the API fuzz stage.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

say "cargo fmt --check and clippy"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
ensure_postgres
ensure_chain_tools
ensure_browser
say "vendored browser libraries against the npm registry"
scripts/vendor-web.sh --check
say "forge test (contracts)"
"$FORGE" test
scripts/contracts.sh check
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres:///postgres?user=$(id -un)}"
say "cargo test"
cargo test --workspace --all-targets --no-fail-fast
say "smoke test of the run command"
scripts/smoke.sh
say "API fuzz stage (schemathesis)"
scripts/fuzz-api.sh
