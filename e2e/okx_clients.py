"""python-okx and ccxt, unmodified but for their base URL, trade against `signalbridge sim`.

Usage: python e2e/okx_clients.py PATH/TO/signalbridge
"""
import json
import sys
from decimal import Decimal
import urllib.request

import ccxt
import okx.Account as Account
import okx.PublicData as PublicData
import okx.Trade as Trade

from harness import Checks, start, stop

KEY, SECRET, PASSPHRASE = "e2e-okx-key", "E2E0123456789ABCDEF", "E2e-Pass"


def sim_orders(base):
    with urllib.request.urlopen(f"{base}/sim/orders", timeout=5) as response:
        return json.load(response)["data"]


def sim_requests(base, path):
    with urllib.request.urlopen(f"{base}/sim/requests", timeout=5) as response:
        return json.load(response)["data"][0].get(path, 0)


def set_price(base, instId, last):
    request = urllib.request.Request(f"{base}/sim/price", data=json.dumps({"instId": instId, "last": last}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def set_depth(base, instId, level_size):
    """Gives each level of the simulator's book `level_size` (None: unlimited, the default)."""
    request = urllib.request.Request(f"{base}/sim/depth", data=json.dumps({"instId": instId, "levelSz": level_size}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def python_okx(base, c):
    public = PublicData.PublicAPI(flag="1", domain=base, debug=False)
    instruments = {i["instId"]: i for i in public.get_instruments(instType="SPOT")["data"]}
    c.check("python-okx reads instruments", instruments.get("BTC-USDT", {}).get("lotSz") == "0.00000001", instruments.keys())

    account = Account.AccountAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=base, debug=False)
    balance = account.get_account_balance()
    usdt = [d for d in balance["data"][0]["details"] if d["ccy"] == "USDT"]
    c.check("python-okx reads the balance", balance["code"] == "0" and usdt and usdt[0]["availBal"] == "100000", balance)

    trade = Trade.TradeAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=base, debug=False)
    market = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="100", tgtCcy="quote_ccy", clOrdId="pyokxmarket1")
    c.check("python-okx places a market order", market["code"] == "0" and market["data"][0]["sCode"] == "0", market)
    limit = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.001", px="50000", clOrdId="pyokxlimit1")
    c.check("python-okx places a limit order", limit["code"] == "0" and limit["data"][0]["sCode"] == "0", limit)

    filled = trade.get_order(instId="BTC-USDT", clOrdId="pyokxmarket1")["data"][0]
    c.check("market order by clOrdId is filled", filled["state"] == "filled" and filled["tgtCcy"] == "quote_ccy", filled)
    live = trade.get_order(instId="BTC-USDT", clOrdId="pyokxlimit1")["data"][0]
    c.check("limit order by clOrdId is live", live["state"] == "live" and live["px"] == "50000", live)

    canceled = trade.cancel_order(instId="BTC-USDT", clOrdId="pyokxlimit1")
    c.check("python-okx cancels the limit order", canceled["code"] == "0" and canceled["data"][0]["sCode"] == "0", canceled)
    after = trade.get_order(instId="BTC-USDT", clOrdId="pyokxlimit1")["data"][0]
    c.check("the canceled order reads canceled", after["state"] == "canceled", after)
    again = trade.cancel_order(instId="BTC-USDT", clOrdId="pyokxlimit1")
    c.check("cancelling twice is refused with 51400", again["data"][0]["sCode"] == "51400", again)

    # An attached take-profit and stop-loss, as python-okx sends them: armed once the order fills, and the
    # take-profit's market sell placed when the price reaches its trigger (the stop-loss goes with it).
    attached = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="100", tgtCcy="quote_ccy",
                                 clOrdId="pyokxattached1", attachAlgoOrds=[{"attachAlgoClOrdId": "pyokxtpsl1", "tpTriggerPx": "61000",
                                                                           "tpOrdPx": "-1", "slTriggerPx": "55000", "slOrdPx": "-1"}])
    c.check("python-okx places an order with attachAlgoOrds", attached["code"] == "0" and attached["data"][0]["sCode"] == "0", attached)
    shown = trade.get_order(instId="BTC-USDT", clOrdId="pyokxattached1")["data"][0]
    c.check("the order shows its attachAlgoOrds", shown["attachAlgoOrds"][0]["tpTriggerPx"] == "61000", shown)
    set_price(base, "BTC-USDT", "61000")
    exits = [o for o in sim_orders(base) if o.get("algoClOrdId") == "pyokxtpsl1"]
    c.check("the take-profit triggers and sells at market", len(exits) == 1 and exits[0]["side"] == "sell" and exits[0]["state"] == "filled", exits)
    set_price(base, "BTC-USDT", "54000")
    c.check("the stop-loss went with it", len([o for o in sim_orders(base) if o.get("algoClOrdId") == "pyokxtpsl1"]) == 1)
    set_price(base, "BTC-USDT", "60000")
    refused = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.001", tgtCcy="base_ccy",
                                clOrdId="pyokxattached2", attachAlgoOrds=[{"attachAlgoClOrdId": "pyokxtpsl2", "tpTriggerPx": "61000", "tpOrdPx": "-1"}])
    c.check("attachAlgoOrds on a market buy sized in base is refused", refused["data"][0]["sCode"] == "51000", refused)

    # Depth: each level of the BTC-USDT book holds 0.02 BTC, so a market buy of 0.05 takes three levels at three prices,
    # and a resting buy fills a level's worth each time the price moves through it.
    set_depth(base, "BTC-USDT", "0.02")
    try:
        trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.05", tgtCcy="base_ccy", clOrdId="pyokxdepth1")
        walked = trade.get_order(instId="BTC-USDT", clOrdId="pyokxdepth1")["data"][0]
        fills = trade.get_fills(instType="SPOT", instId="BTC-USDT", ordId=walked["ordId"])["data"]
        size = sum(Decimal(f["fillSz"]) for f in fills)
        weighted = sum(Decimal(f["fillPx"]) * Decimal(f["fillSz"]) for f in fills) / size if fills else None
        c.check("a market order walks the book: three fills at three prices, avgPx weighted by size, fees per fill",
                len(fills) == 3 and len({f["fillPx"] for f in fills}) == 3 and size == Decimal("0.05") and Decimal(walked["avgPx"]) == weighted
                and sum(Decimal(f["fee"]) for f in fills) == Decimal(walked["fee"]) and walked["state"] == "filled", (walked, fills))
        trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.03", px="59000", clOrdId="pyokxdepth2")
        set_price(base, "BTC-USDT", "58900")
        part = trade.get_order(instId="BTC-USDT", clOrdId="pyokxdepth2")["data"][0]
        set_price(base, "BTC-USDT", "58800")
        whole = trade.get_order(instId="BTC-USDT", clOrdId="pyokxdepth2")["data"][0]
        c.check("a resting order fills in parts: partially_filled, then filled",
                part["state"] == "partially_filled" and part["accFillSz"] == "0.02" and whole["state"] == "filled" and whole["accFillSz"] == "0.03",
                (part, whole))
    finally:
        set_depth(base, "BTC-USDT", None)
        set_price(base, "BTC-USDT", "60000")

    # Algo orders, with python-okx's own calls: a stop that fires when the price falls to it and places its market
    # sell carrying its algoClOrdId, a trailing stop, and one canceled before it fires.
    stop = trade.place_algo_order(instId="BTC-USDT", tdMode="cash", side="sell", ordType="trigger", sz="0.001", triggerPx="58000",
                                  orderPx="-1", algoClOrdId="pyokxstop1")
    c.check("python-okx places a stop (order-algo trigger)", stop["code"] == "0" and stop["data"][0]["sCode"] == "0" and stop["data"][0]["algoId"], stop)
    pending = trade.order_algos_list(ordType="trigger", instId="BTC-USDT")["data"]
    c.check("it is listed pending", [a["algoClOrdId"] for a in pending] == ["pyokxstop1"] and pending[0]["state"] == "live", pending)
    set_price(base, "BTC-USDT", "58000")
    fired = trade.get_algo_order_details(algoClOrdId="pyokxstop1")["data"][0]
    placed = [o for o in sim_orders(base) if o.get("algoClOrdId") == "pyokxstop1"]
    c.check("the stop fires at its trigger: effective, its market sell placed and linked by algoClOrdId and ordId",
            fired["state"] == "effective" and len(placed) == 1 and placed[0]["ordId"] == fired["ordId"] and placed[0]["side"] == "sell"
            and placed[0]["state"] == "filled", (fired, placed))
    set_price(base, "BTC-USDT", "60000")
    trail = trade.place_algo_order(instId="BTC-USDT", tdMode="cash", side="sell", ordType="move_order_stop", sz="0.001", callbackRatio="0.02",
                                   algoClOrdId="pyokxtrail1")
    for last in ("61000", "62000", "60760"):
        set_price(base, "BTC-USDT", last)
    trailed = trade.get_algo_order_details(algoId=trail["data"][0]["algoId"])["data"][0]
    c.check("a trailing stop (move_order_stop, callbackRatio) fires 2 % below the best price since it was placed",
            trailed["state"] == "effective" and [o["side"] for o in sim_orders(base) if o.get("algoClOrdId") == "pyokxtrail1"] == ["sell"], trailed)
    set_price(base, "BTC-USDT", "60000")
    kept = trade.place_algo_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="trigger", sz="0.001", triggerPx="65000", orderPx="-1",
                                  algoClOrdId="pyokxstop2")
    gone = trade.cancel_algo_order([{"instId": "BTC-USDT", "algoId": kept["data"][0]["algoId"]}])
    history = trade.order_algos_history(ordType="trigger", state="canceled")["data"]
    c.check("python-okx cancels an algo order; it is in the history as canceled",
            gone["code"] == "0" and gone["data"][0]["sCode"] == "0" and [a["algoClOrdId"] for a in history] == ["pyokxstop2"], (gone, history))

    missing = trade.get_order(instId="BTC-USDT", clOrdId="neverplaced")
    c.check("an unknown order is 51603", missing["code"] == "51603", missing)

    wrong = Account.AccountAPI(KEY, "not-the-secret", PASSPHRASE, flag="1", domain=base, debug=False).get_account_balance()
    c.check("a wrong secret is refused with 50113", wrong["code"] == "50113", wrong)
    wrong_pass = Account.AccountAPI(KEY, SECRET, "nope", flag="1", domain=base, debug=False).get_account_balance()
    c.check("a wrong passphrase is refused with 50105", wrong_pass["code"] == "50105", wrong_pass)


def ccxt_okx(base, c):
    exchange = ccxt.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE})
    exchange.set_sandbox_mode(True)
    exchange.urls["api"] = {"rest": base}
    exchange.options["fetchMarkets"] = {"types": ["spot"]}
    c.check("ccxt's default order path is batch-orders", exchange.options.get("createOrder") == "privatePostTradeBatchOrders", exchange.options.get("createOrder"))

    markets = exchange.load_markets()
    c.check("ccxt loads the spot markets", "BTC/USDT" in markets and "ETH/USDT" in markets, list(markets))

    # Outside sandbox mode and with every default (all market types, currencies from the signed asset/currencies), as
    # a paper-trading script would point ccxt at the simulator.
    defaults = ccxt.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE})
    defaults.urls["api"] = {"rest": base}
    default_markets = defaults.load_markets()
    c.check("ccxt with its defaults loads the markets and the currencies",
            "BTC/USDT" in default_markets and {"BTC", "ETH", "SOL", "USDT"} <= set(defaults.currencies), (list(default_markets), list(defaults.currencies or {})))
    default_order = defaults.create_order("BTC/USDT", "market", "buy", 0.001)
    c.check("ccxt with its defaults places an order", defaults.fetch_order(default_order["id"], "BTC/USDT")["status"] == "closed", default_order)
    balance = exchange.fetch_balance()
    c.check("ccxt reads the balance", balance["USDT"]["free"] > 0, balance.get("USDT"))

    before = len(sim_orders(base))
    batches = sim_requests(base, "/api/v5/trade/batch-orders")
    market = exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    orders = sim_orders(base)
    placed = [o for o in orders if o["ordId"] == market["id"]]
    c.check("ccxt places a market order", len(orders) == before + 1 and placed and placed[0]["tgtCcy"] == "base_ccy", market)
    c.check("... through batch-orders", sim_requests(base, "/api/v5/trade/batch-orders") == batches + 1)

    by_client_id = exchange.fetch_order(None, "BTC/USDT", {"clientOrderId": market["clientOrderId"]})
    c.check("ccxt fetches the market order by clOrdId as closed", by_client_id["id"] == market["id"] and by_client_id["status"] == "closed",
            by_client_id.get("status"))
    limit = exchange.create_order("ETH/USDT", "limit", "sell", 0.01, 4000)
    fetched = exchange.fetch_order(None, "ETH/USDT", {"clientOrderId": limit["clientOrderId"]})
    c.check("ccxt fetches the limit order by clOrdId as open", fetched["id"] == limit["id"] and fetched["status"] == "open" and fetched["price"] == 4000,
            fetched.get("status"))
    exchange.cancel_order(limit["id"], "ETH/USDT")
    c.check("ccxt cancels it", exchange.fetch_order(limit["id"], "ETH/USDT")["status"] == "canceled")

    bad = ccxt.okx({"apiKey": KEY, "secret": "not-the-secret", "password": PASSPHRASE})
    bad.set_sandbox_mode(True)
    bad.urls["api"] = {"rest": base}
    bad.markets = exchange.markets
    bad.markets_by_id = exchange.markets_by_id
    try:
        bad.fetch_balance()
        c.check("ccxt with a wrong secret is refused", False, "no error raised")
    except ccxt.AuthenticationError as error:
        c.check("ccxt with a wrong secret is refused", "50113" in str(error), str(error))


def main():
    binary = sys.argv[1]
    env = {"OKX_API_KEY": KEY, "OKX_SECRET_KEY": SECRET, "OKX_PASSPHRASE": PASSPHRASE}
    sim, base, _ = start(binary, ["sim", "--port", "0"], env=env, announce="OKX simulator listening on")
    c = Checks()
    try:
        python_okx(base, c)
        ccxt_okx(base, c)
    finally:
        stop(sim)
    c.finish()


if __name__ == "__main__":
    main()
