"""Secrets never reach the log: `signalbridge serve` runs with every kind of secret set (OKX key, secret and
passphrase, a body token, a header token from a 0600 file, an HMAC key, a Standard Webhooks secret, a notification
target's signing secret and a Telegram bot token in a target's URL, both targets failing), at LOG_LEVEL=debug,
once with `logging.format` text and once json, against `signalbridge sim`; it takes valid signals that order, forged
ones, and a stop. No line of its standard error or output holds any secret, json lines all parse, and the body token
is not in the journal either. Usage: secret_logs.py PATH/TO/signalbridge"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

from harness import Checks, base_of, journal_records, sim_orders, simulator, start, stop, wait_until, write_bridge_config

OKX = {"OKX_API_KEY": "Qk4f3a9cXw71Lp", "OKX_SECRET_KEY": "Zs7D1E0B2AqR5m", "OKX_PASSPHRASE": "Vp93kdT6yH2w"}
TV_TOKEN = "Bt8a7sd6f5Xq2R"
HEADER_TOKEN = "Hf2k3j4hWe9Pz"
QUERY_TOKEN = "Qt5m6n7b8vLk3"
ALCHEMY_KEY = "Ak9s8d7fMn4Yc"
WHSEC_KEY = base64.b64encode(b"Sw-key-bytes-7Hq2Lm9Xz4Rt6Vb1Np").decode()
WHSEC = "whsec_" + WHSEC_KEY
NOTIFY_KEY = base64.b64encode(b"Nt-key-bytes-4Kd8Wq2Zr7Mx5Jc3Hy").decode()
NOTIFY_SECRET = "whsec_" + NOTIFY_KEY
# A chat service's token travels in its URL (Telegram's bot token in the path).
TELEGRAM_TOKEN = "7Tg3Kx9Qw2Lm5Zp"
SECRETS = list(OKX.values()) + [TV_TOKEN, HEADER_TOKEN, QUERY_TOKEN, ALCHEMY_KEY, WHSEC, WHSEC_KEY, NOTIFY_SECRET, NOTIFY_KEY, TELEGRAM_TOKEN]


def leaks(text):
    """The secrets of which any 8 consecutive characters appear in `text` (a part of a secret is a leak too; the
    secrets are random-looking so that no name or id shares 8 characters with one)."""
    return [secret for secret in SECRETS if any(secret[i:i + 8] in text for i in range(len(secret) - 7))]


def post(base, source, body, headers=None, query=""):
    request = urllib.request.Request(f"{base}/webhooks/{source}{query}", data=body, method="POST",
                                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def run(c, binary, sim_base, folder, log_format):
    os.makedirs(folder)
    token_file = os.path.join(folder, "header-token")
    with open(token_file, "w") as f:
        f.write(HEADER_TOKEN + "\n")
    os.chmod(token_file, 0o600)
    rules = [{"id": f"{source}-buy", "source": source, "when": {"pointer": "/action", "eq": "buy"},
              "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "15"}}]}
             for source in ("tv", "hdr", "qs", "alchemy", "onchain")]
    write_bridge_config(folder, sim_base, rules, [
        {"name": "tv", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"}, "idPointer": "/id"},
        {"name": "hdr", "auth": {"scheme": "token", "in": "header", "header": "X-Token", "secretFile": token_file}, "idPointer": "/id"},
        {"name": "qs", "auth": {"scheme": "token", "in": "query", "name": "token", "secretEnv": "QUERY_TOKEN"}, "idPointer": "/id"},
        {"name": "alchemy", "auth": {"scheme": "hmac-sha256", "header": "X-Alchemy-Signature", "encoding": "hex", "secretEnv": "ALCHEMY_KEY"},
         "idPointer": "/id"},
        {"name": "onchain", "auth": {"scheme": "standard-webhooks", "secretEnv": "ONCHAIN_SECRET", "toleranceSeconds": 300}}],
        logging={"format": log_format}, risk={"allowedInstruments": ["BTC-USDT"]},
        # Targets nothing listens on: every fill's notice fails, and the failures are logged.
        notifications=[{"url": "http://127.0.0.1:9/notices", "format": "json", "events": ["order.filled"], "secretEnv": "NOTIFY_SECRET"},
                       {"url": f"http://127.0.0.1:9/bot{TELEGRAM_TOKEN}/sendMessage?chat_id=1", "format": "telegram", "events": ["order.filled"]}])
    env = dict(OKX, TV_TOKEN=TV_TOKEN, QUERY_TOKEN=QUERY_TOKEN, ALCHEMY_KEY=ALCHEMY_KEY, ONCHAIN_SECRET=WHSEC, NOTIFY_SECRET=NOTIFY_SECRET,
               LOG_LEVEL="debug")
    log_path = os.path.join(folder, "stderr.log")
    with open(log_path, "w") as log:
        proc, base, lines = start(binary, ["serve", "--config", "config.json"], env=env, cwd=folder,
                                  announce="signalbridge listening on", also=("signalbridge admin on",), stderr=log, timeout=60)
    admin = base_of(lines, "signalbridge admin on")
    try:
        statuses = []
        body = json.dumps({"id": f"{log_format}-tv", "action": "buy", "token": TV_TOKEN}).encode()
        statuses.append(post(base, "tv", body))
        statuses.append(post(base, "tv", json.dumps({"id": f"{log_format}-tv-forged", "action": "buy", "token": TV_TOKEN[:-1] + "x"}).encode()))
        body = json.dumps({"id": f"{log_format}-hdr", "action": "buy"}).encode()
        statuses.append(post(base, "hdr", body, {"X-Token": HEADER_TOKEN}))
        statuses.append(post(base, "hdr", body, {"X-Token": HEADER_TOKEN + "x"}))
        # A genuine secret presented to the wrong source, and a token in the query string.
        statuses.append(post(base, "hdr", json.dumps({"id": f"{log_format}-hdr-wrong", "action": "buy"}).encode(), {"X-Token": QUERY_TOKEN}))
        body = json.dumps({"id": f"{log_format}-qs", "action": "buy"}).encode()
        statuses.append(post(base, "qs", body, query=f"?token={QUERY_TOKEN}"))
        statuses.append(post(base, "qs", body, query=f"?token={HEADER_TOKEN}"))
        body = json.dumps({"id": f"{log_format}-alchemy", "action": "buy"}).encode()
        statuses.append(post(base, "alchemy", body, {"X-Alchemy-Signature": hmac.new(ALCHEMY_KEY.encode(), body, hashlib.sha256).hexdigest()}))
        statuses.append(post(base, "alchemy", body, {"X-Alchemy-Signature": "00" * 32}))
        body = json.dumps({"action": "buy"}).encode()
        msg_id, ts = f"msg_{log_format}_onchain", str(int(time.time()))
        signature = base64.b64encode(hmac.new(base64.b64decode(WHSEC_KEY), f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
        statuses.append(post(base, "onchain", body, {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": "v1," + signature}))
        statuses.append(post(base, "onchain", body, {"webhook-id": msg_id + "b", "webhook-timestamp": ts, "webhook-signature": "v1," + "A" * 44}))
        c.check(f"{log_format}: genuine signals are accepted, forged ones refused", statuses == [202, 401, 202, 401, 401, 202, 401, 202, 401, 202, 401],
                statuses)
        placed = wait_until(lambda: len([o for o in sim_orders(sim_base) if o["clOrdId"]]) >= 5 * (2 if log_format == "json" else 1), timeout=30)
        c.check(f"{log_format}: the genuine signals ordered at the exchange", placed)
        for path in ("/metrics", "/readyz", "/healthz"):
            try:
                urllib.request.urlopen(admin + path, timeout=5).read()
            except urllib.error.HTTPError:
                pass
    finally:
        stop(proc)
    with open(log_path) as f:
        log_text = f.read()
    output = "\n".join(lines)
    debug_lines = [line for line in log_text.splitlines() if (' debug ' in line or '"level":"debug"' in line)]
    # The failed notices are logged (their retries cut short by the stop), naming each target without its URL's path.
    failures = [line for line in log_text.splitlines() if "notification not delivered" in line or "notifications not sent" in line]
    named = all(any(f"notifications[{n}] ({kind}, 127.0.0.1)" in line for line in failures) for n, kind in ((0, "json"), (1, "telegram")))
    c.check(f"{log_format}: each target's failed notices are logged by its display name", named, failures[:4])
    c.check(f"{log_format}: the log holds debug lines", len(debug_lines) >= 5, log_text[-500:])
    leaking = [line[:300] for line in (log_text + "\n" + output).splitlines() if leaks(line)]
    c.check(f"{log_format}: no secret, nor 8 characters of one, in the log or the output", not leaking, (leaks(log_text + output), leaking[:3]))
    if log_format == "json":
        bad = [line for line in log_text.splitlines() if line.strip() and not is_json_object(line)]
        c.check("json: every log line is one JSON object", not bad, bad[:3])
    journal = json.dumps(journal_records(os.path.join(folder, "journal")))
    for name in os.listdir(os.path.join(folder, "journal")):
        if name.startswith("checkpoint"):
            with open(os.path.join(folder, "journal", name)) as f:
                journal += f.read()
    c.check(f"{log_format}: no secret in the journal (the body token removed)", not leaks(journal) and f"{log_format}-tv" in journal, leaks(journal))


def is_json_object(line):
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        for log_format in ("text", "json"):
            run(c, binary, sim_base, os.path.join(folder, log_format), log_format)
    c.finish()


if __name__ == "__main__":
    main()
