/// How the journal commands print what they found.
public enum ListingFormat: String, Sendable, CaseIterable {
    /// Aligned columns for a terminal.
    case table
    /// One JSON object per line.
    case json
    /// RFC 4180 comma-separated values with a header line.
    case csv
}

/// Columns of text, as an aligned table or as CSV.
public struct Listing: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Aligned columns separated by two spaces; line breaks inside a cell become spaces.
    public var table: String {
        let lines = ([header] + rows).map { $0.map { $0.replacing("\r\n", with: " ").replacing("\n", with: " ") } }
        var widths: [Int] = []
        for line in lines {
            for (index, cell) in line.enumerated() {
                if index == widths.count { widths.append(0) }
                widths[index] = max(widths[index], cell.count)
            }
        }
        return lines.map { line in
            var text = line.enumerated().map { index, cell in cell + String(repeating: " ", count: widths[index] - cell.count) }
                .joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        .joined(separator: "\n")
    }

    /// RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled.
    public var csv: String {
        ([header] + rows).map { line in
            line.map { cell in
                cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + cell.replacing("\"", with: "\"\"") + "\"" : cell
            }
            .joined(separator: ",")
        }
        .joined(separator: "\n")
    }
}
