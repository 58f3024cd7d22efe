/// RFC 3339 timestamps ("2025-09-15T14:02:11.412733901Z") read into Unix seconds.
///
/// Accepted: `T`, `t` or a space between date and time; `Z`, `z` or a `+hh:mm` / `-hh:mm`
/// offset; a fraction of one or more digits (digits past the ninth are read and ignored);
/// second 60 (a leap second) counts as the first second of the next minute, as POSIX time
/// has no leap seconds. Fields out of range (month 13, February 30, hour 24, offset 24:00)
/// are rejected.
public enum RFC3339 {
    /// Unix seconds of `text`, or nil when it is not an RFC 3339 date-time.
    public static func parseTimestamp(_ text: some StringProtocol) -> Double? {
        if let parsed = text.utf8.withContiguousStorageIfAvailable({
            parseTimestamp(utf8: UnsafeRawBufferPointer($0))
        }) {
            return parsed
        }
        return Array(text.utf8).withUnsafeBytes { parseTimestamp(utf8: $0) }
    }

    /// Unix seconds of the UTF-8 bytes `s`, or nil when they are not an RFC 3339 date-time.
    public static func parseTimestamp(utf8 s: UnsafeRawBufferPointer) -> Double? {
        // YYYY-MM-DDTHH:MM:SS then at least one byte of zone.
        guard s.count >= 20,
              let year = digits(s, 0, 4), s[4] == UInt8(ascii: "-"),
              let month = digits(s, 5, 2), s[7] == UInt8(ascii: "-"),
              let day = digits(s, 8, 2),
              s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: "t") || s[10] == UInt8(ascii: " "),
              let hour = digits(s, 11, 2), s[13] == UInt8(ascii: ":"),
              let minute = digits(s, 14, 2), s[16] == UInt8(ascii: ":"),
              let second = digits(s, 17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var i = 19
        var fraction = 0
        var scale = 1
        if s[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < s.count, let d = digit(s[i]) {
                // Nanoseconds at most, as Go's RFC3339Nano, Python and Java write them.
                guard i - start < 9 else { return nil }
                fraction = fraction * 10 + d
                scale *= 10
                i += 1
            }
            guard i > start else { return nil }
        }

        guard i < s.count else { return nil }
        var offset = 0
        switch s[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard s.count - i >= 6,
                  let offsetHour = digits(s, i + 1, 2), s[i + 3] == UInt8(ascii: ":"),
                  let offsetMinute = digits(s, i + 4, 2),
                  offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offset = (offsetHour * 3600 + offsetMinute * 60) * (s[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == s.count else { return nil }
        // A leap second is only ever the last second of a UTC day (23:59:60Z, or that instant in
        // another offset).
        if second == 60, ((hour * 3600 + minute * 60 - offset) % 86_400 + 86_400) % 86_400 != 86_340 { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Double(seconds) + Double(fraction) / Double(scale)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2:
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            return leap ? 29 : 28
        case 4, 6, 9, 11:
            return 30
        default:
            return 31
        }
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func digits(_ s: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for i in start..<start + count {
            guard let d = digit(s[i]) else { return nil }
            value = value * 10 + d
        }
        return value
    }
}
