import Glibc

/// Cuts a byte stream into complete lines, holding a trailing partial line and skipping over-long ones.
///
/// Pure: it reads only the bytes it is given, so it is tested on literals.
struct LineSplitter {
    /// The complete lines of one chunk and the lengths of the over-long lines skipped in it.
    struct Output: Equatable {
        var lines: [UInt8] = []
        var lineCount = 0
        var oversizedLengths: [Int] = []
    }

    let maxLineBytes: Int
    /// Start of the line being assembled, kept until its newline arrives.
    private var partial: [UInt8] = []
    /// Length so far of an over-long line being skipped; its bytes are not kept.
    private var skippedLength: Int?

    init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0, "maxLineBytes must be positive")
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes read but not yet delivered or reported: the unfinished last line.
    var heldByteCount: Int {
        skippedLength ?? partial.count
    }

    mutating func split(_ chunk: UnsafeBufferPointer<UInt8>) -> Output {
        var output = Output()
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return output }
        output.lines.reserveCapacity(partial.count + chunk.count)
        let count = chunk.count
        var lineStart = 0
        // Consecutive good lines are copied as one run, not one append per line.
        var runStart: Int?

        func flushRun(upTo end: Int, into output: inout Output) {
            if let start = runStart, start < end {
                output.lines.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<end]))
            }
            runStart = nil
        }

        while lineStart < count, let found = memchr(base + lineStart, 0x0A, count - lineStart) {
            let newline = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
            let segment = newline - lineStart
            if let skipped = skippedLength {
                output.oversizedLengths.append(skipped + segment)
                skippedLength = nil
            } else if partial.count + segment > maxLineBytes {
                flushRun(upTo: lineStart, into: &output)
                output.oversizedLengths.append(partial.count + segment)
                partial.removeAll()
            } else if !partial.isEmpty {
                output.lines.append(contentsOf: partial)
                output.lines.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[lineStart...newline]))
                output.lineCount += 1
                partial.removeAll(keepingCapacity: true)
            } else {
                if runStart == nil { runStart = lineStart }
                output.lineCount += 1
            }
            lineStart = newline + 1
        }
        flushRun(upTo: lineStart, into: &output)

        let rest = count - lineStart
        if rest > 0 {
            if let skipped = skippedLength {
                skippedLength = skipped + rest
            } else if partial.count + rest > maxLineBytes {
                skippedLength = partial.count + rest
                partial = []
            } else {
                partial.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[lineStart..<count]))
            }
        }
        return output
    }

    /// Ends the input: an unterminated last line is delivered with a `\n` added (or reported if over-long).
    mutating func finish() -> Output {
        var output = Output()
        if let skipped = skippedLength {
            output.oversizedLengths.append(skipped)
        } else if !partial.isEmpty {
            output.lines = partial + [0x0A]
            output.lineCount = 1
        }
        skippedLength = nil
        partial = []
        return output
    }

    /// Forgets the unfinished line (its file was truncated or rotated away); returns whether there was one.
    mutating func discardHeldLine() -> Bool {
        let held = heldByteCount > 0
        skippedLength = nil
        partial = []
        return held
    }
}
