"""Notifications (`notifications[]`) with real processes: `signalbridge serve` and `signalbridge sim` on 127.0.0.1, and
a receiver here that plays a Standard Webhooks consumer and a Slack incoming webhook:

- an order's fill reaches the json target, and the `standardwebhooks` package (pinned, from PyPI) verifies its
  signature; the Slack target gets `{"text"}` after answering its first try with a 500 (tried again);
- engaging the kill switch and a refused rule reload are notified too;
- `/metrics` counts every notice sent.

Usage: python e2e/notifications.py PATH/TO/signalbridge
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks

from harness import Checks, http_status, simulator, start, stop, wait_until, write_bridge_config

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
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}]
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
        try:
            body = json.dumps({"id": "notice-1", "action": "buy"}).encode()
            status = http_status(f"{base}/webhooks/alerts", body, {"Content-Type": "application/json",
                                                                  "X-Signature": hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).hexdigest()})
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
        finally:
            stop(bridge)
            server.shutdown()
    c.finish()


if __name__ == "__main__":
    main()
