"""Webhooks signed by independent implementations reach `signalbridge serve`: each sender's valid signal is
accepted once, and tampered, stale, replayed and wrongly keyed ones never trade.

Signers: `standardwebhooks` (Standard Webhooks), `stripe` (its signature helper), `eth-hash` with pycryptodome
(Moralis Keccak-256), and Python's hmac module for the HMAC presets (GitHub, Alchemy, Nansen, QuickNode, Tenderly).

Usage: python e2e/webhook_senders.py PATH/TO/signalbridge
"""
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import stripe
from eth_hash.auto import keccak
from standardwebhooks.webhooks import Webhook

from harness import Checks, start, stop

SECRETS = {
    "SW_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "STRIPE_SECRET": "whsec_e2e_stripe_0123456789",
    "MORALIS_SECRET": "e2e-moralis-streams-secret",
    "GITHUB_SECRET": "It's a Secret to Everybody",
    "ALCHEMY_KEY": "whsec_alchemy_e2e_key",
    "NANSEN_SECRET": "e2e-nansen",
    "QN_TOKEN": "qn-security-token-e2e",
    "TENDERLY_KEY": "tenderly-signing-key-e2e",
}

SOURCES = [
    ("onchain", {"scheme": "standard-webhooks", "secretEnv": "SW_SECRET", "toleranceSeconds": 300}, None),
    ("stripe", {"scheme": "stripe", "secretEnv": "STRIPE_SECRET"}, "/id"),
    ("moralis", {"scheme": "moralis", "secretEnv": "MORALIS_SECRET"}, "/id"),
    ("github", {"scheme": "github", "secretEnv": "GITHUB_SECRET"}, "/id"),
    ("alchemy", {"scheme": "alchemy", "secretEnv": "ALCHEMY_KEY"}, "/id"),
    ("nansen", {"scheme": "nansen", "secretEnv": "NANSEN_SECRET"}, "/id"),
    ("quicknode", {"scheme": "quicknode", "secretEnv": "QN_TOKEN", "toleranceSeconds": 300}, "/id"),
    ("tenderly", {"scheme": "tenderly", "secretEnv": "TENDERLY_KEY"}, "/id"),
]


def hex_hmac(key, message):
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign(source, body, when=None, secret=None):
    """Headers `source`'s real sender would send for `body` (bytes) at `when` (Unix seconds)."""
    when = int(when or time.time())
    env = {name: secret or value for name, value in SECRETS.items()}
    if source == "onchain":
        msg_id = body_id(body)
        signature = Webhook(env["SW_SECRET"]).sign(msg_id, datetime.datetime.fromtimestamp(when, datetime.timezone.utc), body.decode())
        return {"webhook-id": msg_id, "webhook-timestamp": str(when), "webhook-signature": signature}
    if source == "stripe":
        return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), env["STRIPE_SECRET"], timestamp=when)}
    if source == "moralis":
        return {"x-signature": "0x" + keccak(body + env["MORALIS_SECRET"].encode()).hex()}
    if source == "github":
        return {"X-Hub-Signature-256": "sha256=" + hex_hmac(env["GITHUB_SECRET"], body), "X-GitHub-Event": "push"}
    if source == "alchemy":
        return {"X-Alchemy-Signature": hex_hmac(env["ALCHEMY_KEY"], body)}
    if source == "nansen":
        return {"x-nansen-signature": "sha256=" + hex_hmac(env["NANSEN_SECRET"], body)}
    if source == "quicknode":
        nonce = uuid.uuid4().hex
        return {"X-QN-Nonce": nonce, "X-QN-Timestamp": str(when),
                "X-QN-Signature": hex_hmac(env["QN_TOKEN"], nonce.encode() + str(when).encode() + body)}
    if source == "tenderly":
        date = email.utils.formatdate(when, usegmt=True)
        return {"Date": date, "x-tenderly-signature": hex_hmac(env["TENDERLY_KEY"], body + date.encode())}
    raise ValueError(source)


def body_id(body):
    return json.loads(body)["id"]


def post(base, source, body, headers):
    request = urllib.request.Request(f"{base}/webhooks/{source}", data=body, method="POST",
                                     headers=dict(headers, **{"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def journal_records(directory):
    records = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("journal-"):
            with open(os.path.join(directory, name)) as segment:
                records += [json.loads(line) for line in segment if line.strip()]
    return records


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, "rules"))
        rules = [{"id": f"{name}-buy", "source": name, "when": {"pointer": "/action", "eq": "buy"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}
                 for name, _, _ in SOURCES]
        with open(os.path.join(folder, "rules", "senders.json"), "w") as f:
            json.dump({"rules": rules}, f)
        config = {"listen": {"host": "127.0.0.1", "port": 0}, "admin": {"host": "127.0.0.1", "port": 0},
                  "exchange": {"kind": "sim"}, "journal": {"directory": "journal"}, "rules": ["rules"],
                  "sources": [dict({"name": name, "auth": auth}, **({"idPointer": pointer} if pointer else {}))
                              for name, auth, pointer in SOURCES],
                  "risk": {"allowedInstruments": ["BTC-USDT"]}}
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f)
        bridge, base, _ = start(binary, ["serve", "--config", "config.json"], env=SECRETS,
                                announce="signalbridge listening on", cwd=folder)
        try:
            for name, _, _ in SOURCES:
                body = json.dumps({"id": f"{name}-{uuid.uuid4().hex[:12]}", "action": "buy"}).encode()
                headers = sign(name, body)
                status, response_headers, first = post(base, name, body, headers)
                c.check(f"{name}: a valid signal is accepted", status == 202 and b'"outcome":"order"' in first, (status, first))
                status, response_headers, again = post(base, name, body, headers)
                duplicate = {k.lower(): v for k, v in response_headers.items()}.get("signalbridge-duplicate")
                c.check(f"{name}: the replay is a duplicate", status == 200 and duplicate == "true" and again == first, (status, again))
                tampered = body.replace(b'"buy"', b'"sell"')
                c.check(f"{name}: a tampered body is refused", post(base, name, tampered, headers)[0] == 401)
                fresh = json.dumps({"id": f"{name}-{uuid.uuid4().hex[:12]}", "action": "buy"}).encode()
                c.check(f"{name}: a wrong key is refused", post(base, name, fresh, sign(name, fresh, secret="whsec_d3Jvbmc="))[0] == 401)
                if name in ("onchain", "stripe", "quicknode"):
                    stale = sign(name, fresh, when=time.time() - 600)
                    c.check(f"{name}: a stale signature is refused", post(base, name, fresh, stale)[0] == 401)
                    c.check(f"{name}: ... and a fresh one of the same body is accepted", post(base, name, fresh, sign(name, fresh))[0] == 202)
            # Timestamps no clock shows, unsigned: each once stopped the bridge before its signature was checked.
            hostile = {
                "onchain": {"webhook-id": "m1", "webhook-timestamp": "-9223372036854775808", "webhook-signature": "v1,AAAA"},
                "stripe": {"Stripe-Signature": "t=-9223372036854775808,v1=" + "0" * 64},
                "quicknode": {"X-QN-Nonce": "n", "X-QN-Timestamp": "99999999999999999999", "X-QN-Signature": "0" * 64},
                "tenderly": {"Date": "Sun, 06 Nov 1994 08:49:37 GMT", "x-tenderly-signature": "0" * 64},
            }
            for name, headers in hostile.items():
                status, _, answer = post(base, name, b'{"id":"x","action":"buy"}', headers)
                c.check(f"{name}: a timestamp no clock shows is refused with 401 and a message",
                        status == 401 and b'"message"' in answer, (status, answer))
            late = json.dumps({"id": f"late-{uuid.uuid4().hex[:12]}", "action": "buy"}).encode()
            c.check("tenderly: a signed Date outside the tolerance is refused",
                    post(base, "tenderly", late, sign("tenderly", late, when=time.time() - 600))[0] == 401)
            alive = json.dumps({"id": f"alive-{uuid.uuid4().hex[:12]}", "action": "buy"}).encode()
            c.check("the bridge still trades after them", bridge.poll() is None and post(base, "onchain", alive, sign("onchain", alive))[0] == 202)
            big = b'{"pad":"' + b"a" * 200_000 + b'"}'
            c.check("a body over maxBodyBytes is refused from its Content-Length", post(base, "github", big, sign("github", big))[0] == 413)
            chunked = urllib.request.Request(f"{base}/webhooks/github", data=iter([big[i:i + 8192] for i in range(0, len(big), 8192)]),
                                             method="POST", headers=dict(sign("github", big), **{"Transfer-Encoding": "chunked"}))
            try:
                status = urllib.request.urlopen(chunked, timeout=10).status
            except urllib.error.HTTPError as error:
                status = error.code
            c.check("a chunked body over maxBodyBytes is refused", status == 413, status)
        finally:
            stop(bridge)
        records = journal_records(os.path.join(folder, "journal"))
        intents = [r["clOrdId"] for r in records if r["type"] == "order.intent"]
        c.check("one order intent per accepted signal, none twice", len(intents) == len(SOURCES) + 4 and len(set(intents)) == len(intents), intents)
        text = json.dumps(records)
        c.check("no secret in the journal", not any(secret in text for secret in SECRETS.values()))
        verify = subprocess.run([binary, "journal", "verify", "--config", "config.json"], cwd=folder, capture_output=True, text=True)
        c.check("the journal verifies", verify.returncode == 0 and verify.stdout.startswith("journal OK"), verify.stdout + verify.stderr)
    c.finish()


if __name__ == "__main__":
    main()
