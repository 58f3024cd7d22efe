import Foundation
import MicroHTTP

/// GET /: the live page. Its HTML, CSS and script are the files in `Resources/` (index.html,
/// live.css, live.js), SwiftPM resources read once from the binary's resource bundle
/// (`progress-exporter_ExporterApp.resources`, beside the executable): no CDN, works offline. The
/// script builds every piece of data into the page with `textContent`, never as markup, and the
/// Content-Security-Policy allows no inline script, so a hostile job or agent id stays text.
enum LivePage {
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]

    /// The three files, read at the first use (the server touches them at start, so a missing
    /// resource bundle stops the start rather than the first page view).
    static let files: (html: [UInt8], script: [UInt8], style: [UInt8]) = {
        let html = String(decoding: resource("index", "html"), as: UTF8.self)
            .replacingOccurrences(of: "{{version}}", with: escape(BuildInfo.version))
        return (Array(html.utf8), resource("live", "js"), resource("live", "css"))
    }()

    private static func resource(_ name: String, _ type: String) -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: type), let data = FileManager.default.contents(atPath: url.path) else {
            fatalError("the live page's \(name).\(type) is missing from \(Bundle.module.bundlePath)")
        }
        return Array(data)
    }

    static func page() -> HTTPResponse {
        secured(.bytes(files.html, contentType: "text/html; charset=utf-8")).adding(header: "Cache-Control", "no-cache")
    }

    static func script() -> HTTPResponse {
        secured(.bytes(files.script, contentType: "text/javascript; charset=utf-8")).adding(header: "Cache-Control", "no-cache")
    }

    static func stylesheet() -> HTTPResponse {
        secured(.bytes(files.style, contentType: "text/css; charset=utf-8")).adding(header: "Cache-Control", "no-cache")
    }

    private static func secured(_ response: HTTPResponse) -> HTTPResponse {
        securityHeaders.reduce(response) { $0.adding(header: $1.0, $1.1) }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
