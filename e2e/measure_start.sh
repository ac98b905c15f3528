#!/usr/bin/env bash
# Start time and memory of `signalbridge serve` on an existing journal: seconds from start to the first 200 of
# /healthz and the peak resident memory, for each of RUNS starts (the first start after make_journal.py reads the
# whole journal and writes the checkpoint; the later ones start from it).
# Usage: e2e/measure_start.sh PATH/TO/signalbridge JOURNAL_DIR [RUNS]   (a release build: swift build -c release)
set -euo pipefail
bin=$(realpath "$1"); journal=$(realpath "$2"); runs=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/rules"
echo '{"rules": []}' > "$work/rules/none.json"
cat > "$work/config.json" <<JSON
{"listen": {"host": "127.0.0.1", "port": 0}, "admin": {"host": "127.0.0.1", "port": 19590}, "exchange": {"kind": "sim"},
 "journal": {"directory": "$journal"}, "rules": ["$work/rules"],
 "sources": [{"name": "load", "auth": {"scheme": "none"}, "allowFrom": ["127.0.0.1/32"], "idPointer": "/id"}]}
JSON
for run in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  "$bin" serve --config "$work/config.json" > "$work/serve.out" 2> "$work/serve.log" &
  pid=$!
  until curl -sf http://127.0.0.1:19590/healthz > /dev/null; do
    kill -0 $pid 2> /dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.01
  done
  end=$(date +%s.%N)
  rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  kill -INT $pid; wait $pid || true
  echo "start $run: /healthz after $(echo "$end - $start" | bc) s, peak resident $((rss / 1024)) MB; $(grep -o 'journal: [^"]*checkpoint[^"]*' "$work/serve.log" | head -1)"
done
