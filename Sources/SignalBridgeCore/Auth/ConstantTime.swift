/// Comparisons whose duration does not depend on where two secrets differ.
public enum ConstantTime {
    /// Whether `a` and `b` are equal; time depends only on their lengths.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        var other = b.makeIterator()
        for byte in a {
            difference |= byte ^ (other.next() ?? 0)
        }
        return difference == 0 && a.count == b.count
    }
}
