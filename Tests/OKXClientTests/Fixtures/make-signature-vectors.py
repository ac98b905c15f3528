#!/usr/bin/env python3
"""Computes the OKX REST/WebSocket signature vectors in okx-signature-vectors.json with Python's hmac module,
an implementation independent of ours: base64(HMAC-SHA256(secret as UTF-8, timestamp + METHOD + requestPath + body))."""
import base64, hashlib, hmac, json

SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the OKX docs' example secret, used as UTF-8 text
CASES = [
    ("2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance?ccy=BTC", ""),
    ("2020-12-08T09:08:57.715Z", "POST", "/api/v5/trade/order",
     '{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"b15","side":"buy","ordType":"limit","px":"2.15","sz":"2"}'),
    ("2020-12-08T09:08:57.715Z", "POST", "/api/v5/trade/order",
     '{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"100","tgtCcy":"quote_ccy","clOrdId":"sig20201208a"}'),
    ("2020-12-08T09:08:57.715Z", "GET", "/api/v5/trade/order?instId=BTC-USDT&clOrdId=sig20201208a", ""),
    ("1538054050", "GET", "/users/self/verify", ""),
]

def sign(ts, method, path, body, key):
    return base64.b64encode(hmac.new(key, (ts + method + path + body).encode(), hashlib.sha256).digest()).decode()

vectors = [dict(timestamp=t, method=m, requestPath=p, body=b, sign=sign(t, m, p, b, SECRET.encode())) for t, m, p, b in CASES]
wrong = sign(*CASES[0], bytes.fromhex(SECRET))
print(json.dumps({"generator": "Python hmac + hashlib + base64 (make-signature-vectors.py)", "secret": SECRET,
                  "vectors": vectors, "hexDecodedSecretSignOfVector1": wrong}, indent=2))
