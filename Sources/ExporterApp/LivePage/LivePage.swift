import MicroHTTP

/// GET /: the live page. HTML, CSS and script are served from the binary (no CDN, works offline);
/// the script builds every piece of data into the page with `textContent`, never as markup, and
/// the Content-Security-Policy allows no inline script, so a hostile job or agent id stays text.
enum LivePage {
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]

    static func page() -> HTTPResponse {
        let html = self.html.replacingOccurrences(of: "{{version}}", with: escape(BuildInfo.version))
        return secured(.bytes(Array(html.utf8), contentType: "text/html; charset=utf-8")).adding(header: "Cache-Control", "no-cache")
    }

    static func script() -> HTTPResponse {
        secured(.bytes(Array(Self.scriptSource.utf8), contentType: "text/javascript; charset=utf-8")).adding(header: "Cache-Control", "no-cache")
    }

    static func stylesheet() -> HTTPResponse {
        secured(.bytes(Array(Self.style.utf8), contentType: "text/css; charset=utf-8")).adding(header: "Cache-Control", "no-cache")
    }

    private static func secured(_ response: HTTPResponse) -> HTTPResponse {
        securityHeaders.reduce(response) { $0.adding(header: $1.0, $1.1) }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>progress-exporter</title>
<link rel="stylesheet" href="/static/live.css">
<script src="/static/live.js" defer></script>
</head>
<body>
<header>
  <h1><a href="/">progress-exporter</a></h1>
  <span class="version">{{version}}</span>
  <span id="conn" class="conn">connecting…</span>
  <nav><a href="/metrics">Metrics</a><a href="/api/v1/jobs">Jobs (JSON)</a><a href="/api/v1/alerts">Alerts (JSON)</a><a href="/-/ready">Readiness</a></nav>
</header>
<main id="main">
  <p id="back" class="back" hidden><a href="/">← all jobs</a></p>
  <section id="alerts-section" hidden><h2 id="alerts-title">Alerts</h2><ul id="alerts" class="alerts"></ul></section>
  <section id="jobs" class="cards"></section>
  <p id="no-jobs" class="empty" hidden>No jobs yet. Send events to <code>POST /events</code>.</p>
  <section id="agents-section" hidden>
    <h2 id="agents-title">Agents</h2>
    <div class="toolbar">
      <input id="filter" type="search" placeholder="Filter: agent, item, step…" aria-label="Filter agents">
      <select id="state-filter" aria-label="State"><option value="">every state</option></select>
      <label><input id="problems" type="checkbox"> stalled or failing only</label>
      <button id="prev" type="button">‹ prev</button><button id="next" type="button">next ›</button>
      <span id="agent-count" class="count"></span>
    </div>
    <table class="agents" id="agents">
      <colgroup><col class="w18"><col class="w10"><col class="w15"><col class="w14"><col class="w14"><col class="w11"><col class="w9"><col class="w9"></colgroup>
      <thead><tr>
        <th data-key="agent">Agent</th><th data-key="state">State</th><th data-key="item">Item</th><th data-key="step">Step</th>
        <th data-key="progress_ratio">Progress</th><th data-key="last_progress_timestamp">Last progress</th>
        <th data-key="consecutive_failures" title="failed attempts in a row / in all">Failures</th><th data-key="completed">Done</th>
      </tr></thead>
      <tbody id="agent-rows"></tbody>
    </table>
  </section>
  <section id="failures-section" hidden>
    <h2 id="failures-title">Failures</h2>
    <p id="failure-reasons" class="count"></p>
    <table class="agents" id="failures">
      <thead><tr><th>Time</th><th>Agent</th><th>Item</th><th>Error</th><th>Retryable</th></tr></thead>
      <tbody id="failure-rows"></tbody>
    </table>
    <h3 id="dead-title">Dead-lettered items</h3>
    <table class="agents" id="dead-lettered">
      <thead><tr><th>Time</th><th>Agent</th><th>Item</th><th>Last error</th></tr></thead>
      <tbody id="dead-rows"></tbody>
    </table>
  </section>
</main>
</body>
</html>
"""#
}
