/// A value a client sent that breaks a rule: names the field and says what is accepted.
///
/// Every rule of the core and the services throws this; the HTTP layer answers it with a 422
/// `application/problem+json` whose `field` is ``field``.
public struct FieldViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field at fault, as the client names it (`items.2.quantity`, `name`).
    public var field: String
    /// What is wrong, and what is accepted.
    public var detail: String

    public init(field: String, _ detail: String) {
        self.field = field
        self.detail = detail
    }

    public var description: String { "\(field) \(detail)" }
}

/// Rules for the text a client sends: bounded length, no control or bidirectional-override characters.
public enum TextRules {
    /// What a text field may contain besides printable characters.
    public enum Lines: Sendable {
        /// One line: no control characters at all.
        case single
        /// Several lines: tab, line feed and carriage return are allowed, other control characters are not.
        case multiple
    }

    /// `value` trimmed of surrounding white space, or a violation naming `field`: empty (unless `allowEmpty`),
    /// longer than `maxCharacters`, or containing a character that ``isForbidden(_:lines:)`` refuses.
    public static func check(
        _ value: String, field: String, maxCharacters: Int, allowEmpty: Bool = false, lines: Lines = .single
    ) throws(FieldViolation) -> String {
        try checkCharacters(value, field: field, lines: lines)
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty && !allowEmpty { throw FieldViolation(field: field, "must not be empty") }
        // Count scalars first: a huge value is refused without walking its grapheme clusters.
        if trimmed.unicodeScalars.count > maxCharacters * 8 || trimmed.count > maxCharacters {
            throw FieldViolation(field: field, "must have at most \(maxCharacters) characters")
        }
        return trimmed
    }

    /// Refuses `value` when it contains a forbidden character; the value itself is kept as it is.
    public static func checkCharacters(_ value: String, field: String, lines: Lines = .single) throws(FieldViolation) {
        for scalar in value.unicodeScalars where isForbidden(scalar, lines: lines) {
            let code = String(scalar.value, radix: 16, uppercase: true)
            throw FieldViolation(
                field: field,
                "must not contain control or bidirectional-override characters (found U+\(String(repeating: "0", count: max(0, 4 - code.count)))\(code))"
            )
        }
    }

    /// True for C0 and C1 control characters (except tab, line feed and carriage return in multi-line
    /// text), the Unicode line and paragraph separators in single-line text, and the bidirectional
    /// embedding, override and isolate controls (the "Trojan Source" characters).
    public static func isForbidden(_ scalar: Unicode.Scalar, lines: Lines) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return lines == .single
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x2028, 0x2029: return lines == .single
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}

extension String {
    /// The string without leading and trailing white space (Unicode `White_Space`).
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

/// Checked arithmetic on numbers a client sends: a Swift overflow traps the whole process, so every sum
/// or product of client input goes through these and becomes a ``FieldViolation`` instead.
public enum CheckedMath {
    /// `a + b`, or a violation naming `field` when it overflows.
    public static func add(_ a: Int, _ b: Int, field: String) throws(FieldViolation) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw FieldViolation(field: field, "is out of range") }
        return sum
    }

    /// `a × b`, or a violation naming `field` when it overflows.
    public static func multiply(_ a: Int, _ b: Int, field: String) throws(FieldViolation) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw FieldViolation(field: field, "is out of range") }
        return product
    }

    /// `value` when it lies in `range`, else a violation naming `field` and the range.
    public static func within(_ value: Int, _ range: ClosedRange<Int>, field: String) throws(FieldViolation) -> Int {
        guard range.contains(value) else {
            throw FieldViolation(field: field, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}
