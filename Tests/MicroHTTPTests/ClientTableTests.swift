import Testing
import TestSupport
@testable import MicroHTTP

/// The table the connection limit consults on every accept while full: after any sequence of opens
/// and closes, it names an address holding the most connections, and each address's own.
@Suite struct ClientTableTests {
    @Test func theBusiestAndEachAddresssConnectionsFollowOpensAndClosesInAnyOrder() {
        var random = SplitMix64(seed: 21)
        var table = ClientTable()
        var model: [ClientKey: Set<UInt>] = [:]
        var nextKey: UInt = 1
        let clients = (0..<12).map { ClientKey(mappedIPv4: 0x7F00_0001 + UInt32($0)) }
        for step in 0..<20_000 {
            let client = clients[Int(random.next() % UInt64(clients.count))]
            // Opens outnumber closes early on, closes later, so counts rise and fall back to zero.
            let opening = model[client, default: []].isEmpty || random.next() % 100 < (step < 10_000 ? 60 : 35)
            if opening {
                table.add(nextKey, of: client)
                model[client, default: []].insert(nextKey)
                nextKey += 1
            } else if let key = model[client]?.randomElement(using: &random) {
                table.remove(key, of: client)
                model[client]?.remove(key)
                if model[client]?.isEmpty == true { model[client] = nil }
            }
            let most = model.values.map(\.count).max() ?? 0
            if let busiest = table.busiest {
                #expect(busiest.count == most && model[busiest.client]?.count == most, "step \(step)")
            } else {
                #expect(most == 0, "step \(step)")
            }
            #expect(table.connections[client] == model[client], "step \(step)")
            if !(table.connections[client] == model[client]) { return }
        }
        for (client, keys) in model { for key in keys { table.remove(key, of: client) } }
        #expect(table.busiest == nil && table.connections.isEmpty)
        // Removing what is not there changes nothing.
        table.remove(7, of: clients[0])
        #expect(table.busiest == nil)
    }
}
