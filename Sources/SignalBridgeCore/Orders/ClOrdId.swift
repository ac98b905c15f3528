/// Deterministic client order ids: the same signal, rule and order index always give the same id,
/// so a resent webhook can never become a second order under a new id.
public enum ClOrdId {
    /// `sb` + 30 lowercase hex digits of SHA-256(signalId, ruleId, index): 32 characters, `[a-z0-9]`, as OKX allows.
    public static func make(signalId: String, ruleId: String, orderIndex: Int) -> String {
        let digest = Hex.sha256(Array("\(signalId)\u{0}\(ruleId)\u{0}\(orderIndex)".utf8))
        return "sb" + digest.prefix(30)
    }
}
