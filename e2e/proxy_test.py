"""The TLS reverse proxies of deploy/ (nginx and Caddy), run for real in front of `signalbridge serve` on 127.0.0.1,
with only what a test host needs changed (ports, a self-signed certificate, plain HTTP for Caddy, whose certificate
would come from an ACME server):

- TradingView's path (with trailing slashes too) is refused by the proxy itself for an address not in TradingView's
  published list (127.0.0.2 stands in for one in the test's copies), and passes for one in it;
- a signed webhook passes, and the bridge (with `trustedProxies` listing the proxy) journals the sender's address,
  not the proxy's, even when the sender wrote its own `X-Forwarded-For`;
- nginx refuses a body over its 64 KiB itself; Caddy passes on the bridge's own 413; the admin paths are not proxied.

Usage: python e2e/proxy_test.py PATH/TO/signalbridge     (a proxy not installed is reported and skipped)
"""
import hashlib
import hmac
import json
import os
import shutil
import socket
import http.client
import ssl
import subprocess
import sys
import urllib.parse

from harness import Checks, journal_records, simulator, start, stop, wait_until, write_bridge_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OKX = {"OKX_API_KEY": "proxy-key", "OKX_SECRET_KEY": "PROXY0123456789", "OKX_PASSPHRASE": "Proxy-Pass"}
ALCHEMY_KEY = "proxy-alchemy-key"
ENV = dict(OKX, ALCHEMY_KEY=ALCHEMY_KEY, TV_TOKEN="proxy-tv-token")
TRADINGVIEW = ["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"]
# Stands in for a TradingView address in the test's copies of the allowlists (a second loopback address).
ALLOWED = "127.0.0.2"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None, headers=None, source="127.0.0.1"):
    """One request from the local address `source` (a POST of `body` when given, else a GET); returns (status,
    body text), or (None, "") when nothing answered."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=15, source_address=(source, 0),
                                                 context=ssl._create_unverified_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15, source_address=(source, 0))
    try:
        connection.request("POST" if body is not None else "GET", parts.path or "/", body=body,
                           headers=dict({"Content-Type": "application/json"}, **(headers or {})))
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError:
        return None, ""
    finally:
        connection.close()


def refused_by_proxy(answer):
    """A 403 the proxy gave itself: not the bridge's JSON error body."""
    status, text = answer
    return status == 403 and '"error"' not in text


def signed(signal_id):
    body = json.dumps({"id": signal_id, "action": "buy"}).encode()
    return body, {"X-Alchemy-Signature": hmac.new(ALCHEMY_KEY.encode(), body, hashlib.sha256).hexdigest()}


def nginx(folder, bridge_port):
    """deploy/nginx on a free port with a self-signed certificate; returns (process, base URL)."""
    work = os.path.join(folder, "nginx")
    os.makedirs(work)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=signals.example.com", "-days", "1",
                    "-keyout", f"{work}/privkey.pem", "-out", f"{work}/fullchain.pem"], check=True, capture_output=True)
    port = free_port()
    with open(os.path.join(ROOT, "deploy/nginx/signalbridge.conf")) as f:
        site = f.read()
    site = (site.replace("/etc/letsencrypt/live/signals.example.com", work).replace("/etc/nginx/snippets", work)
            .replace("127.0.0.1:8080", f"127.0.0.1:{bridge_port}").replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
            .replace("listen [::]:443 ssl http2;", "").replace("listen 80;", f"listen 127.0.0.1:{free_port()};").replace("listen [::]:80;", "")
            .replace("/var/log/nginx/", f"{work}/").replace("allow 52.89.214.238;", f"allow {ALLOWED};\n        allow 52.89.214.238;"))
    with open(f"{work}/signalbridge.conf", "w") as f:
        f.write(site)
    shutil.copy(os.path.join(ROOT, "deploy/nginx/signalbridge-proxy.conf"), work)
    temp = "".join(f"{kind}_temp_path {work}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"pid {work}/nginx.pid;\nerror_log {work}/error.log;\nevents {{}}\n"
                f"http {{\naccess_log {work}/access.log;\n{temp}include {work}/signalbridge.conf;\n}}\n")
    proc = subprocess.Popen(["nginx", "-p", work, "-c", f"{work}/nginx.conf", "-e", f"{work}/error.log", "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"https://127.0.0.1:{port}"


def caddy(folder, bridge_port):
    """deploy/caddy on a free port over plain HTTP (no certificate authority here); returns (process, base URL)."""
    work = os.path.join(folder, "caddy")
    os.makedirs(work)
    port = free_port()
    with open(os.path.join(ROOT, "deploy/caddy/Caddyfile")) as f:
        caddyfile = f.read()
    caddyfile = (caddyfile.replace("signals.example.com {", f"http://127.0.0.1:{port} {{").replace("127.0.0.1:8080", f"127.0.0.1:{bridge_port}")
                 .replace("not remote_ip 52.89.214.238", f"not remote_ip {ALLOWED} 52.89.214.238"))
    with open(f"{work}/Caddyfile", "w") as f:
        f.write(caddyfile)
    env = dict(os.environ, XDG_DATA_HOME=work, XDG_CONFIG_HOME=work, HOME=work)
    proc = subprocess.Popen(["caddy", "run", "--config", f"{work}/Caddyfile", "--adapter", "caddyfile"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(f"{work}/caddy.log", "w"))
    return proc, f"http://127.0.0.1:{port}"


def check_proxy(c, name, base, bridge_journal, proxy_limits_body):
    up = wait_until(lambda: request(f"{base}/")[0] is not None, timeout=20)
    c.check(f"{name}: serves", up)
    rejected_before = sum(1 for r in journal_records(bridge_journal) if r["type"] == "rejected")
    tv = json.dumps({"id": f"{name}-tv", "token": "proxy-tv-token"}).encode()
    c.check(f"{name}: refuses TradingView's path itself to an address not in TradingView's list",
            refused_by_proxy(request(f"{base}/webhooks/tradingview", tv)))
    c.check(f"{name}: and with trailing slashes, which the bridge routes to the same source",
            refused_by_proxy(request(f"{base}/webhooks/tradingview/", tv)) and refused_by_proxy(request(f"{base}/webhooks/tradingview//", tv)))
    c.check(f"{name}: those never reached the bridge", sum(1 for r in journal_records(bridge_journal) if r["type"] == "rejected") == rejected_before)
    status, text = request(f"{base}/webhooks/tradingview", tv, source=ALLOWED)
    c.check(f"{name}: an allowed address passes both the proxy and the bridge's allowFrom (it sees the sender, not the proxy)",
            status == 202, (status, text))
    body, headers = signed(f"{name}-spoofed")
    status, text = request(f"{base}/webhooks/alchemy", body, dict(headers, **{"X-Forwarded-For": TRADINGVIEW[0]}), source=ALLOWED)
    c.check(f"{name}: a signed webhook passes to the bridge", status == 202, (status, text))
    signal = next((r for r in journal_records(bridge_journal) if r["type"] == "signal" and r["signalId"] == f"{name}-spoofed"), None)
    c.check(f"{name}: the bridge journals the sender's address, not the proxy's nor the X-Forwarded-For the sender wrote",
            signal is not None and signal["remoteAddr"] == ALLOWED, signal)
    if proxy_limits_body:
        status, text = request(f"{base}/webhooks/alchemy", json.dumps({"id": f"{name}-big", "pad": "x" * 70000}).encode())
        c.check(f"{name}: refuses a body over its 64 KiB itself", status == 413 and '"error"' not in text, (status, text[:200]))
    else:
        status, text = request(f"{base}/webhooks/alchemy", json.dumps({"id": f"{name}-big", "pad": "x" * 140000}).encode())
        c.check(f"{name}: passes on the bridge's own 413 for a body over limits.maxBodyBytes", status == 413 and '"payload_too_large"' in text,
                (status, text[:200]))
    c.check(f"{name}: the admin paths are not proxied", request(f"{base}/readyz")[0] == 404 and request(f"{base}/metrics")[0] == 404)


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        rules = [{"id": "alchemy-buy", "source": "alchemy", "when": {"pointer": "/action", "eq": "buy"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}]
        sources = [{"name": "alchemy", "auth": {"scheme": "hmac-sha256", "header": "X-Alchemy-Signature", "secretEnv": "ALCHEMY_KEY"}, "idPointer": "/id"},
                   {"name": "tradingview", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"},
                    "allowFrom": TRADINGVIEW + [ALLOWED], "idPointer": "/id"}]
        rules.append({"id": "tv-buy", "source": "tradingview", "when": {"pointer": "/id", "exists": True},
                      "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]})
        # Above nginx's 64 KiB, so that its own limit is what refuses a 70 KiB body.
        write_bridge_config(folder, sim_base, rules, sources, trustedProxies=["127.0.0.1", "::1"], limits={"maxBodyBytes": 131072})
        bridge, bridge_base, _ = start(binary, ["serve", "--config", "config.json"], env=ENV, cwd=folder, announce="signalbridge listening on")
        bridge_port = int(bridge_base.rsplit(":", 1)[1])
        try:
            for name, run, proxy_limits_body in (("nginx", nginx, True), ("caddy", caddy, False)):
                if shutil.which(name) is None:
                    print(f"skip {name}: not installed")
                    continue
                proc, base = run(folder, bridge_port)
                try:
                    check_proxy(c, name, base, os.path.join(folder, "journal"), proxy_limits_body)
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
        finally:
            stop(bridge)
    c.finish()


if __name__ == "__main__":
    main()
