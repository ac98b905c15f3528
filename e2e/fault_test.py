"""Fault tests with real processes: the ways to lose or double an order that issue 10 lists, each against a
`signalbridge serve` and a `signalbridge sim` on 127.0.0.1 (the restart case, a resend in flight, is crash_test.py's):

1. an order whose answer was lost, then an exchange outage longer than five lookups: it is looked up until the
   exchange answers, its fill is journaled, and a later order of the instrument waits for it;
3. the kill switch with 150 orders queued behind the rate limit: nothing more is sent, each queued order ends
   `order.abandoned` with the reason, a resting order is canceled, and releasing it lets orders through;
4. two sources sending the same signal id: two signals, two orders, and after a SIGKILL and a restart both
   resends are duplicates;
5. a crash that leaves a signal's batch only partly on disk: on start it is discarded with a log line, and the
   sender's resend is a new signal that orders once;
6. SIGTERM with one order being sent and seven queued behind it: the order being sent finishes, nothing queued is
   sent, the bridge exits 0; after the next start each queued order is sent, exactly once (and so is a signal sent
   right after the SIGTERM, if it was acknowledged).

Usage: python e2e/fault_test.py PATH/TO/signalbridge
"""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from harness import Checks, base_of, journal_records, replay_unchanged, sim_fault, sim_orders, simulator, start, stop, wait_until, write_bridge_config

OKX = {"OKX_API_KEY": "fault-key", "OKX_SECRET_KEY": "FAULT0123456789", "OKX_PASSPHRASE": "Fault-Pass"}
KEYS = {"alpha": "alpha-signing-key", "beta": "beta-signing-key"}
ENV = dict(OKX, ALPHA_KEY=KEYS["alpha"], BETA_KEY=KEYS["beta"])


def send(base, source, signal_id, action="buy"):
    """Posts a signed signal; returns (HTTP status, answer body) or (None, None) when the bridge is not there."""
    body = json.dumps({"id": signal_id, "action": action}).encode()
    request = urllib.request.Request(f"{base}/webhooks/{source}", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Signature": hmac.new(KEYS[source].encode(), body, hashlib.sha256).hexdigest()})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, None


def readyz(admin):
    try:
        with urllib.request.urlopen(f"{admin}/readyz", timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)


class Bridge:
    """A bridge folder (config, rules, journal) and the serve process running on it."""

    def __init__(self, binary, folder, sim_base, risk=None):
        self.binary, self.folder = binary, folder
        rules = [{"id": f"{source}-buy", "source": source, "when": {"pointer": "/action", "eq": "buy"},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}
                 for source in KEYS]
        rules.append({"id": "alpha-rest", "source": "alpha", "when": {"pointer": "/action", "eq": "rest"},
                      "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"},
                                  "price": {"from": "bid", "offsetBps": -2000}}]})
        write_bridge_config(folder, sim_base, rules,
                            [{"name": name, "auth": {"scheme": "hmac-sha256", "header": "X-Signature", "secretEnv": f"{name.upper()}_KEY"},
                              "idPointer": "/id"} for name in KEYS],
                            risk=dict({"allowedInstruments": ["BTC-USDT"]}, **(risk or {})))
        self.journal = os.path.join(folder, "journal")
        self.log_path = os.path.join(folder, "bridge.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "a")
        self.proc, self.base, lines = start(self.binary, ["serve", "--config", "config.json"], env=ENV, cwd=self.folder,
                                            announce="signalbridge listening on", also=("signalbridge admin on",), stderr=log, timeout=60)
        log.close()
        self.admin = base_of(lines, "signalbridge admin on")

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop(self.proc)

    def records(self):
        return journal_records(self.journal)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def final(self, clord_id):
        """The final record of an order, or None while it is open."""
        for r in reversed(self.records()):
            if r.get("clOrdId") == clord_id and (r["type"] in ("order.reject", "order.abandoned")
                                                  or (r["type"] == "order.update" and r.get("state") in ("filled", "canceled"))):
                return r
        return None


def at_exchange(sim_base, clord_ids):
    return [o for o in sim_orders(sim_base) if o["clOrdId"] in set(clord_ids)]


def intent_of(bridge, signal_id, source="alpha"):
    """The clOrdId of the one order intent of `signal_id` from `source`, once journaled."""
    def find():
        records = bridge.records()
        signal_seqs = [r["seq"] for r in records if r["type"] == "signal" and r["source"] == source and r["signalId"] == signal_id]
        for r in records:
            if r["type"] == "order.intent" and r["signalId"] == signal_id and signal_seqs and r["seq"] > signal_seqs[-1]:
                return r["clOrdId"]
        return None
    return wait_until(find, timeout=15)


def outage(c, binary, sim_base, folder):
    """Case 1: the answer is lost, then the exchange is down for 25 s (longer than five lookups 2 s apart)."""
    bridge = Bridge(binary, folder, sim_base)
    bridge.start()
    try:
        sim_fault(sim_base, {"kind": "dropAnswer", "count": 1})
        status, _ = send(bridge.base, "alpha", "outage-first")
        first = intent_of(bridge, "outage-first")
        unknown = wait_until(lambda: any(r["type"] == "order.unknown" and r["clOrdId"] == first for r in bridge.records()), timeout=30)
        sim_fault(sim_base, {"kind": "outage", "seconds": 25})
        later_status, _ = send(bridge.base, "alpha", "outage-later")
        later = intent_of(bridge, "outage-later")
        c.check("outage: both signals are acknowledged, the first order's answer was lost", status == 202 and later_status == 202 and unknown,
                (status, later_status, unknown))
        ready = wait_until(lambda: readyz(bridge.admin).get("unresolvedOrders", 0) >= 1, timeout=15)
        c.check("outage: /readyz counts the order of unknown outcome while it is looked up", ready, readyz(bridge.admin))
        started = time.monotonic()
        done = wait_until(lambda: bridge.final(first) and bridge.final(later), timeout=120, interval=0.2)
        print(f"info outage: both orders final {time.monotonic() - started:.1f} s after the outage began")
        records = bridge.records()
        c.check("outage: the order of unknown outcome is found after the outage and its fill journaled",
                done and bridge.final(first)["type"] == "order.update" and bridge.final(first)["state"] == "filled", bridge.final(first))
        c.check("outage: each order reached the exchange exactly once", sorted(o["clOrdId"] for o in at_exchange(sim_base, [first, later]))
                == sorted([first, later]), at_exchange(sim_base, [first, later]))
        resolved = min((r["seq"] for r in records if r.get("clOrdId") == first and r["type"] == "order.ack"), default=None)
        waited = resolved is not None and all(r["seq"] > resolved for r in records if r.get("clOrdId") == later and r["type"].startswith("order.") and r["type"] != "order.intent")
        c.check("outage: the later order of the instrument was sent only after the first was resolved", waited,
                [(r["seq"], r["type"]) for r in records if r.get("clOrdId") in (first, later)])
        c.check("outage: the wait is in the log", "cannot look the order up yet" in bridge.log())
        c.check("outage: /readyz shows nothing unresolved afterwards", readyz(bridge.admin).get("unresolvedOrders") == 0, readyz(bridge.admin))
    finally:
        bridge.stop()
        sim_fault(sim_base, None, method="DELETE")


def kill_switch(c, binary, sim_base, folder):
    """Case 3: the kill switch engaged with 150 orders queued behind the rate limit."""
    bridge = Bridge(binary, folder, sim_base, risk={"killSwitchFile": "KILL", "killSwitchCancelsOpenOrders": True})
    kill_file = os.path.join(folder, "KILL")
    bridge.start()
    try:
        send(bridge.base, "alpha", "kill-resting", action="rest")
        resting = intent_of(bridge, "kill-resting")
        rests = wait_until(lambda: any(r["type"] == "order.ack" and r["clOrdId"] == resting for r in bridge.records()), timeout=15)
        c.check("kill switch: a limit order rests before", rests and at_exchange(sim_base, [resting])[0]["state"] == "live",
                at_exchange(sim_base, [resting]))
        before = len(sim_orders(sim_base))
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda i: send(bridge.base, "alpha", f"kill-{i:03d}")[0], range(150)))
        c.check("kill switch: 150 signals acknowledged", all(s == 202 for s in statuses), sorted({str(s) for s in statuses}))
        wait_until(lambda: len(sim_orders(sim_base)) - before >= 10, timeout=15, interval=0.01)
        with open(kill_file, "w"):
            pass
        engaged_at = time.monotonic()
        sent_when_engaged = len(sim_orders(sim_base)) - before
        intents = [r["clOrdId"] for r in bridge.records() if r["type"] == "order.intent" and r["signalId"].startswith("kill-") and r["clOrdId"] != resting]
        done = wait_until(lambda: all(bridge.final(i) for i in intents), timeout=60, interval=0.2)
        sent = len(sim_orders(sim_base)) - before
        c.check(f"kill switch: nothing more reached the exchange once the file existed (at most the one request in flight; "
                f"{sent_when_engaged} sent before)", done and len(intents) == 150 and sent <= sent_when_engaged + 1 and sent < 150,
                (len(intents), sent_when_engaged, sent))
        abandoned = [r for r in bridge.records() if r["type"] == "order.abandoned"]
        c.check("kill switch: every order not sent ends order.abandoned naming the kill switch",
                len(abandoned) == 150 - sent and all("kill switch" in r["reason"] for r in abandoned), (len(abandoned), 150 - sent))
        canceled = wait_until(lambda: at_exchange(sim_base, [resting])[0]["state"] == "canceled", timeout=10)
        print(f"info kill switch: resting order canceled {time.monotonic() - engaged_at:.2f} s after the file appeared")
        c.check("kill switch: the resting order is canceled and the cancel journaled",
                canceled and wait_until(lambda: (bridge.final(resting) or {}).get("state") == "canceled", timeout=10))
        status, answer = send(bridge.base, "alpha", "kill-while-engaged")
        c.check("kill switch: a signal while engaged orders nothing", status == 202 and
                all(d.get("outcome") != "order" for d in (answer or {}).get("decisions", [{}])), answer)
        os.remove(kill_file)
        status, _ = send(bridge.base, "alpha", "kill-after-release")
        after = intent_of(bridge, "kill-after-release")
        c.check("kill switch: once released, a new signal orders again", status == 202 and after and
                wait_until(lambda: (bridge.final(after) or {}).get("state") == "filled", timeout=15), bridge.final(after or ""))
        c.check("kill switch: no clOrdId reached the exchange twice", len({o["clOrdId"] for o in sim_orders(sim_base)}) == len(sim_orders(sim_base)))
    finally:
        bridge.stop()


def two_sources(c, binary, sim_base, folder):
    """Case 4: the same signal id from two sources, and a restart."""
    bridge = Bridge(binary, folder, sim_base)
    bridge.start()
    try:
        first = [send(bridge.base, source, "shared-id-1")[0] for source in KEYS]
        ids = [intent_of(bridge, "shared-id-1", source) for source in KEYS]
        c.check("two sources: the same id from each is a signal of its own, each with its order",
                first == [202, 202] and all(ids) and len(set(ids)) == 2, (first, ids))
        wait_until(lambda: all(bridge.final(i) for i in ids), timeout=15)
        bridge.kill()
        bridge.start()
        again = [send(bridge.base, source, "shared-id-1")[0] for source in KEYS]
        c.check("two sources: after a SIGKILL and a restart both resends are duplicates", again == [200, 200], again)
        c.check("two sources: exactly one order per source at the exchange",
                sorted(o["clOrdId"] for o in at_exchange(sim_base, ids)) == sorted(ids), at_exchange(sim_base, ids))
    finally:
        bridge.stop()


def torn_batch(c, binary, sim_base, folder):
    """Case 5: the crash leaves the signal and decision of a batch on disk and its order intent torn."""
    bridge = Bridge(binary, folder, sim_base)
    bridge.start()
    try:
        send(bridge.base, "alpha", "torn-before")
        before = intent_of(bridge, "torn-before")
        wait_until(lambda: bridge.final(before), timeout=15)
        # The exchange is down, so the torn signal's order is not placed before the crash.
        sim_fault(sim_base, {"kind": "outage", "seconds": 60})
        send(bridge.base, "alpha", "torn-1")
        clord = intent_of(bridge, "torn-1")
        bridge.kill()
        segment = os.path.join(bridge.journal, sorted(n for n in os.listdir(bridge.journal) if n.startswith("journal-"))[-1])
        with open(segment, "rb") as f:
            lines = f.read().split(b"\n")
        start_index = next(i for i, line in enumerate(lines) if b'"type":"signal"' in line and b'"torn-1"' in line)
        batch = json.loads(lines[start_index]).get("batch")
        intent_line = lines[start_index + 2]
        with open(segment, "wb") as f:
            f.write(b"\n".join(lines[:start_index + 2]) + b"\n" + intent_line[:len(intent_line) // 2])
        c.check("torn batch: the crash left signal and decision whole and the intent torn",
                batch == 3 and b'"order.intent"' in intent_line, (batch, intent_line[:80]))
        sim_fault(sim_base, None, method="DELETE")
        bridge.start()
        c.check("torn batch: on start the partial batch is discarded with a log line", "discarding a batch only partly on disk" in bridge.log())
        status, _ = send(bridge.base, "alpha", "torn-1")
        c.check("torn batch: the sender's resend is a new signal, not a duplicate", status == 202, status)
        done = wait_until(lambda: (bridge.final(clord) or {}).get("state") == "filled", timeout=30)
        c.check("torn batch: it orders exactly once", done and len(at_exchange(sim_base, [clord])) == 1, at_exchange(sim_base, [clord]))
        verify = subprocess.run([binary, "journal", "verify", "--config", "config.json"], cwd=folder, capture_output=True, text=True)
        c.check("torn batch: the journal verifies", verify.returncode == 0, verify.stdout + verify.stderr)
    finally:
        bridge.stop()
        sim_fault(sim_base, None, method="DELETE")


def sigterm(c, binary, sim_base, folder):
    """Case 6: SIGTERM with one order being sent (the exchange takes 1.5 s per request) and seven queued behind it."""
    bridge = Bridge(binary, folder, sim_base)
    bridge.start()
    try:
        ids = [f"term-{i}" for i in range(8)]
        sim_fault(sim_base, {"kind": "latency", "ms": 1500})
        with ThreadPoolExecutor(len(ids)) as pool:
            statuses = list(pool.map(lambda signal_id: send(bridge.base, "alpha", signal_id)[0], ids))
        c.check("sigterm: every signal is acknowledged", statuses == [202] * len(ids), statuses)
        orders = [intent_of(bridge, signal_id) for signal_id in ids]
        in_flight = wait_until(lambda: readyz(bridge.admin).get("queuedOrders") == len(ids) - 1, timeout=15)
        c.check("sigterm: one order is being sent while the others wait", in_flight, readyz(bridge.admin))
        os.kill(bridge.proc.pid, signal.SIGTERM)
        late_status, _ = send(bridge.base, "alpha", "term-late")
        try:
            code = bridge.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        c.check("sigterm: the bridge exits 0 (within 30 s)", code == 0, code)
        # Sent right after the SIGTERM, the signal may still reach the listener before it closes: then it is
        # acknowledged and journaled like any other (and sent after the next start); else it is refused unjournaled.
        late_journaled = any(r.get("signalId") == "term-late" and r["type"] == "signal" for r in bridge.records())
        c.check("sigterm: a signal sent right after SIGTERM is acknowledged and journaled, or refused and not journaled",
                (late_status == 202) == late_journaled and late_status in (202, None), (late_status, late_journaled))
        if late_status == 202:
            orders.append(intent_of(bridge, "term-late"))
        records = bridge.records()
        acked = [r["clOrdId"] for r in records if r["type"] == "order.ack"]
        c.check("sigterm: the order being sent finished: its ack is journaled, no outcome is unknown",
                len(acked) >= 1 and not any(r["type"] == "order.unknown" for r in records), [(r["type"], r.get("clOrdId")) for r in records[-12:]])
        sent = sorted(o["clOrdId"] for o in at_exchange(sim_base, orders))
        c.check("sigterm: nothing queued was sent after SIGTERM", sent == sorted(acked) and len(sent) < len(orders), (sent, acked))
        c.check("sigterm: the log says what was left for the next start",
                "orders left queued are journaled and are sent after the next start" in bridge.log() and "signalbridge stopped" in bridge.log())
        sim_fault(sim_base, None, method="DELETE")
        bridge.start()
        done = wait_until(lambda: all(bridge.final(clord_id) for clord_id in orders), timeout=90, interval=0.2)
        at_exchange_now = [o["clOrdId"] for o in at_exchange(sim_base, orders)]
        c.check("sigterm: after the next start every queued order is sent, each exactly once",
                done and sorted(at_exchange_now) == sorted(orders), at_exchange_now)
    finally:
        bridge.stop()
        sim_fault(sim_base, None, method="DELETE")


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        for case in (two_sources, torn_batch, kill_switch, outage, sigterm):
            case_folder = os.path.join(folder, case.__name__)
            os.makedirs(case_folder)
            case(c, binary, sim_base, case_folder)
            replay_unchanged(c, binary, case_folder, ENV, case.__name__)
    c.finish()


if __name__ == "__main__":
    main()
