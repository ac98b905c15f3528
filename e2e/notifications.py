"""Notifications (`notifications[]`) with real processes: `signalbridge serve` and `signalbridge sim` on 127.0.0.1, and
a receiver here that plays a Standard Webhooks consumer and a Slack incoming webhook:

- an order's fill reaches the json target, and the `standardwebhooks` package (pinned, from PyPI) verifies its
  signature; the Slack target gets `{"text"}` after answering its first try with a 500 (tried again);
- engaging the kill switch and a refused rule reload are notified too;
- `/metrics` counts every notice sent;
- `signalbridge reconcile` sends the notices of what it journals before it exits: a limit order left resting by
  `serve` fills at the simulator while no bridge runs, and reconcile's lookup of it is notified; its attached
  take-profit (journaled in the intent) then sells at the simulator when the price reaches it.

Usage: python e2e/notifications.py PATH/TO/signalbridge
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks

from harness import Checks, http_status, journal_records, replay_unchanged, sim_orders, simulator, start, stop, wait_until, write_bridge_config

OKX = {"OKX_API_KEY": "notice-key", "OKX_SECRET_KEY": "NOTICE0123456789", "OKX_PASSPHRASE": "Notice-Pass"}
SIGNING_KEY = "notice-signing-key"
NOTIFY_SECRET = "whsec_" + base64.b64encode(b"notifications-e2e-secret-32bytes").decode()
ENV = dict(OKX, SIGNING_KEY=SIGNING_KEY, NOTIFY_SECRET=NOTIFY_SECRET)


class Receiver(BaseHTTPRequestHandler):
    """Keeps every POST; `/slack` answers its first request with a 500, `/gone-*` always 404."""
    received = []
    lock = threading.Lock()
    slack_calls = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Receiver.lock:
            Receiver.received.append((self.path, dict(self.headers), body))
            fail = self.path == "/slack" and Receiver.slack_calls == 0
            if self.path == "/slack":
                Receiver.slack_calls += 1
        self.send_response(500 if fail else 404 if self.path.startswith("/gone-") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def posts(path):
    with Receiver.lock:
        return [(headers, body) for p, headers, body in Receiver.received if p == path]


def json_notices():
    """The json target's notices, each verified with the standardwebhooks package (a failure raises)."""
    hook = standardwebhooks.Webhook(NOTIFY_SECRET)
    return [hook.verify(body, {k.lower(): v for k, v in headers.items()}) for headers, body in posts("/json")]


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver = f"http://127.0.0.1:{server.server_address[1]}"
    with simulator(binary, OKX) as (sim_base, folder):
        rules = [{"id": "buy", "source": "alerts", "when": {"pointer": "/action", "eq": "buy"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]},
                 {"id": "bid", "source": "alerts", "when": {"pointer": "/action", "eq": "bid"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"}, "price": {"pointer": "/price"},
                              "takeProfit": {"trigger": {"offsetPercent": "3"}, "order": "market"}}]}]
        sources = [{"name": "alerts", "auth": {"scheme": "hmac-sha256", "header": "X-Signature", "secretEnv": "SIGNING_KEY"}, "idPointer": "/id"}]
        notifications = [
            {"url": f"{receiver}/json", "format": "json", "events": ["order.filled", "killSwitch", "rules.refused"], "secretEnv": "NOTIFY_SECRET"},
            {"url": f"{receiver}/slack", "format": "slack", "events": ["order.filled"]},
            # A chat service's URL holds its token, as this path stands for: a failed delivery is logged without it.
            {"url": f"{receiver}/gone-T0KEN1N7HEPATH", "format": "discord", "events": ["order.filled"]},
        ]
        write_bridge_config(folder, sim_base, rules, sources, notifications=notifications, risk={"killSwitchFile": "KILL"})
        log = open(os.path.join(folder, "bridge.log"), "w")
        bridge, base, lines = start(binary, ["serve", "--config", "config.json"], env=ENV, cwd=folder,
                                    announce="signalbridge listening on", also=("signalbridge admin on",), stderr=log)
        admin = next(line for line in lines if "signalbridge admin on" in line).split("signalbridge admin on ")[1].split(" ")[0]
        def signal_status(payload):
            body = json.dumps(payload).encode()
            return http_status(f"{base}/webhooks/alerts", body, {"Content-Type": "application/json",
                                                                 "X-Signature": hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).hexdigest()})
        try:
            status = signal_status({"id": "notice-1", "action": "buy"})
            c.check("a signal is acknowledged", status == 202, status)
            filled = wait_until(lambda: any(n["type"] == "order.filled" for n in json_notices()), timeout=30)
            c.check("the fill reaches the json target, its signature verified by the standardwebhooks package", filled, posts("/json"))
            fill = next((n for n in json_notices() if n["type"] == "order.filled"), {})
            c.check("the notice names the order", fill.get("data", {}).get("instId") == "BTC-USDT" and fill["data"].get("side") == "buy", fill)
            slack = wait_until(lambda: len(posts("/slack")) >= 2, timeout=30)
            texts = [json.loads(b).get("text", "") for _, b in posts("/slack")]
            c.check("the Slack target answered 500 first, got the notice again, as {\"text\"}",
                    slack and all(t.startswith("signalbridge: BTC-USDT buy filled") for t in texts), texts)

            open(os.path.join(folder, "KILL"), "w").close()
            engaged = wait_until(lambda: any(n["type"] == "killSwitch" and n["data"]["engaged"] for n in json_notices()), timeout=30)
            c.check("engaging the kill switch is notified", engaged)
            os.remove(os.path.join(folder, "KILL"))

            with open(os.path.join(folder, "rules", "broken.json"), "w") as f:
                json.dump({"rules": [{"id": "broken"}]}, f)
            os.kill(bridge.pid, signal.SIGHUP)
            refused = wait_until(lambda: any(n["type"] == "rules.refused" for n in json_notices()), timeout=30)
            c.check("a refused rule reload is notified", refused)

            def metrics():
                with urllib.request.urlopen(f"{admin}/metrics", timeout=5) as response:
                    return response.read().decode()
            counted = wait_until(lambda: 'signalbridge_notifications_total{event="order.filled",outcome="sent"} 2' in metrics()
                                 and 'signalbridge_notifications_total{event="order.filled",outcome="failed"} 1' in metrics(), timeout=10)
            c.check("/metrics counts the notices sent and the one given up", counted,
                    [line for line in metrics().splitlines() if "notifications" in line])
            with open(os.path.join(folder, "bridge.log")) as f:
                text = f.read()
            c.check("the delivery given up is logged, naming the target without its path",
                    "notification not delivered" in text and "T0KEN1N7HEPATH" not in text)

            status = signal_status({"id": "notice-bid", "action": "bid", "price": "59000"})
            resting = wait_until(lambda: any(o.get("px") == "59000" for o in sim_orders(sim_base)), timeout=30)
            c.check("a limit order rests at the simulator", status == 202 and resting, status)
        finally:
            stop(bridge)
        try:
            reconcile_notifies(c, binary, sim_base, folder)
            replay_unchanged(c, binary, folder, ENV, "notifications")
        finally:
            server.shutdown()
    c.finish()


def reconcile_notifies(c, binary, sim_base, folder):
    """The resting order fills while no bridge runs; `reconcile` finds it filled, and its notice is sent before it
    exits."""
    os.remove(os.path.join(folder, "rules", "broken.json"))
    status = http_status(f"{sim_base}/sim/price", json.dumps({"instId": "BTC-USDT", "last": "58000"}).encode(),
                         {"Content-Type": "application/json"})
    filled = wait_until(lambda: any(o.get("px") == "59000" and o.get("state") == "filled" for o in sim_orders(sim_base)), timeout=10)
    c.check("the price moves through the resting order, which fills at the simulator", status == 200 and filled,
            [o for o in sim_orders(sim_base) if o.get("px") == "59000"])
    before = len(posts("/json"))
    result = subprocess.run([binary, "reconcile", "--config", "config.json"], env=dict(os.environ, **ENV), cwd=folder,
                            capture_output=True, text=True, timeout=60)
    fills = [n for n in json_notices()[before:] if n["type"] == "order.filled"]
    c.check("reconcile finds the fill and sends its notice before it exits",
            result.returncode == 0 and len(fills) == 1 and fills[0]["data"].get("state") == "filled", (result.stdout, result.stderr[-800:], fills))

    # The order carried its take-profit (journaled in the intent as sent): armed once filled, it sells when the
    # price reaches 3 % above the limit price.
    intents = [r for r in journal_records(os.path.join(folder, "journal")) if r["type"] == "order.intent" and r["request"].get("px") == "59000"]
    attached = (intents[0]["request"].get("attachAlgoOrds") or [{}])[0] if intents else {}
    c.check("the journaled intent holds the attached take-profit", attached.get("tpTriggerPx") == "60770" and attached.get("tpOrdPx") == "-1", intents)
    http_status(f"{sim_base}/sim/price", json.dumps({"instId": "BTC-USDT", "last": "60770"}).encode(), {"Content-Type": "application/json"})
    exits = [o for o in sim_orders(sim_base) if o.get("algoClOrdId") and o.get("algoClOrdId") == attached.get("attachAlgoClOrdId")]
    c.check("the take-profit sells at the simulator when the price reaches it", len(exits) == 1 and exits[0]["side"] == "sell" and exits[0]["state"] == "filled", exits)


if __name__ == "__main__":
    main()
