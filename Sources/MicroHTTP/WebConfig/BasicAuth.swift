import CCrypt
import CGnuTLS

/// `basic_auth_users`: user names to bcrypt hashes. The hashes never print.
public struct BasicAuthUsers: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// User name bytes to hash bytes.
    let hashes: [[UInt8]: [UInt8]]

    public init() { hashes = [:] }

    init(hashes: [[UInt8]: [UInt8]]) { self.hashes = hashes }

    public var isEmpty: Bool { hashes.isEmpty }

    /// What an unknown user's password is checked against: the listed hash of the highest cost, so
    /// an unknown user costs as much bcrypt as the slowest known one and timing tells no names
    /// apart (a fixed cost-10 decoy answered in 44 ms where a cost-12 user took 177 ms). Its outcome
    /// is never used.
    var decoyHash: [UInt8] {
        hashes.values.max { a, b in (a[4], a[5]) < (b[4], b[5]) } ?? BasicAuthChecker.decoyHash
    }
    public var count: Int { hashes.count }
    /// The user names, sorted (never the hashes).
    public var names: [String] { hashes.keys.map { String(decoding: $0, as: UTF8.self) }.sorted() }

    public var description: String { "BasicAuthUsers(\(names.joined(separator: ", ")))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["names": names], displayStyle: .struct) }

    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 04 to 31, `$`, then 53 characters of bcrypt's base64.
    static func isBcryptHash(_ hash: [UInt8]) -> Bool {
        guard hash.count == 60, hash[0] == UInt8(ascii: "$"), hash[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(hash[2]),
              hash[3] == UInt8(ascii: "$"), hash[6] == UInt8(ascii: "$") else { return false }
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(hash[4]), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(hash[5]) else { return false }
        let cost = Int(hash[4] - UInt8(ascii: "0")) * 10 + Int(hash[5] - UInt8(ascii: "0"))
        guard (4...31).contains(cost) else { return false }
        return hash[7...].allSatisfy { byte in
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }
}

/// Checks `Authorization: Basic` credentials against bcrypt hashes, as the exporter-toolkit does:
/// an unknown user is checked against a fixed hash (so timing does not tell which users exist),
/// one bcrypt runs at a time (a flood of wrong passwords costs one core, not all), and the outcome
/// for a (user, hash, password) is remembered in a small cache so a scraper's every request does
/// not pay bcrypt's cost. The cache is keyed by a SHA-256 of the three, so it holds no password.
final class BasicAuthChecker: Sendable {
    /// bcrypt (cost 10) of a password nobody is given; checked for unknown users when no user is listed.
    static let decoyHash = Array("$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi".utf8)
    static let cacheLimit = 100

    private struct Cache {
        var outcomes: [[UInt8]: Bool] = [:]
        /// Cheap pseudo-random eviction (xorshift), like the exporter-toolkit's random one.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    }

    private let cache = Locked(Cache())
    /// Serializes bcrypt.
    private let bcrypt = Locked(())

    /// Bcrypt runs so far (cache misses), for tests.
    private let runs = Locked(0)
    var bcryptRuns: Int { runs.withLock { $0 } }

    /// bcrypt itself: `bcryptMatches`, or in tests a stand-in that blocks until told.
    private let matches: @Sendable (_ password: [UInt8], _ hash: [UInt8]) -> Bool

    init(matches: @escaping @Sendable (_ password: [UInt8], _ hash: [UInt8]) -> Bool = BasicAuthChecker.bcryptMatches) {
        self.matches = matches
    }

    /// What a check found.
    enum Verdict: Equatable {
        case allowed
        case denied
        /// Not checked now: bcrypt is busy with another request, or this address failed too often
        /// lately. Answered 429 at once, so a flood of new passwords never holds a request thread.
        case busy
    }

    /// Failures per address within `failureWindow` seconds before it is answered 429 unchecked.
    static let failuresAllowed = 10
    static let failureWindow = 10.0
    /// Addresses whose failures are remembered (a flood from many addresses forgets the oldest).
    static let failureAddresses = 4096

    private struct Failures {
        var byClient: [ClientKey: (count: Int, since: Double)] = [:]
    }

    private let failures = Locked(Failures())

    /// Whether `authorization` (the one Authorization header's value) is `Basic` credentials of a
    /// listed user. Credentials seen before are answered from the cache (the fast path a scraper
    /// stays on); new ones run bcrypt only when no other request is (else `.busy`), and an address
    /// with too many recent failures gets `.busy` without bcrypt.
    func check(_ authorization: String, users: BasicAuthUsers, client: ClientKey? = nil, now: Double = ServerContext.now()) -> Verdict {
        if let quick = quickVerdict(authorization, users: users, client: client, now: now) { return quick }
        return bcryptVerdict(authorization, users: users, client: client, now: now)
    }

    /// The verdict when it needs no bcrypt (unreadable credentials, cached ones, an address over its
    /// failures); nil when only bcrypt can tell.
    func quickVerdict(_ authorization: String, users: BasicAuthUsers, client: ClientKey?, now: Double) -> Verdict? {
        guard let (user, password) = Self.credentials(authorization) else { return .denied }
        // crypt takes C strings: a password with a NUL could never be the one hashed.
        guard !password.contains(0) else { return .denied }
        let known = users.hashes[user]
        let hash = known ?? users.decoyHash
        if let key = Self.cacheKey(user, hash, password), let cached = cache.withLock({ $0.outcomes[key] }) {
            return cached && known != nil ? .allowed : .denied
        }
        if let client, let recent = failures.withLock({ $0.byClient[client] }), now - recent.since < Self.failureWindow, recent.count >= Self.failuresAllowed {
            return .busy
        }
        return nil
    }

    /// Runs bcrypt (when no other request is: else `.busy`) and caches the outcome.
    func bcryptVerdict(_ authorization: String, users: BasicAuthUsers, client: ClientKey?, now: Double) -> Verdict {
        guard let (user, password) = Self.credentials(authorization), !password.contains(0) else { return .denied }
        let known = users.hashes[user]
        let hash = known ?? users.decoyHash
        let key = Self.cacheKey(user, hash, password)
        let ran = bcrypt.withLockIfAvailable { _ in
            runs.withLock { $0 += 1 }
            return matches(password, hash)
        }
        guard let matches = ran else { return .busy }
        let outcome = matches && known != nil
        if !outcome, let client { recordFailure(client, now: now) }
        guard let key else { return outcome ? .allowed : .denied }
        cache.withLock { cache in
            if cache.outcomes.count >= Self.cacheLimit, !cache.outcomes.isEmpty {
                cache.seed ^= cache.seed << 13
                cache.seed ^= cache.seed >> 7
                cache.seed ^= cache.seed << 17
                let victim = cache.outcomes.index(cache.outcomes.startIndex, offsetBy: Int(cache.seed % UInt64(cache.outcomes.count)))
                cache.outcomes.remove(at: victim)
            }
            cache.outcomes[key] = outcome
        }
        return outcome ? .allowed : .denied
    }

    /// Runs `body` while holding the bcrypt slot, as a check in progress would (for tests).
    func whileBcryptRuns<T>(_ body: () -> T) -> T {
        bcrypt.withLock { _ in body() }
    }

    private func recordFailure(_ client: ClientKey, now: Double) {
        failures.withLock { failures in
            if var entry = failures.byClient[client], now - entry.since < Self.failureWindow {
                entry.count += 1
                failures.byClient[client] = entry
                return
            }
            if failures.byClient.count >= Self.failureAddresses {
                failures.byClient = failures.byClient.filter { now - $0.value.since < Self.failureWindow }
                if failures.byClient.count >= Self.failureAddresses { failures.byClient.removeAll() }
            }
            failures.byClient[client] = (1, now)
        }
    }

    /// Whether bcrypt of `password` with `hash`'s salt and cost is `hash`, compared in constant time.
    static func bcryptMatches(password: [UInt8], hash: [UInt8]) -> Bool {
        var output = [CChar](repeating: 0, count: 128)
        let phrase = password.map { CChar(bitPattern: $0) } + [0]
        let setting = hash.map { CChar(bitPattern: $0) } + [0]
        let length = pe_crypt(phrase, setting, &output, output.count)
        guard length >= 0 else { return false }
        let computed = output[..<Int(length)].map { UInt8(bitPattern: $0) }
        return constantTimeEqual(computed, hash)
    }

    /// Equality whose time depends only on the lengths, never on where the bytes first differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for index in 0..<a.count {
            difference |= a[index] ^ (index < b.count ? b[index] : ~a[index])
        }
        return difference == 0
    }

    /// The user and password of a `Basic <base64(user:password)>` header value, or nil.
    static func credentials(_ authorization: String) -> (user: [UInt8], password: [UInt8])? {
        let value = Array(authorization.utf8)
        let scheme = Array("basic".utf8)
        guard value.count > scheme.count, value[scheme.count] == UInt8(ascii: " ") else { return nil }
        for index in scheme.indices where value[index] | 0x20 != scheme[index] { return nil }
        var start = scheme.count
        while start < value.count, value[start] == UInt8(ascii: " ") { start += 1 }
        var end = value.count
        while end > start, value[end - 1] == UInt8(ascii: " ") { end -= 1 }
        guard let decoded = Base64.decode(value[start..<end]), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (Array(decoded[..<colon]), Array(decoded[(colon + 1)...]))
    }

    /// SHA-256 of the three, length-prefixed; nil (nothing cached) if hashing failed.
    private static func cacheKey(_ user: [UInt8], _ hash: [UInt8], _ password: [UInt8]) -> [UInt8]? {
        var input: [UInt8] = []
        input.reserveCapacity(user.count + hash.count + password.count + 24)
        for part in [user, hash, password] {
            withUnsafeBytes(of: UInt64(part.count).littleEndian) { input.append(contentsOf: $0) }
            input.append(contentsOf: part)
        }
        var digest = [UInt8](repeating: 0, count: 32)
        let result = input.withUnsafeBytes { pe_sha256($0.baseAddress, $0.count, &digest) }
        // Zero the copy that held the password before it goes back to malloc.
        for index in input.indices { input[index] = 0 }
        return result == 0 ? digest : nil
    }
}

/// Strict standard base64 (RFC 4648 section 4) with padding, as Basic auth sends it.
enum Base64 {
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard !text.isEmpty, text.count % 4 == 0 else { return text.isEmpty ? [] : nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var index = text.startIndex
        while index < text.endIndex {
            let last = index + 4 == text.endIndex
            var values: [UInt8] = []
            var padding = 0
            for offset in 0..<4 {
                let byte = text[index + offset]
                if byte == UInt8(ascii: "=") {
                    // Padding only at the end, only in the last two places.
                    guard last, offset >= 2 else { return nil }
                    padding += 1
                    continue
                }
                guard padding == 0, let value = sextet(byte) else { return nil }
                values.append(value)
            }
            let bits = values.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (18 - 6 * $1.offset) }
            out.append(UInt8(truncatingIfNeeded: bits >> 16))
            if padding < 2 { out.append(UInt8(truncatingIfNeeded: bits >> 8)) }
            if padding < 1 { out.append(UInt8(truncatingIfNeeded: bits)) }
            index += 4
        }
        return out
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
