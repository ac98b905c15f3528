extension JSONValue {
    /// Compact JSON text, keys in their stored order: the same value always gives the same bytes.
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The compact JSON text as UTF-8 bytes, written as bytes (no per-character String building).
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes `s` as a JSON string: `"`, `\`, control characters and U+2028/U+2029 escaped, the rest as its UTF-8.
    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape at all: checked and copied in one go over their contiguous UTF-8.
        var text = s
        let copied = text.withUTF8 { bytes in
            for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0xE2 { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied {
            out.append(UInt8(ascii: "\""))
            return
        }
        let utf8 = s.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            switch byte {
            case 0x22: out.append(contentsOf: #"\""#.utf8)
            case 0x5C: out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            case 0xE2:
                // U+2028 and U+2029 (E2 80 A8, E2 80 A9) are escaped: valid JSON, but not valid JavaScript.
                let next = utf8.index(after: index)
                let last = next < utf8.endIndex ? utf8.index(after: next) : next
                if next < utf8.endIndex, last < utf8.endIndex, utf8[next] == 0x80, utf8[last] == 0xA8 || utf8[last] == 0xA9 {
                    out.append(contentsOf: (utf8[last] == 0xA8 ? #"\u2028"# : #"\u2029"#).utf8)
                    index = utf8.index(after: last)
                    continue
                }
                out.append(byte)
            default: out.append(byte)
            }
            index = utf8.index(after: index)
        }
        out.append(UInt8(ascii: "\""))
    }
}
