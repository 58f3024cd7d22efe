/// Each client address's open connections, and the addresses by how many they hold.
///
/// When every slot is taken, a new client gets in by closing a connection of the busiest address.
/// Finding that address and its connections was a pass over every open connection, on every accept
/// while full (tens of thousands, at a limit sized from the open-files limit); here the busiest is
/// the top of a table of counts, and its connections are its own set (at most the per-address limit).
struct ClientTable {
    /// Connection keys by client address.
    private(set) var connections: [ClientKey: Set<UInt>] = [:]
    /// `byCount[n]`: the addresses holding exactly n connections (index 0 unused).
    private var byCount: [Set<ClientKey>] = [[]]
    /// The highest n whose set is not empty; 0 when no address holds a connection.
    private var top = 0

    func count(of client: ClientKey) -> Int { connections[client]?.count ?? 0 }

    /// An address holding the most connections, and how many; nil when none holds one.
    var busiest: (client: ClientKey, count: Int)? {
        guard top > 0, let client = byCount[top].first else { return nil }
        return (client, top)
    }

    mutating func add(_ key: UInt, of client: ClientKey) {
        let before = count(of: client)
        guard connections[client, default: []].insert(key).inserted else { return }
        move(client, from: before, to: before + 1)
    }

    mutating func remove(_ key: UInt, of client: ClientKey) {
        guard var keys = connections[client], keys.remove(key) != nil else { return }
        let before = keys.count + 1
        connections[client] = keys.isEmpty ? nil : keys
        move(client, from: before, to: before - 1)
    }

    private mutating func move(_ client: ClientKey, from old: Int, to new: Int) {
        if old > 0 { byCount[old].remove(client) }
        if new > 0 {
            if new == byCount.count { byCount.append([]) }
            byCount[new].insert(client)
        }
        if new > top { top = new }
        while top > 0 && byCount[top].isEmpty { top -= 1 }
    }
}
