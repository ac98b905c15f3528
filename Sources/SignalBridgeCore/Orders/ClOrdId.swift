/// Deterministic client order ids: the same source, signal, rule and order index always give the same id, so a
/// resent webhook can never become a second order under a new id, and the same signal id from two sources (one
/// Standard Webhooks message fanned out to two endpoints) gives two.
public enum ClOrdId {
    /// `sb` + 30 lowercase hex digits of SHA-256(source, signalId, ruleId, index): 32 characters, `[a-z0-9]`, as OKX
    /// allows. (Orders journaled before the source was part of it keep the id their `order.intent` records.)
    public static func make(source: String, signalId: String, ruleId: String, orderIndex: Int) -> String {
        let digest = Hex.sha256(Array("\(source)\u{0}\(signalId)\u{0}\(ruleId)\u{0}\(orderIndex)".utf8))
        return "sb" + digest.prefix(30)
    }

    /// The `attachAlgoClOrdId` of the take-profit and stop-loss attached to the order `clOrdId`: `sa` + 30 hex digits
    /// of its SHA-256, so a resent signal attaches them under the same id.
    public static func attached(to clOrdId: String) -> String {
        "sa" + Hex.sha256(Array("attach\u{0}\(clOrdId)".utf8)).prefix(30)
    }
}
