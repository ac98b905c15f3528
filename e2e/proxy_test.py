"""The TLS reverse proxies of deploy/ (nginx and Caddy), run for real in front of `signalbridge serve` on 127.0.0.1,
with only what a test host needs changed (ports, a self-signed certificate, plain HTTP for Caddy, whose certificate
would come from an ACME server):

- TradingView's path is refused by the proxy for an address not in TradingView's published list;
- a signed webhook passes, and the bridge (with `trustedProxies` listing the proxy) journals the sender's real
  address even when the sender wrote its own `X-Forwarded-For`;
- a body over 64 KiB is refused by the proxy; the admin paths are not exposed.

Usage: python e2e/proxy_test.py PATH/TO/signalbridge     (a proxy not installed is reported and skipped)
"""
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys

from harness import Checks, http_status, journal_records, simulator, start, stop, wait_until, write_bridge_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OKX = {"OKX_API_KEY": "proxy-key", "OKX_SECRET_KEY": "PROXY0123456789", "OKX_PASSPHRASE": "Proxy-Pass"}
ALCHEMY_KEY = "proxy-alchemy-key"
ENV = dict(OKX, ALCHEMY_KEY=ALCHEMY_KEY, TV_TOKEN="proxy-tv-token")
TRADINGVIEW = ["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, headers=None):
    return http_status(url, body, dict({"Content-Type": "application/json"}, **(headers or {})), insecure_tls=True)


def get(url):
    return http_status(url, insecure_tls=True)


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
            .replace("listen [::]:443 ssl http2;", "").replace("listen 80;", f"listen 127.0.0.1:{free_port()};").replace("listen [::]:80;", ""))
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
    caddyfile = "{\n\tadmin off\n}\n\n" + caddyfile.replace("signals.example.com {", f"http://127.0.0.1:{port} {{").replace(
        "127.0.0.1:8080", f"127.0.0.1:{bridge_port}")
    with open(f"{work}/Caddyfile", "w") as f:
        f.write(caddyfile)
    env = dict(os.environ, XDG_DATA_HOME=work, XDG_CONFIG_HOME=work, HOME=work)
    proc = subprocess.Popen(["caddy", "run", "--config", f"{work}/Caddyfile", "--adapter", "caddyfile"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(f"{work}/caddy.log", "w"))
    return proc, f"http://127.0.0.1:{port}"


def check_proxy(c, name, base, bridge_journal):
    up = wait_until(lambda: get(f"{base}/") is not None, timeout=20)
    c.check(f"{name}: serves", up)
    c.check(f"{name}: refuses TradingView's path to an address not in TradingView's list",
            post(f"{base}/webhooks/tradingview", json.dumps({"id": "tv-1", "token": "proxy-tv-token"}).encode()) == 403)
    body, headers = signed(f"{name}-spoofed")
    status = post(f"{base}/webhooks/alchemy", body, dict(headers, **{"X-Forwarded-For": TRADINGVIEW[0]}))
    c.check(f"{name}: a signed webhook passes to the bridge", status == 202, status)
    signal = next((r for r in journal_records(bridge_journal) if r["type"] == "signal" and r["signalId"] == f"{name}-spoofed"), None)
    c.check(f"{name}: the bridge journals the sender's real address, not the X-Forwarded-For it wrote",
            signal is not None and signal["remoteAddr"] == "127.0.0.1", signal)
    big = json.dumps({"id": f"{name}-big", "pad": "x" * 70000}).encode()
    big_status = post(f"{base}/webhooks/alchemy", big)
    c.check(f"{name}: a body over 64 KiB is refused", big_status == 413, big_status)
    c.check(f"{name}: the admin paths are not exposed", get(f"{base}/readyz") == 404 and get(f"{base}/metrics") == 404)


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        rules = [{"id": "alchemy-buy", "source": "alchemy", "when": {"pointer": "/action", "eq": "buy"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}]
        sources = [{"name": "alchemy", "auth": {"scheme": "hmac-sha256", "header": "X-Alchemy-Signature", "secretEnv": "ALCHEMY_KEY"}, "idPointer": "/id"},
                   {"name": "tradingview", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"},
                    "allowFrom": TRADINGVIEW, "idPointer": "/id"}]
        write_bridge_config(folder, sim_base, rules, sources, trustedProxies=["127.0.0.1", "::1"], limits={"maxBodyBytes": 65536})
        bridge, bridge_base, _ = start(binary, ["serve", "--config", "config.json"], env=ENV, cwd=folder, announce="signalbridge listening on")
        bridge_port = int(bridge_base.rsplit(":", 1)[1])
        try:
            for name, run in (("nginx", nginx), ("caddy", caddy)):
                if shutil.which(name) is None:
                    print(f"skip {name}: not installed")
                    continue
                proc, base = run(folder, bridge_port)
                try:
                    check_proxy(c, name, base, os.path.join(folder, "journal"))
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
        finally:
            stop(bridge)
    c.finish()


if __name__ == "__main__":
    main()
