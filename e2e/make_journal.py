"""Writes a valid, hash-chained signalbridge journal of N records (signal + skip decision batches), spread over
DAYS days ending now, in 16 MiB segments (as the bridge writes them). Usage: make_journal.py DIR N [DAYS]"""
import hashlib, json, os, sys, time
from datetime import datetime, timezone
d, n = sys.argv[1], int(sys.argv[2]); days = float(sys.argv[3]) if len(sys.argv) > 3 else 30
os.makedirs(d, exist_ok=True)
end = time.time(); start = end - days * 86400
prev = "0" * 64; seg = 1; size = 0; limit = 16 << 20
f = open(os.path.join(d, "journal-%06d.jsonl" % seg), "wb")
def ts(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(t * 1000) % 1000)
seq = 0
i = 0
while seq < n:
    t = start + (end - start) * seq / n
    stamp = ts(t); sid = "sig-%08d" % i; i += 1
    payload = {"id": sid, "action": "buy", "ticker": "BTC-USDT", "price": "61234.5", "note": "x" * 40}
    recs = [
        '{"seq":%d,"ts":"%s","type":"signal","prev":"%s","batch":2,"signalId":"%s","source":"load","remoteAddr":"127.0.0.1","bodySha256":"%s","payload":%s}',
        '{"seq":%d,"ts":"%s","type":"decision","prev":"%s","signalId":"%s","ruleId":null,"outcome":"skip","reason":"no rule matched","ruleSetHash":"%s"}',
    ]
    lines = []
    seq += 1
    line = recs[0] % (seq, stamp, prev, sid, hashlib.sha256(sid.encode()).hexdigest(), json.dumps(payload, separators=(",", ":")))
    prev = hashlib.sha256(line.encode()).hexdigest(); lines.append(line)
    seq += 1
    line = recs[1] % (seq, stamp, prev, sid, "ab" * 32)
    prev = hashlib.sha256(line.encode()).hexdigest(); lines.append(line)
    data = ("\n".join(lines) + "\n").encode()
    if size + len(data) > limit:
        f.close(); seg += 1; size = 0
        f = open(os.path.join(d, "journal-%06d.jsonl" % seg), "wb")
    f.write(data); size += len(data)
f.close()
print(seq, "records in", seg, "segments")
