"""Algo orders end to end (issue 13): rules place a stop (trigger), a trailing stop (move_order_stop) and an OCO at
`signalbridge sim` through real processes; each exactly once under its deterministic algoClOrdId, through a lost
answer and through a SIGKILL of the bridge with the request in flight; python-okx's own algo calls see each once;
when the price falls each places its order, and the journal and `journal report` link that order to its algo order.

Usage: python e2e/algo_orders.py PATH/TO/signalbridge
"""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import urllib.request

import okx.Trade as Trade

from harness import Checks, http_status, journal_records, replay_unchanged, sim_fault, sim_orders, simulator, start, stop, wait_until, write_bridge_config

OKX = {"OKX_API_KEY": "algo-key", "OKX_SECRET_KEY": "ALGO0123456789", "OKX_PASSPHRASE": "Algo-Pass"}
KEY = "algo-test-signing-key"
SELL = {"instId": "BTC-USDT", "side": "sell", "size": {"base": "0.01"}}
RULES = [
    {"id": "stop", "source": "tv", "when": {"pointer": "/action", "eq": "stop"},
     "orders": [dict(SELL, ordType="trigger", trigger={"offsetPercent": "-5"}, order="market")]},
    {"id": "trail", "source": "tv", "when": {"pointer": "/action", "eq": "trail"},
     "orders": [dict(SELL, ordType="move_order_stop", callbackRatio="0.02")]},
    {"id": "oco", "source": "tv", "when": {"pointer": "/action", "eq": "oco"},
     "orders": [dict(SELL, ordType="oco", takeProfit={"trigger": {"offsetPercent": "5"}, "order": "market"},
                     stopLoss={"trigger": {"offsetPercent": "-5"}, "order": "market"})]},
]


def send(base, signal_id, action):
    body = json.dumps({"id": signal_id, "action": action}).encode()
    return http_status(f"{base}/webhooks/tv", body, {
        "Content-Type": "application/json", "X-Signature": hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()})


def arrivals(sim_base):
    """How many order-algo requests reached the simulator, counted before its injected latency."""
    with urllib.request.urlopen(f"{sim_base}/sim/requests", timeout=5) as response:
        return json.load(response)["data"][1].get("/api/v5/trade/order-algo", 0)


def algo_id_of(records, signal_id):
    """The algoClOrdId the bridge decided for `signal_id`."""
    return next((r["algoClOrdId"] for r in records if r["type"] == "algo.intent" and r["signalId"] == signal_id), None)


def types_of(records, algo_cl_ord_id):
    return [r["type"] for r in records if r.get("algoClOrdId") == algo_cl_ord_id]


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checks()
    with simulator(binary, OKX) as (sim_base, folder):
        write_bridge_config(folder, sim_base, RULES,
                            [{"name": "tv", "auth": {"scheme": "hmac-sha256", "header": "X-Signature", "secretEnv": "TV_KEY"}, "idPointer": "/id"}],
                            risk={"allowedInstruments": ["BTC-USDT"]})
        env = dict(OKX, TV_KEY=KEY)
        journal_dir = os.path.join(folder, "journal")
        trade = Trade.TradeAPI(OKX["OKX_API_KEY"], OKX["OKX_SECRET_KEY"], OKX["OKX_PASSPHRASE"], flag="1", domain=sim_base, debug=False)

        def at_okx(algo_cl_ord_id):
            """How many algo orders python-okx finds with this algoClOrdId, live or not."""
            found = 0
            for ord_type in ("trigger", "move_order_stop", "oco"):
                for page in (trade.order_algos_list(ordType=ord_type)["data"], trade.order_algos_history(ordType=ord_type, state="effective")["data"],
                             trade.order_algos_history(ordType=ord_type, state="canceled")["data"]):
                    found += sum(1 for a in page if a["algoClOrdId"] == algo_cl_ord_id)
            return found

        bridge, base, _ = start(binary, ["serve", "--config", "config.json"], env=env, announce="signalbridge listening on", cwd=folder)
        try:
            # A stop whose answer is lost: looked up by its algoClOrdId, found, acknowledged; never posted twice.
            sim_fault(sim_base, {"kind": "dropAnswer", "count": 1})
            c.check("the stop's webhook is acknowledged", send(base, "stop-1", "stop") == 202)
            stop_id = algo_id_of(journal_records(journal_dir), "stop-1")
            wait_until(lambda: "algo.ack" in types_of(journal_records(journal_dir), stop_id))
            c.check("a lost answer is looked up, not posted again", types_of(journal_records(journal_dir), stop_id)[:3] == ["algo.intent", "algo.unknown", "algo.ack"],
                    types_of(journal_records(journal_dir), stop_id))
            detail = trade.get_algo_order_details(algoClOrdId=stop_id)["data"]
            c.check("python-okx finds the stop once, live, with its trigger 5 % below the last price",
                    at_okx(stop_id) == 1 and detail and detail[0]["state"] == "live" and detail[0]["triggerPx"] == "57000", detail)

            # A trailing stop with the bridge killed (SIGKILL) while its request is in flight.
            sim_fault(sim_base, {"kind": "latency", "ms": 1000})
            sent = arrivals(sim_base)
            c.check("the trailing stop's webhook is acknowledged", send(base, "trail-1", "trail") == 202)
            c.check("its request reached the simulator, held there by the latency",
                    wait_until(lambda: arrivals(sim_base) == sent + 1, timeout=10), (sent, arrivals(sim_base)))
            os.kill(bridge.pid, signal.SIGKILL)
            bridge.wait()
            trail_id = algo_id_of(journal_records(journal_dir), "trail-1")
            c.check("the bridge was killed with the trailing stop journaled and not acknowledged",
                    trail_id is not None and types_of(journal_records(journal_dir), trail_id) == ["algo.intent"], types_of(journal_records(journal_dir), trail_id))
            wait_until(lambda: at_okx(trail_id) == 1, timeout=10)
            sim_fault(sim_base, {"kind": "latency", "ms": 0})
            bridge, base, _ = start(binary, ["serve", "--config", "config.json"], env=env, announce="signalbridge listening on", cwd=folder)
            wait_until(lambda: "algo.ack" in types_of(journal_records(journal_dir), trail_id))
            c.check("after the restart the trailing stop is found by its algoClOrdId and acknowledged, not sent again",
                    "algo.ack" in types_of(journal_records(journal_dir), trail_id) and "algo.retry" not in types_of(journal_records(journal_dir), trail_id)
                    and at_okx(trail_id) == 1, (types_of(journal_records(journal_dir), trail_id), at_okx(trail_id)))
            c.check("the trailing stop's webhook sent again is a duplicate", send(base, "trail-1", "trail") == 200 and at_okx(trail_id) == 1)

            c.check("the OCO's webhook is acknowledged", send(base, "oco-1", "oco") == 202)
            oco_id = algo_id_of(journal_records(journal_dir), "oco-1")
            wait_until(lambda: "algo.ack" in types_of(journal_records(journal_dir), oco_id))
            c.check("the OCO is placed once", at_okx(oco_id) == 1)

            # The price falls 5.2 %: the stop, the trailing stop (2 % off its best) and the OCO's stop-loss fire.
            request = urllib.request.Request(f"{sim_base}/sim/price", data=json.dumps({"instId": "BTC-USDT", "last": "56880"}).encode(),
                                             method="POST", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=5).close()

            def triggered(algo_cl_ord_id):
                return next((r for r in journal_records(journal_dir) if r["type"] == "algo.update" and r.get("algoClOrdId") == algo_cl_ord_id
                             and r["state"] == "effective" and r["ordState"] == "filled"), None)
            wait_until(lambda: all(triggered(i) for i in (stop_id, trail_id, oco_id)), timeout=60)
            placed = {o["algoClOrdId"]: o for o in sim_orders(sim_base) if o.get("algoClOrdId")}
            for name, algo_cl_ord_id in (("stop", stop_id), ("trailing stop", trail_id), ("OCO", oco_id)):
                update = triggered(algo_cl_ord_id)
                order = placed.get(algo_cl_ord_id, {})
                c.check(f"the {name}'s triggered order is journaled, linked by its ordId, with its fill",
                        update is not None and order and update["ordId"] == order["ordId"] and update["accFillSz"] == "0.01"
                        and update["avgPx"] == order["avgPx"], (update, order))
            c.check("exactly three orders were placed, one per algo order", len(sim_orders(sim_base)) == 3, sim_orders(sim_base))
        finally:
            stop(bridge)

        report = subprocess.run([binary, "journal", "report", "--config", "config.json", "--format", "json"], cwd=folder,
                                capture_output=True, text=True, env=dict(os.environ, **env))
        rows = [json.loads(line) for line in report.stdout.splitlines() if line.strip()]
        orders = {o["clOrdId"]: o for row in rows for o in row["orders"]}
        linked = [orders.get(i, {}) for i in (stop_id, trail_id, oco_id)]
        c.check("journal report shows each algo order with its type, algoId, state and the order it placed",
                report.returncode == 0 and [o.get("ordType") for o in linked] == ["trigger", "move_order_stop", "oco"]
                and all(o.get("algoState") == "effective" and o.get("state") == "filled" and o.get("algoId") and o.get("ordId") for o in linked),
                (report.returncode, linked, report.stderr[-300:]))
        verify = subprocess.run([binary, "journal", "verify", "--config", "config.json"], cwd=folder, capture_output=True, text=True,
                                env=dict(os.environ, **env))
        c.check("the journal verifies", verify.returncode == 0, verify.stdout[-300:] + verify.stderr[-300:])
        replay_unchanged(c, binary, folder, env, "algo orders")
    c.finish()


if __name__ == "__main__":
    main()
