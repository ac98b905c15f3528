extension Substring {
    /// Without leading and trailing spaces and tabs: HTTP's optional whitespace around a header value or list
    /// element (RFC 9110 section 5.6.3), trimmed without Foundation's Unicode character sets.
    var trimmingASCIISpaces: Substring {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" { end = index(before: end) }
        return self[start..<end]
    }
}
