#!/usr/bin/env bash
# The contract artifact the Rust bindings embed (contracts/artifacts/TruffleRegistry.json: ABI and
# bytecode from forge). `export` rewrites it from a fresh `forge build`; `check` fails when the
# committed artifact differs from what the sources compile to.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_chain_tools
"$FORGE" build --quiet
extract() {
  node -e '
    const a = require(process.argv[1]);
    const out = {abi: a.abi, bytecode: {object: a.bytecode.object}, deployedBytecode: {object: a.deployedBytecode.object}};
    process.stdout.write(JSON.stringify(out, null, 1) + "\n");
  ' "$ROOT/contracts/out/TruffleRegistry.sol/TruffleRegistry.json"
}
case "${1:-check}" in
  export) extract >contracts/artifacts/TruffleRegistry.json; say "contracts/artifacts/TruffleRegistry.json written" ;;
  check)
    extract | cmp -s - contracts/artifacts/TruffleRegistry.json \
      || die "contracts/artifacts/TruffleRegistry.json is stale: run scripts/contracts.sh export and commit it"
    say "contract artifact matches the sources" ;;
  *) die "usage: scripts/contracts.sh [export|check]" ;;
esac
