#!/usr/bin/env bash
# Intake against bare Hummingbird, measured in one run on this machine with wrk (Debian's package): 1 thread,
# 32 connections, 10 s each. Bare: `signalbridge sim`'s GET /api/v5/public/time. Intake: `signalbridge serve`, a
# header-token source, 100 rules none of which match, every signal unique, each acknowledged after its fsync.
# Usage: e2e/measure_intake.sh PATH/TO/signalbridge (a release build: swift build -c release)
set -euo pipefail
bin=$(realpath "$1")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
python3 - <<'PY'
import json, os
os.makedirs("rules")
rules = [{"id": f"r{i}", "source": "load", "when": {"pointer": "/action", "eq": f"never-{i}"},
          "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "10"}}]} for i in range(100)]
json.dump({"rules": rules}, open("rules/r.json", "w"))
json.dump({"listen": {"host": "127.0.0.1", "port": 19191}, "admin": {"host": "127.0.0.1", "port": 19190},
           "exchange": {"kind": "sim"}, "journal": {"directory": "journal"}, "rules": ["rules"],
           "sources": [{"name": "load", "auth": {"scheme": "token", "in": "header", "header": "X-Token", "secretEnv": "LOAD_TOKEN"},
                        "idPointer": "/id"}]}, open("config.json", "w"))
PY
cat > unique.lua <<'LUA'
local counter = 0
local thread_id = 0
function setup(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
function init(args) math.randomseed(os.time() + tid * 7919); prefix = tostring(math.random(1, 1e9)) .. "-" .. tid end
request = function()
  counter = counter + 1
  local body = '{"id":"' .. prefix .. '-' .. counter .. '","action":"buy"}'
  return wrk.format("POST", "/webhooks/load", {["Content-Type"] = "application/json", ["X-Token"] = "loadtoken0123456789"}, body)
end
LUA
wait_for() { for _ in $(seq 1 500); do curl -sf "$1" > /dev/null && return 0; sleep 0.02; done; echo "no answer from $1" >&2; exit 1; }
rate() { awk '/Requests\/sec/ {print $2}'; }
"$bin" sim --port 19300 > sim.log 2>&1 & sim=$!
wait_for http://127.0.0.1:19300/api/v5/public/time
bare=$(wrk -t1 -c32 -d10s --latency http://127.0.0.1:19300/api/v5/public/time | tee bare.txt | rate)
kill $sim
LOAD_TOKEN=loadtoken0123456789 "$bin" serve --config config.json > serve.log 2>&1 &
wait_for http://127.0.0.1:19190/healthz
intake=$(wrk -t1 -c32 -d10s --latency -s unique.lua http://127.0.0.1:19191 | tee intake.txt | rate)
echo "bare Hummingbird: $bare req/s, p50 $(awk '/ 50%/ {print $2}' bare.txt)"
echo "intake:           $intake acks/s, p50 $(awk '/ 50%/ {print $2}' intake.txt), $(grep -c . journal/journal-000001.jsonl) records journaled"
python3 -c "print(f'ratio: {float(\"$intake\") / float(\"$bare\"):.2f}')"
