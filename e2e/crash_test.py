"""Crash test: hundreds of signals, the bridge killed with SIGKILL in the middle of the load while answers are
being dropped and resends are in flight, `signalbridge reconcile`, a restart, every signal sent again as senders do;
then per signal exactly one order at the simulator (or an order.abandoned record for an intent grown too old to
resend, never both), a verifying journal, and a `journal report` that agrees with the simulator.

Usage: python e2e/crash_test.py PATH/TO/signalbridge [SIGNALS]
"""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from harness import Checks, http_status, journal_records, replay_unchanged, sim_fault, sim_orders, simulator, start, stop, write_bridge_config

OKX = {"OKX_API_KEY": "crash-key", "OKX_SECRET_KEY": "CRASH0123456789", "OKX_PASSPHRASE": "Crash-Pass"}
KEY = "crash-test-signing-key"
FINAL = {"order.reject", "order.abandoned"}


def send(base, index):
    body = json.dumps({"id": f"crash-{index:04d}", "action": "buy"}).encode()
    return http_status(f"{base}/webhooks/load", body, {
        "Content-Type": "application/json", "X-Signature": hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()})


def open_intents(records):
    final = set()
    for r in records:
        if r["type"] in FINAL or (r["type"] == "order.update" and r.get("state") in ("filled", "canceled")):
            final.add(r["clOrdId"])
    return [r["clOrdId"] for r in records if r["type"] == "order.intent" and r["clOrdId"] not in final]


def main():
    binary = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        write_bridge_config(folder, sim_base,
                            [{"id": "load-buy", "source": "load", "when": {"pointer": "/action", "eq": "buy"},
                              "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}],
                            [{"name": "load", "auth": {"scheme": "hmac-sha256", "header": "X-Signature", "secretEnv": "LOAD_KEY"}, "idPointer": "/id"}],
                            risk={"allowedInstruments": ["BTC-USDT"]})
        env = dict(OKX, LOAD_KEY=KEY)

        # The first order gets a 5xx before it is placed (outcome unknown): after its expTime it is looked up,
        # not found, journaled order.retry and sent again, and its resend's answer is dropped. The bridge is
        # killed right after that retry is journaled, with the resend in flight (300 ms of latency).
        for fault in ({"kind": "serverError", "placed": False, "count": 1}, {"kind": "dropAnswer", "count": 1},
                      {"kind": "latency", "ms": 30}):
            sim_fault(sim_base, fault)
        bridge, base, _ = start(binary, ["serve", "--config", "config.json"], env=env, announce="signalbridge listening on", cwd=folder)
        journal_dir = os.path.join(folder, "journal")
        third = count // 3
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda i: send(base, i), range(third)))
        acknowledged = {i for i, status in enumerate(statuses) if status in (200, 202)}
        sim_fault(sim_base, {"kind": "latency", "ms": 300})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r["type"] == "order.retry" for r in journal_records(journal_dir)):
            time.sleep(0.05)
        retried = any(r["type"] == "order.retry" for r in journal_records(journal_dir))
        os.kill(bridge.pid, signal.SIGKILL)
        bridge.wait()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses += list(pool.map(lambda i: send(base, i), range(third, count)))
        c.check("the bridge was killed in the middle of the load, right after a resend was journaled and sent",
                retried and 0 < len(acknowledged) < count, f"{len(acknowledged)} acknowledged of {count}, retry journaled: {retried}")
        sim_fault(sim_base, {"kind": "latency", "ms": 30})
        c.check("before the crash nothing was answered 5xx", all(s in (None, 200, 202) for s in statuses),
                sorted({s for s in statuses if s not in (None, 200, 202)}))

        started = time.monotonic()
        reconcile = subprocess.run([binary, "reconcile", "--config", "config.json"], cwd=folder, env=dict(os.environ, **env),
                                   capture_output=True, text=True, timeout=120)
        c.check("signalbridge reconcile resolves what the crash left open and exits", reconcile.returncode == 0
                and reconcile.stdout.startswith("reconcile: ") and not open_intents(journal_records(os.path.join(folder, "journal"))),
                reconcile.stdout + reconcile.stderr[-500:])
        print(f"info {reconcile.stdout.strip()} in {time.monotonic() - started:.1f} s")
        retries = [r for r in journal_records(journal_dir) if r["type"] == "order.retry"]
        c.check("resends were journaled with their expTime before they were sent", all(r.get("expTime") for r in retries)
                and len(retries) >= 1, len(retries))
        sim_fault(sim_base, None, method="DELETE")
        bridge, base, _ = start(binary, ["serve", "--config", "config.json"], env=env, announce="signalbridge listening on", cwd=folder, timeout=90)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                resent = list(pool.map(lambda i: send(base, i), range(count)))
            c.check("every signal sent again is accepted or a duplicate", all(s in (200, 202) for s in resent),
                    sorted({str(s) for s in resent if s not in (200, 202)}))
            c.check("signals acknowledged before the crash are duplicates now",
                    all(resent[i] == 200 for i in acknowledged), [i for i in acknowledged if resent[i] != 200][:5])
            journal = os.path.join(folder, "journal")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and open_intents(journal_records(journal)):
                time.sleep(0.2)
            records = journal_records(journal)
            c.check("every order intent has a final record", not open_intents(records), open_intents(records)[:5])
        finally:
            stop(bridge)

        intents = [r["clOrdId"] for r in records if r["type"] == "order.intent"]
        c.check(f"one order intent per signal ({count})", len(intents) == count and len(set(intents)) == count, len(intents))
        orders = sim_orders(sim_base)
        per_id = {}
        for order in orders:
            per_id[order["clOrdId"]] = per_id.get(order["clOrdId"], 0) + 1
        c.check("no clOrdId reached the exchange twice", all(n == 1 for n in per_id.values()),
                {k: n for k, n in per_id.items() if n > 1})
        # An intent the exchange never got is resent only while it is fresh (60 s); older ones end order.abandoned
        # with the reason. So every signal has exactly one order at the exchange, or an order.abandoned record.
        abandoned = {r["clOrdId"] for r in records if r["type"] == "order.abandoned"}
        c.check(f"every signal ({count}): exactly one order at the exchange, or abandoned with the reason and never sent",
                set(per_id) | abandoned == set(intents) and not (set(per_id) & abandoned) and len(orders) + len(abandoned) == count,
                (len(orders), len(abandoned)))
        print(f"info {len(orders)} orders, {len(abandoned)} abandoned as too old to resend")
        verify = subprocess.run([binary, "journal", "verify", "--config", "config.json"], cwd=folder, capture_output=True, text=True)
        c.check("the journal verifies", verify.returncode == 0, verify.stdout + verify.stderr)
        report = subprocess.run([binary, "journal", "report", "--config", "config.json", "--format", "json"],
                                cwd=folder, capture_output=True, text=True)
        rows = [json.loads(line) for line in report.stdout.splitlines()]
        reported = {o["clOrdId"]: o for row in rows for o in row["orders"]}
        at_exchange = {o["clOrdId"]: o for o in orders}
        differ = [k for k in at_exchange if k not in reported or any(
            Decimal(reported[k][f] or "0") != Decimal(at_exchange[k][f] or "0") for f in ("accFillSz", "avgPx"))
            or reported[k]["state"] != at_exchange[k]["state"]]
        c.check(f"journal report: one row per signal ({count}), each order's state, fill and price as at the exchange",
                report.returncode == 0 and len(rows) == count and len(reported) == count and not differ,
                (len(rows), differ[:3], report.stderr[-300:]))
        replay_unchanged(c, binary, folder, env, "crash test")
    c.finish()


if __name__ == "__main__":
    main()
