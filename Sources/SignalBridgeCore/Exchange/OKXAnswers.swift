/// What OKX's answer codes mean for an order request: the one classification the REST client and the simulator's
/// in-process exchange share (SPEC section 7).
public enum OKXAnswers {
    /// Codes after which the order may or may not exist (`50004` timeout, `51149` order timed out, `50026` system
    /// error, `51016` clOrdId already pending, `51065` algoClOrdId already exists …): it is looked up by `clOrdId`
    /// before anything else is sent.
    public static let unknownOutcomeCodes: Set<String> = ["50001", "50004", "50013", "50026", "51016", "51054", "51065", "51149"]
    /// Codes that say nothing was processed and the same request can be sent again later (rate limit, load,
    /// a timestamp outside OKX's window). `50036`/`50037` (the request arrived after its `expTime`) are final: the
    /// signal is too late to trade on, and the executor never sends a request with less than 0.1 s left.
    public static let retryLaterCodes: Set<String> = ["50011", "50040", "50061", "50102", "50112"]

    /// The outcome of an order request OKX refused with `code` (HTTP `httpStatus`); an HTTP 5xx says nothing about
    /// whether the order exists, HTTP 429 that it was not processed.
    public static func refusal(code: String, message: String, httpStatus: Int) -> PlacementOutcome {
        if unknownOutcomeCodes.contains(code) || httpStatus >= 500 { return .unknown(reason: "OKX \(code): \(message)") }
        if retryLaterCodes.contains(code) || httpStatus == 429 { return .notPlaced(reason: "OKX \(code): \(message)") }
        return .rejected(sCode: code, sMsg: message)
    }
}
