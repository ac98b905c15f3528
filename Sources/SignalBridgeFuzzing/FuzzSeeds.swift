extension WebhookFuzzHarness {
    /// The seed corpus: one valid request per scheme and preset, the OKX Signal Bot format, and numbers at the
    /// edges. Each is signed by the harness (flag `s`) with its timestamps set to now (flag `t`, which also
    /// puts the time in for `{{timenow}}`). `Fuzz/corpus/` holds them as files.
    public static let seeds: [(name: String, input: String)] = [
        ("standard-webhooks", "standard st\n\n" + #"{"action":"buy","inst":"BTC-USDT","px":"59000","sz":"0.001"}"#),
        (
            "hmac-sha256", "hmac st\n\n" + #"{"id":"h-1","time":"{{timenow}}","action":"sell","inst":"ETH-USDT","px":"3100","sz":"0.5"}"#
        ),
        ("github", "github st\nX-GitHub-Event: push\n\n" + #"{"id":"gh-1","action":"buy","inst":"ETH-USDT","px":"2900","sz":"0.01"}"#),
        ("alchemy", "alchemy st\n\n" + #"{"id":"al-1","event":{"amount":"0.75"}}"#),
        ("nansen", "nansen st\n\n" + #"{"signal":"long"}"#),
        ("quicknode", "quicknode st\nX-QN-Nonce: 7f3a\n\n" + #"{"time":"{{timenow}}","amount":"2500"}"#),
        ("tenderly", "tenderly st\n\n" + #"{"id":"te-1","event_type":"ALERT","kind":"alert","n":"42"}"#),
        ("stripe", "stripe st\n\n" + #"{"id":"evt_1","action":"sell"}"#),
        ("moralis", "moralis st\n\n" + #"{"streamId":"st-1","signal":"buy"}"#),
        (
            "tradingview",
            "tradingview st\n\n" + #"{"id":"tv-1","token":"","time":"{{timenow}}","action":"buy","inst":"BTC-USDT","px":"59500","sz":"0.002"}"#
        ),
        ("header-token", "header-token st\n\n" + #"{"amount":1000}"#),
        ("query-token", "query-token st\nX-Query: other=1\n\n" + #"{"action":"sell"}"#),
        ("none-allowlisted", "lan st\nX-Peer: 10.1.2.3\n\n" + #"{"id":"lan-1","action":"buy","inst":"BTC-USDT","px":"50000","sz":"0.001"}"#),
        (
            "okx-signal-bot",
            "signal-bot st\n\n"
                + #"{"action":"ENTER_LONG","instrument":"BTCUSDT","signalToken":"","timestamp":"{{timenow}}","maxLag":"60","investmentType":"margin","amount":"50","orderType":"limit","orderPriceOffset":"0.5"}"#
        ),
        ("edge-price", "github st\n\n" + #"{"id":"gh-2","action":"buy","inst":"BTC-USDT","px":"3e164","sz":"20"}"#),
        (
            "edge-size",
            "alchemy st\n\n" + #"{"id":"al-2","action":"buy","inst":"BTC-USDT","px":"99999999999999999999999999999","sz":"-9223372036854775808"}"#
        ),
        (
            "edge-signal-bot",
            "signal-bot st\n\n"
                + #"{"action":"EXIT_LONG","instrument":"ETH-USDT","signalToken":"","timestamp":"{{timenow}}","investmentType":"base","amount":"1e40"}"#
        ),
    ]
}
