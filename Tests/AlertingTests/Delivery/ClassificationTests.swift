import Foundation
import HTTPClient
import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Classification {
        @Test(arguments: [200, 201, 202, 204, 299])
        func twoHundredsAreDelivered(status: Int) {
            #expect(DeliveryClassification.httpStatus(status, body: Data(), endpoint: "x") == nil)
        }

        @Test(arguments: [500, 502, 503, 504, 429, 408])
        func serverErrorsAndThrottlingAreRetried(status: Int) throws {
            let error = try #require(DeliveryClassification.httpStatus(status, body: Data(), endpoint: "x"))
            #expect(error.retryable)
            #expect(error.statusCode == status)
        }

        @Test(arguments: [400, 401, 403, 404, 413, 422, 301])
        func otherAnswersAreFinal(status: Int) throws {
            let error = try #require(DeliveryClassification.httpStatus(status, body: Data(), endpoint: "x"))
            #expect(!error.retryable)
        }

        @Test func errorKeepsAShortOneLineExcerptOfTheBody() throws {
            let body = Data(("bad alert\n" + String(repeating: "x", count: 1000)).utf8)
            let error = try #require(DeliveryClassification.httpStatus(400, body: body, endpoint: "127.0.0.1/hook"))
            #expect(error.message.hasPrefix("127.0.0.1/hook answered HTTP 400: bad alert xxx"))
            #expect(error.message.count < 300)
        }

        /// Through the real client, so libcurl's own codes decide: refused, not resolved and timed out may
        /// pass; a URL libcurl cannot use (malformed, another scheme) never will.
        @Test(arguments: [
            ("http://127.0.0.1:1/", true), ("http://no-such-host.invalid/", true), ("http://[::1/", false),
            ("ftp://127.0.0.1/", false), ("gopher://127.0.0.1/", false),
        ])
        func transportFailuresAreRetriedUnlessTheURLIsUnusable(url: String, retryable: Bool) {
            let end = HTTPClient().fetch(HTTPClientRequest(url: url, timeout: 5), limit: 0).end
            #expect(DeliveryClassification.transportFailure(end, endpoint: "x", timeout: 5).retryable == retryable, "\(end)")
        }

        @Test func timeoutsAndShutdownAreRetried() {
            #expect(DeliveryClassification.transportFailure(.timedOut, endpoint: "x", timeout: 2).message == "x: timed out after 2.0 s")
            #expect(DeliveryClassification.transportFailure(.cancelled, endpoint: "x", timeout: 2).retryable)
        }

        @Test func endpointsInMessagesCarryNoCredentials() {
            let url = URL(string: "http://user:secret@127.0.0.1:9093/api/v2/alerts?token=secret")!
            #expect(JSONPoster.endpoint(url) == "http://127.0.0.1:9093/api/v2/alerts")
        }

        @Test func basicAuthHeaderIsBase64OfUserColonPassword() {
            #expect(HTTPAuthorization.basic(BasicAuth(username: "am", password: "pw")).headerValue == "Basic YW06cHc=")
            #expect(HTTPAuthorization.bearer(token: "t0k").headerValue == "Bearer t0k")
        }

        @Test func backoffGrowsByTheFactorUpToTheMaximum() {
            let ceiling = RetryBackoff(initial: 0.5, factor: 2, maximum: 30, random: { 1 })
            #expect((1...8).map { ceiling.delay(beforeRetry: $0) } == [0.5, 1, 2, 4, 8, 16, 30, 30])
            #expect(ceiling.delay(beforeRetry: 10_000) == 30)
            let floor = RetryBackoff(random: { 0 })
            #expect(floor.delay(beforeRetry: 5) == 0)
            let half = RetryBackoff(random: { 0.5 })
            #expect(half.delay(beforeRetry: 3) == 1)
        }

        @Test func receiversRefuseConfigsThatCannotWork() {
            #expect(throws: ReceiverConfigError.self) { try WebhookReceiver(name: "hook", config: WebhookConfig(url: "127.0.0.1:8080/hook")) }
            #expect(throws: ReceiverConfigError.self) { try WebhookReceiver(name: "hook", config: WebhookConfig(url: "ftp://host/x")) }
            #expect(throws: ReceiverConfigError.self) { try AlertmanagerReceiver(name: "am", config: AlertmanagerConfig(urls: [])) }
            #expect(throws: ReceiverConfigError.self) {
                try AlertmanagerReceiver(name: "am", config: AlertmanagerConfig(urls: ["http://127.0.0.1:9093"], timeout: 0))
            }
            #expect(throws: ReceiverConfigError.self) { try CommandReceiver(name: "page", config: CommandConfig(argv: [])) }
        }
    }
}
