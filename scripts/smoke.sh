#!/usr/bin/env bash
# Smoke test of the run command from a fresh state: a new, empty database, a new devnet and free
# ports. The service must come up, answer /ready, let every demo account log in, anchor the demo
# products so that `truffle verify` accepts them, draw the demo raffle so that `truffle verify-draw`
# accepts it, stop on SIGTERM, and after a restart on the same devnet state still serve proofs and
# a draw that verify.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_postgres
fresh_demo_env truffle_smoke

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$log" "$devnet"; }
trap cleanup EXIT
fail() { echo "smoke: FAILED: $*" >&2; echo "--- service log ---" >&2; tail -n 50 "$log" >&2; exit 1; }

start() { start_demo smoke; }

stop() {
  kill -TERM "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && fail "the service did not stop on SIGTERM"
  wait "$pid" || fail "the run command exited with an error after SIGTERM"
  pid=""
}

# Korean search without spaces finds the demo Dunk, verified on chain, with its proof link.
search_demo() {
  local q="%EB%8D%A9%ED%81%AC%EB%A1%9C%EC%9A%B0" # 덩크로우
  for _ in $(seq 1 60); do
    if curl -fsS "$base/v1/search?q=$q&verified=true" | python3 -c 'import json,sys
hits = json.load(sys.stdin)["hits"]
ok = any("덩크" in h["product"]["record"]["name"] and h["product"]["chain"]["proof_url"] for h in hits)
sys.exit(0 if ok else 1)'; then
      echo "smoke: search finds the demo product with its chain status"
      return
    fi
    sleep 1
  done
  fail "search did not find the verified demo product"
}

# Waits until every demo product is confirmed on chain, then verifies each as a third party.
verify_demo_products() {
  local ids
  for _ in $(seq 1 60); do
    ids="$(curl -fsS "$base/v1/products" | python3 -c 'import json,sys
items=json.load(sys.stdin)["items"]
print(" ".join(p["id"] for p in items) if items and all(p["chain"]["status"]=="confirmed" for p in items) else "")')"
    [ -n "$ids" ] && break
    sleep 1
  done
  [ -n "$ids" ] || fail "the demo products were not anchored within a minute"
  for id in $ids; do
    # A third party: no database, no .env, only the RPC URL and the addresses it trusts.
    (cd / && env -i PATH="$PATH" "$ROOT/target/debug/truffle" verify "$base/v1/products/$id/proof" \
      --rpc-url "http://127.0.0.1:$ANVIL_PORT" --chain-id 31337 \
      --registry 0x5FbDB2315678afecb367f032d93F642f64180aa3 >/dev/null) \
      || fail "truffle verify refused demo product $id"
  done
  echo "smoke: $(echo "$ids" | wc -w) demo products verify on chain"
}


# Waits until the demo raffle is drawn, then re-runs its draw as a third party.
verify_demo_draw() {
  local id=""
  # The demo's short raffle runs the minimum raffle window (five minutes), then is drawn.
  for _ in $(seq 1 480); do
    id="$(curl -fsS "$base/v1/raffles" | python3 -c 'import json,sys
print(next((r["id"] for r in json.load(sys.stdin)["items"] if r["state"] in ("drawn","settled")), ""))')"
    [ -n "$id" ] && break
    sleep 1
  done
  [ -n "$id" ] || fail "the demo raffle was not drawn within eight minutes"
  curl -fsS "$base/v1/raffles" | grep -q '"state":"open"' || fail "no open demo raffle"
  (cd / && env -i PATH="$PATH" "$ROOT/target/debug/truffle" verify-draw "$base/v1/raffles/$id/draw" \
    --rpc-url "http://127.0.0.1:$ANVIL_PORT" --chain-id 31337 \
    --registry 0x5FbDB2315678afecb367f032d93F642f64180aa3 >/dev/null) \
    || fail "truffle verify-draw refused the demo draw $id"
  echo "smoke: the demo draw re-runs from the chain and the ticket list"
  verify_demo_units "$id"
}

# The drawn raffle's units: the seller's label sheet holds GS1 Digital Links; unit 1 changed
# hands and verifies with its history of owners as a third party; unit 2 is reported lost; a
# browser gets the verification page at a label's URL.
verify_demo_units() {
  local rid="$1" product token svg first second
  product="$(curl -fsS "$base/v1/raffles/$rid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["product_id"])')"
  token="$(curl -fsS -H 'content-type: application/json' \
    -d '{"email":"seller@demo.truffle.kr","password":"truffle-demo-seller"}' "$base/v1/auth/login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')"
  svg="$(curl -fsS -H "authorization: Bearer $token" "$base/v1/products/$product/units/labels.svg")" \
    || fail "the seller cannot print the demo labels"
  read -r first second < <(printf '%s' "$svg" | python3 -c 'import re,sys
codes = list(dict.fromkeys(re.findall(r"/01/08801234567893/21/([0-9A-Z]{20})", sys.stdin.read())))
print(codes[0], codes[1])')
  for _ in $(seq 1 120); do
    curl -fsS "$base/v1/units/$first/history" | python3 -c 'import json,sys
h = json.load(sys.stdin)
assert len(h["transfers"]) == 2 and all(t["anchor"] for t in h["transfers"])' 2>/dev/null && break
    sleep 1
  done
  sleep 3
  (cd / && env -i PATH="$PATH" "$ROOT/target/debug/truffle" verify-unit "$base/v1/units/$first/proof" \
    --rpc-url "http://127.0.0.1:$ANVIL_PORT" --chain-id 31337 --confirmations 2 \
    --registry 0x5FbDB2315678afecb367f032d93F642f64180aa3 >/dev/null) \
    || fail "truffle verify-unit refused the demo unit $first and its owners"
  curl -fsS "$base/v1/units/$second" | grep -q '"kind":"lost"' || fail "demo unit $second is not reported lost"
  local page
  page="$(curl -fsS -H 'accept: text/html' "$base/01/08801234567893/21/$first")" \
    || fail "the label URL of demo unit $first does not answer a browser"
  [[ "$page" == *'id="truffle-config"'* ]] \
    || fail "a browser does not get the verification page at a label's URL"
  echo "smoke: demo unit $first verifies with its two owners; unit $second is reported lost; labels open the page"
}

# The demo buyer (who won and paid the drawn raffle, and entered the open one) is offered the
# other open raffles, each with a reason.
recommend_demo() {
  local body token
  body="$(curl -fsS -H 'content-type: application/json' \
    -d '{"email":"buyer@demo.truffle.kr","password":"truffle-demo-buyer"}' "$base/v1/auth/login")" \
    || fail "the demo buyer cannot log in"
  token="$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')"
  for _ in $(seq 60); do
    if curl -fsS -H "authorization: Bearer $token" "$base/v1/me/recommendations" | python3 -c 'import json,sys
d = json.load(sys.stdin)
items = d["items"]
assert len(items) >= 3, d
assert all(i["raffle"]["state"] in ("open", "scheduled") and i["reason"]["text"] for i in items), d
' 2>/dev/null; then
      echo "smoke: the demo buyer gets recommendations with reasons"
      return
    fi
    sleep 1
  done
  fail "the demo buyer got no recommendations"
}

start
curl -fsS "$base/openapi.json" | grep -q '"openapi":"3.1' || fail "/openapi.json is not OpenAPI 3.1"
curl -fsS "$base/docs/" | grep -qi 'swagger' || fail "/docs does not serve the docs UI"

for who in buyer:truffle-demo-buyer seller:truffle-demo-seller admin:truffle-demo-admin; do
  email="${who%%:*}@demo.truffle.kr"; password="${who#*:}"
  body="$(curl -fsS -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/v1/auth/login")" \
    || fail "demo account $email cannot log in"
  token="$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')"
  curl -fsS -H "authorization: Bearer $token" "$base/v1/me" | grep -q "\"$email\"" \
    || fail "GET /v1/me did not return $email"
  echo "smoke: $email logs in"
done

# Admins come only from the CLI; one made while the service runs can log in at once.
printf 'cli-admin-password-1\n' | target/debug/truffle create-admin --email cli-admin@example.com >/dev/null \
  || fail "truffle create-admin failed"
curl -fsS -H 'content-type: application/json' \
  -d '{"email":"cli-admin@example.com","password":"cli-admin-password-1"}' "$base/v1/auth/login" \
  | grep -q '"role":"admin"' || fail "the admin made by create-admin cannot log in"
echo "smoke: truffle create-admin works"
target/debug/truffle migrate >/dev/null || fail "truffle migrate failed on a migrated database"
verify_demo_products
verify_demo_draw
recommend_demo
search_demo
stop

# The index rebuilds from Postgres on demand (with the service stopped).
target/debug/truffle reindex 2>/dev/null | grep -q "search index rebuilt" || fail "truffle reindex failed"
echo "smoke: truffle reindex rebuilds the search index"

# Restart on the same devnet state: the registry and its roots are still there.
start
verify_demo_products
verify_demo_draw
search_demo
stop
psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
echo "smoke: 1 passed, 0 failed"
