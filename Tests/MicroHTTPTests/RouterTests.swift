import Testing
import MicroHTTP

@Suite("Router")
struct RouterTests {
    let router: Router = {
        var router = Router()
        router.route("GET", "/metrics") { _ in .text("metrics") }
        router.route("POST", "/events") { request in .text("got \(request.body.count)", status: 202) }
        router.route("GET", "/api/v1/jobs/:job") { request in .text("job \(request.pathParameters["job"] ?? "?")") }
        router.route("DELETE", "/api/v1/jobs/:job") { _ in .text("deleted") }
        return router
    }()

    @Test func matchesMethodAndPath() {
        let response = router.handle(HTTPRequest(method: "GET", path: "/metrics"))
        #expect(response.status == 200)
        #expect(response.bodyBytes == Array("metrics".utf8))
        #expect(response.header("content-type") == "text/plain; charset=utf-8")
    }

    @Test func fillsPathParameters() {
        let response = router.handle(HTTPRequest(method: "GET", path: "/api/v1/jobs/render-42"))
        #expect(response.bodyBytes == Array("job render-42".utf8))
    }

    @Test func parameterNeedsANonEmptySegment() {
        #expect(router.handle(HTTPRequest(method: "GET", path: "/api/v1/jobs/")).status == 404)
        #expect(router.handle(HTTPRequest(method: "GET", path: "/api/v1/jobs/a/b")).status == 404)
    }

    @Test func unknownPathIs404WithAPointerToTheIndex() {
        let response = router.handle(HTTPRequest(method: "GET", path: "/nope"))
        #expect(response.status == 404)
        #expect(response.bodyBytes == Array("no route for /nope; see / for the endpoints\n".utf8))
    }

    @Test func wrongMethodIs405WithAllow() {
        let response = router.handle(HTTPRequest(method: "POST", path: "/metrics"))
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, HEAD")
        #expect(response.bodyBytes == Array("method POST not allowed for /metrics; allowed: GET, HEAD\n".utf8))
    }

    @Test func allowListsEveryMethodOfThePath() {
        let response = router.handle(HTTPRequest(method: "PUT", path: "/api/v1/jobs/a"))
        #expect(response.header("Allow") == "GET, DELETE, HEAD")
    }

    @Test func headIsAnsweredByGet() {
        let response = router.handle(HTTPRequest(method: "HEAD", path: "/metrics"))
        #expect(response.status == 200)
    }

    @Test func requestHeadersAreCaseInsensitive() {
        let request = HTTPRequest(method: "GET", path: "/", headers: ["Accept": "text/plain"])
        #expect(request.header("accept") == "text/plain")
        #expect(request.header("ACCEPT") == "text/plain")
    }
}
