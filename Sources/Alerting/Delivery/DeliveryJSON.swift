import Foundation

/// The one JSON encoding every receiver sends: sorted keys for stable bodies, slashes left unescaped.
enum DeliveryJSON {
    static func encode(_ value: some Encodable) throws(DeliveryError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch {
            throw DeliveryError(retryable: false, "cannot encode the payload: \(error)")
        }
    }
}
