import Foundation

/// The records of SPEC section 6, built with their fields in a stable order.
extension JournalEntry {
    /// A `signal` record: an accepted webhook, its payload with any body token removed.
    /// - Parameter receivedAt: when its webhook came in: the time its decisions were made at (nil: not said, as in
    ///   records of earlier versions; its `ts` stands for it).
    public static func signal(
        signalId: String,
        source: String,
        remoteAddr: String?,
        bodySha256: String,
        receivedAt: Date?,
        payload: JSONValue
    ) -> JournalEntry {
        var fields: [(String, JSONValue)] = [
            ("signalId", .string(signalId)), ("source", .string(source)), ("remoteAddr", remoteAddr.map(JSONValue.string) ?? .null),
            ("bodySha256", .string(bodySha256)),
        ]
        if let receivedAt { fields.append(("receivedAt", .string(Timestamp.format(receivedAt)))) }
        fields.append(("payload", payload))
        return JournalEntry(.signal, fields)
    }

    /// A `rejected` record: a refused webhook (sampled, at most 60 a minute).
    public static func rejected(source: String, status: Int, error: String, remoteAddr: String?, bodySha256: String?) -> JournalEntry {
        JournalEntry(
            .rejected,
            [
                ("source", .string(source)), ("status", .integer(status)), ("error", .string(error)),
                ("remoteAddr", remoteAddr.map(JSONValue.string) ?? .null), ("bodySha256", bodySha256.map(JSONValue.string) ?? .null),
            ]
        )
    }

    /// A `decision` record, with the `ruleSetHash` of the rules that made it.
    public static func decision(signalId: String, _ decision: Decision, ruleSetHash: String) -> JournalEntry {
        var fields: [(String, JSONValue)] = [
            ("signalId", .string(signalId)), ("ruleId", decision.ruleId.map(JSONValue.string) ?? .null),
            ("outcome", .string(decision.outcome.rawValue)), ("reason", .string(decision.reason)),
        ]
        if let clOrdId = decision.clOrdId { fields.append(("clOrdId", .string(clOrdId))) }
        if decision.outcome == .order {
            fields.append(("clOrdIds", .array(decision.orders.map { .string($0.request.clOrdId) })))
            fields.append(("notional", .decimal(decision.notional)))
        }
        fields.append(("ruleSetHash", .string(ruleSetHash)))
        fields += decision.inputs.journalFields
        return JournalEntry(.decision, fields)
    }

    /// An `order.intent` record: the exact OKX body about to be sent. For an algo order, an `algo.intent` with its
    /// `algoClOrdId` and the exact `trade/order-algo` body.
    public static func intent(_ intent: OrderIntent) -> JournalEntry {
        JournalEntry(
            JournalRecordType.orderIntent.forAlgo(intent.isAlgo),
            [
                (idKey(intent.isAlgo), .string(intent.clOrdId)), ("signalId", .string(intent.signalId)), ("ruleId", .string(intent.ruleId)),
                ("request", intent.algo?.json ?? intent.request.json),
            ]
        )
    }

    /// The field that names the order in its records: `clOrdId`, or an algo order's `algoClOrdId`.
    static func idKey(_ algo: Bool) -> String { algo ? "algoClOrdId" : "clOrdId" }

    /// An `order.ack` record: OKX accepted the order (`algo`: an `algo.ack` with the `algoId`).
    public static func ack(clOrdId: String, ordId: String, algo: Bool = false) -> JournalEntry {
        JournalEntry(JournalRecordType.orderAck.forAlgo(algo), [(idKey(algo), .string(clOrdId)), (algo ? "algoId" : "ordId", .string(ordId))])
    }

    /// An `order.reject` record: OKX refused the order; final (`algo`: an `algo.reject`).
    public static func reject(clOrdId: String, sCode: String, sMsg: String, algo: Bool = false) -> JournalEntry {
        JournalEntry(
            JournalRecordType.orderReject.forAlgo(algo),
            [(idKey(algo), .string(clOrdId)), ("sCode", .string(sCode)), ("sMsg", .string(sMsg))]
        )
    }

    /// An `order.unknown` record (`algo`: an `algo.unknown`).
    /// - Parameter expTime: the request's deadline: after it the exchange can no longer take the order.
    public static func unknown(clOrdId: String, error: String, expTime: Date, algo: Bool = false) -> JournalEntry {
        JournalEntry(
            JournalRecordType.orderUnknown.forAlgo(algo),
            [
                (idKey(algo), .string(clOrdId)), ("error", .string(error)),
                ("expTime", .string(Self.unixMilliseconds(expTime))),
            ]
        )
    }

    /// An `order.retry` record, written before an order request is sent again (a resend after a lookup found
    /// nothing, or a retry after a refusal that processed nothing), with that request's `expTime` (`algo`: an
    /// `algo.retry`).
    public static func retry(clOrdId: String, attempt: Int, expTime: Date, reason: String, algo: Bool = false) -> JournalEntry {
        JournalEntry(
            JournalRecordType.orderRetry.forAlgo(algo),
            [
                (idKey(algo), .string(clOrdId)), ("attempt", .integer(attempt)), ("expTime", .string(Self.unixMilliseconds(expTime))),
                ("reason", .string(reason)),
            ]
        )
    }

    /// Unix milliseconds of a time of the local or the exchange's clock, as OKX writes them.
    static func unixMilliseconds(_ date: Date) -> String {
        String((date.timeIntervalSince1970 * 1000).rounded(.down).wholeSeconds)
    }

    /// An `order.update` record: a state change or fill. For an algo order (``OrderStatus/algo``), an `algo.update`:
    /// its `algoId`, its own `state`, the `ordId` and `ordState` of the order it placed once triggered (empty
    /// before), and that order's fills.
    public static func update(_ status: OrderStatus) -> JournalEntry {
        if let algo = status.algo {
            return JournalEntry(
                .algoUpdate,
                [
                    ("algoClOrdId", .string(status.clOrdId)), ("algoId", .string(status.ordId)), ("state", .string(algo.state)),
                    ("ordId", .string(algo.ordId ?? "")), ("ordState", .string(algo.ordState ?? "")),
                    ("accFillSz", .string(DecimalText.format(status.accFillSz))),
                    ("avgPx", .string(status.avgPx.map(DecimalText.format) ?? "")),
                    ("fee", .string(DecimalText.format(status.fee))), ("feeCcy", .string(status.feeCcy)),
                ]
            )
        }
        return JournalEntry(
            .orderUpdate,
            [
                ("clOrdId", .string(status.clOrdId)), ("ordId", .string(status.ordId)), ("state", .string(status.state)),
                ("accFillSz", .string(DecimalText.format(status.accFillSz))),
                ("avgPx", .string(status.avgPx.map(DecimalText.format) ?? "")),
                ("fee", .string(DecimalText.format(status.fee))), ("feeCcy", .string(status.feeCcy)),
            ]
        )
    }

    /// An `order.abandoned` record: the order will not be sent; final (`algo`: an `algo.abandoned`).
    public static func abandoned(clOrdId: String, reason: String, algo: Bool = false) -> JournalEntry {
        JournalEntry(JournalRecordType.orderAbandoned.forAlgo(algo), [(idKey(algo), .string(clOrdId)), ("reason", .string(reason))])
    }

    /// A `rules.loaded` record: a rule set put in force, with the hash of each file.
    public static func rulesLoaded(_ rules: RuleSet) -> JournalEntry {
        JournalEntry(
            .rulesLoaded,
            [
                ("ruleSetHash", .string(rules.hash)),
                ("files", .array(rules.files.map { .object(JSONObject([("path", .string($0.path)), ("sha256", .string($0.sha256))])) })),
            ]
        )
    }
}
