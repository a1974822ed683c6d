#!/usr/bin/env bash
# Time to a verdict of the verification page on the demo devnet: starts the run command from a
# fresh state (as the smoke test does: a new database, a new devnet, free ports), waits until the
# demo's labelled units and their transfers are anchored, then opens a demo unit's label URL
# (`/01/{gtin}/21/{code}`, the GS1 Digital Link a phone camera opens) in Debian's headless
# Chromium RUNS times, each from a blank page, and reads how long after navigation the page gave
# its verdict (`data-ms`, performance.now() when every check has run). Also times the page's
# own bytes. Prints min / median / max; stops by itself.
#
#   bench/page-verdict.sh            # RUNS=10
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

RUNS="${RUNS:-10}"
ensure_postgres
ensure_chain_tools
ensure_browser
fresh_demo_env truffle_page_bench

pid=""
driver=""
cleanup() {
  [ -n "$driver" ] && kill "$driver" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$log" "$devnet"
  psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "page-verdict: FAILED: $*" >&2; tail -n 30 "$log" >&2; exit 1; }

start_demo page-verdict
for _ in $(seq 1 900); do grep -q "demo units ready" "$log" && break; sleep 1; done
grep -q "demo units ready" "$log" || fail "the demo units did not get ready"

driver_port="$(free_port)"
chromedriver --port="$driver_port" >/dev/null 2>&1 &
driver=$!

python3 - "$base" "http://127.0.0.1:$driver_port" "$RUNS" <<'EOF'
import json, re, statistics, sys, time, urllib.request

base, driver, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def call(url, body=None, headers=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()

login = json.loads(call(f"{base}/v1/auth/login",
                        {"email": "seller@demo.truffle.kr", "password": "truffle-demo-seller"}))
token = login["tokens"]["access_token"]
drawn = [r for r in json.loads(call(f"{base}/v1/raffles?limit=100"))["items"]
         if r["state"] in ("drawn", "settled")]
product = drawn[0]["product_id"]
svg = call(f"{base}/v1/products/{product}/units/labels.svg",
           headers={"authorization": f"Bearer {token}"}).decode()
link = re.search(r"(/01/\d{14}/21/[0-9A-Z]{20})", svg).group(1)
code = link.rsplit("/", 1)[1]
# The unit's transfers must be anchored, or the page would rightly say they are not (yet).
for _ in range(120):
    history = json.loads(call(f"{base}/v1/units/{code}/history"))
    if history["transfers"] and all(t["anchor"] for t in history["transfers"]):
        break
    time.sleep(1)
time.sleep(3)

for _ in range(30):
    try:
        json.loads(call(f"{driver}/status"))
        break
    except Exception:
        time.sleep(0.2)
caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "binary": "/usr/bin/chromium",
    "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
             "--window-size=430,1400", "--lang=ko-KR"]}}}}
session = json.loads(call(f"{driver}/session", caps))["value"]["sessionId"]
wd = f"{driver}/session/{session}"
def script(s):
    return json.loads(call(f"{wd}/execute/sync", {"script": s, "args": []}))["value"]

times, verdicts = [], []
try:
    for _ in range(runs):
        call(f"{wd}/url", {"url": "about:blank"})
        call(f"{wd}/url", {"url": base + link})
        for _ in range(600):
            if script("return document.body && document.body.getAttribute('data-done');") == "true":
                break
            time.sleep(0.05)
        else:
            sys.exit("page-verdict: no verdict within 30 s")
        times.append(int(script("return document.body.getAttribute('data-ms');")))
        verdicts.append(script("return document.getElementById('verdict').getAttribute('data-verdict');"))
finally:
    call(wd, method="DELETE")

size = len(call(base + link, headers={"accept": "text/html"}))
print(f"page-verdict: {base}{link}")
print(f"page-verdict: verdicts {sorted(set(verdicts))}, page {size:,} bytes")
print(f"page-verdict: time to verdict over {runs} loads: min {min(times)} ms, "
      f"median {statistics.median(times):.0f} ms, max {max(times)} ms")
if set(verdicts) != {"verified"}:
    sys.exit("page-verdict: the demo unit did not verify")
EOF
