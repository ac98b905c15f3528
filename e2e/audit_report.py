"""The auditor's HTML report (`signalbridge journal report --format html`) in a real browser: `signalbridge serve` and
`signalbridge sim` on 127.0.0.1 write a journal with every outcome (a filled market order, a resting limit order, a
dry run, a blocked decision, a signal no rule matched, a payload full of markup); the page is then opened from the
file by headless Chromium (Debian's package) with no network:

- it loads without a script error (its optional filter script ran to the end: the filters are shown with their count);
- it asks for nothing outside the file (no src, no link, no url(), no import);
- it names every signal of the journal, and a payload's markup is shown as text, never run;
- its screenshot is not blank (Pillow, pinned, from PyPI, counts its colours), and it prints to PDF;
- `journal replay` with the rules in force changes nothing, and its table marks a changed rule.

Usage: python e2e/audit_report.py PATH/TO/signalbridge [SCREENSHOT.png]
"""
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from decimal import Decimal

from PIL import Image

from harness import Checks, http_status, journal_records, replay_unchanged, sim_orders, simulator, start, stop, wait_until, write_bridge_config

OKX = {"OKX_API_KEY": "audit-key", "OKX_SECRET_KEY": "AUDIT0123456789", "OKX_PASSPHRASE": "Audit-Pass"}
SIGNING_KEY = "audit-signing-key"
ENV = dict(OKX, SIGNING_KEY=SIGNING_KEY)
# Plain markup, and markup behind U+0600, which joins the `<` after it into one grapheme (an escaper that goes by
# grapheme misses it): any of it run in the page marks the body.
MARKUP = ("<script>document.title='pwned'</script><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
          "\u0600<img src=y onerror=\"document.body.setAttribute('data-pwned','2')\" \u0600>")


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no chromium: install Debian's chromium package")


def no_network():
    """A prefix that runs a command in a network namespace of its own (no interface but a down loopback), where the
    machine allows it; else Chromium's own switches (a black-hole proxy, no name resolution) are all there is."""
    try:
        if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
            return ["unshare", "-n"]
    except FileNotFoundError:
        pass
    print("info unshare -n is not allowed here: Chromium runs with a black-hole proxy instead")
    return []


def browse(page, *args):
    """Runs headless Chromium on the file `page` with no network; returns (exit code, stdout, stderr)."""
    profile = tempfile.mkdtemp()
    try:
        run = subprocess.run(no_network() + [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                              "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
                              "--enable-logging=stderr", "--v=0", "--window-size=1200,1600", *args, "file://" + page],
                             capture_output=True, text=True, timeout=120)
        return run.returncode, run.stdout, run.stderr
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main():
    binary = os.path.abspath(sys.argv[1])
    screenshot_copy = sys.argv[2] if len(sys.argv) > 2 else None
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        rules = [{"id": "buy", "source": "alerts", "when": {"pointer": "/action", "eq": "buy"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]},
                 {"id": "rest", "source": "alerts", "when": {"pointer": "/action", "eq": "rest"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"},
                              "price": {"from": "bid", "offsetBps": -2000}}]},
                 {"id": "paper", "source": "alerts", "when": {"pointer": "/action", "eq": "paper"}, "dryRun": True,
                  "orders": [{"instId": "ETH-USDT", "side": "buy", "ordType": "market", "size": {"quote": "15"}}]},
                 {"id": "big", "source": "alerts", "when": {"pointer": "/action", "eq": "big"}, "maxOrderNotional": "10",
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "50"}}]}]
        sources = [{"name": "alerts", "auth": {"scheme": "hmac-sha256", "header": "X-Signature", "secretEnv": "SIGNING_KEY"}, "idPointer": "/id"}]
        write_bridge_config(folder, sim_base, rules, sources)
        # A book with depth: each level holds 0.0002 BTC, so a 20 USDT market buy fills in two parts at two prices.
        depth = urllib.request.Request(f"{sim_base}/sim/depth", data=json.dumps({"instId": "BTC-USDT", "levelSz": "0.0002"}).encode(),
                                       method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(depth, timeout=5).close()
        bridge, base, _ = start(binary, ["serve", "--config", "config.json"], env=ENV, cwd=folder, announce="signalbridge listening on")
        signals = [("audit-buy-1", "buy"), ("audit-rest-1", "rest"), ("audit-paper-1", "paper"), ("audit-big-1", "big"),
                   ("audit-none-1", "hold"), ("audit-buy-2", "buy")]
        try:
            for signal_id, action in signals:
                body = json.dumps({"id": signal_id, "action": action, "note": MARKUP}).encode()
                status = http_status(f"{base}/webhooks/alerts", body, {
                    "Content-Type": "application/json", "X-Signature": hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).hexdigest()})
                c.check(f"{signal_id} is acknowledged", status == 202, status)
            journal = os.path.join(folder, "journal")
            def counts():
                records = journal_records(journal)
                fills = sum(1 for r in records if r["type"] == "order.update" and r.get("state") == "filled")
                return fills, sum(1 for r in records if r["type"] == "order.ack")
            settled = wait_until(lambda: counts() == (2, 3), timeout=30)
            c.check("the market buys filled and the limit order rests", settled, counts())
        finally:
            stop(bridge)

        report = subprocess.run([binary, "journal", "report", "--config", "config.json", "--format", "json"], cwd=folder, capture_output=True, text=True)
        reported = {o["clOrdId"]: o for line in report.stdout.splitlines() for o in json.loads(line)["orders"]}
        walked = [o for o in sim_orders(sim_base) if o["ordType"] == "market" and o["clOrdId"] in reported]
        c.check("journal report shows each market buy's fills as the exchange made them: size and weighted avgPx over two levels",
                len(walked) == 2 and all(Decimal(reported[o["clOrdId"]]["avgPx"]) == Decimal(o["avgPx"]) != Decimal("60000.1")
                                         and Decimal(reported[o["clOrdId"]]["accFillSz"]) == Decimal(o["accFillSz"]) for o in walked),
                (walked, reported))

        page = os.path.join(folder, "report.html")
        made = subprocess.run([binary, "journal", "report", "--config", "config.json", "--format", "html", "--output", page],
                              cwd=folder, capture_output=True, text=True)
        c.check("journal report --format html writes the page", made.returncode == 0 and os.path.getsize(page) > 0, made.stderr)
        html = open(page, encoding="utf-8").read()
        # In markup only: a payload's text, escaped, may say anything.
        outside = re.findall(r"""(?i)<[^>]*\b(?:src|srcset|href|action|formaction|poster|ping|data|content)\s*=\s*["']?(?!#)[^"'\s>]*(?:https?:|//|url)"""
                             r"""|url\(|image-set\(|@import|<link\b|<iframe\b|<object\b|<embed\b|<base\b""", html)
        c.check("the page asks for nothing outside the file", not outside, outside[:5])
        c.check("the page has one script, its own", html.count("<script") == 1, html.count("<script"))
        c.check("a payload's markup is escaped in the file", "&lt;script&gt;document.title" in html and "\\u{600}&lt;img" in html
                and "\u0600" not in html and "<img" not in html)

        code, dom, log = browse(page, "--virtual-time-budget=5000", "--dump-dom")
        errors = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line or "ERR_" in line]
        c.check("Chromium loads the page from the file without errors", code == 0 and not errors and "</html>" in dom,
                (code, errors[:5], log[-500:]))
        shown = re.search(r'<output id="shown">(\d+) of (\d+) signals</output>', dom)
        c.check("its filter script ran to the end (the filters show every signal)",
                shown is not None and shown.group(1) == shown.group(2) == str(len(signals)) and '<form id="filters">' in dom,
                shown and shown.group(0))
        c.check("the page names every signal of the journal", all(signal_id in dom for signal_id, _ in signals),
                [s for s, _ in signals if s not in dom])
        # The serialized DOM escapes text: a literal <img is an element, data-pwned a script that ran.
        c.check("the payload's markup stays text in the browser (no element made of it, no script of it ran)",
                "<title>signalbridge journal report</title>" in dom and "<img" not in dom and not re.search(r"<body[^>]*data-pwned", dom)
                and "&lt;img src=y" in dom, [line for line in dom.splitlines() if "<img" in line or "<body" in line][:3])
        for part in ('id="summary"', 'id="timeline"', 'id="latency"', "POST /api/v5/trade/order", "order.ack", "filled"):
            c.check(f"the page shows {part}", part in dom)

        shot = os.path.join(folder, "report.png")
        code, _, log = browse(page, "--virtual-time-budget=5000", f"--screenshot={shot}")
        colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20) if os.path.exists(shot) else None
        c.check("its screenshot is not blank", code == 0 and colours is not None and len(colours) > 50, (code, colours and len(colours), log[-300:]))
        if screenshot_copy and os.path.exists(shot):
            shutil.copy(shot, screenshot_copy)

        pdf = os.path.join(folder, "report.pdf")
        code, _, log = browse(page, "--virtual-time-budget=5000", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
        printed = open(pdf, "rb").read() if os.path.exists(pdf) else b""
        c.check("it prints (to PDF)", code == 0 and printed.startswith(b"%PDF") and len(printed) > 10000,
                (code, len(printed), log[-300:]))

        replay_unchanged(c, binary, folder, ENV, "audit report")
        changed_rules = os.path.join(folder, "rules-next")
        os.makedirs(changed_rules)
        with open(os.path.join(changed_rules, "rules.json"), "w") as f:
            json.dump({"rules": [dict(rules[0], orders=[dict(rules[0]["orders"][0], size={"quote": "25"})])] + rules[1:]}, f)
        table = subprocess.run([binary, "journal", "replay", "--config", "config.json", "--rules", "rules-next"],
                               cwd=folder, capture_output=True, text=True, env=dict(os.environ, **ENV))
        print(table.stdout)
        marked = [line for line in table.stdout.splitlines() if line.startswith("* ")]
        c.check("journal replay marks the two buys whose size changed, with both sizes",
                table.returncode == 0 and len(marked) == 2 and all("buy 20 BTC-USDT" in l and "buy 25 BTC-USDT" in l for l in marked)
                and "2 changed (*)" in table.stdout, table.stdout[-800:] + table.stderr[-300:])
    c.finish()


if __name__ == "__main__":
    main()
