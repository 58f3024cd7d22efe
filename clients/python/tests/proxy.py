"""An HTTP proxy in front of the real exporter that records every POST body and can lose answers:
it forwards a request, then closes the connection without answering, as a network that fails
after the exporter applied the events would."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingProxy:
    def __init__(self, exporter_url: str, lose_answers: int = 0) -> None:
        self.exporter_url = exporter_url
        self.lose_answers = lose_answers
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.bodies.append(body)
                    lose = proxy.lose_answers > 0
                    proxy.lose_answers -= lose
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "authorization")}
                request = urllib.request.Request(proxy.exporter_url + self.path, data=body,
                                                 headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        status, answer_body = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, answer_body = error.code, error.read()
                if lose:
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer_body)))
                self.end_headers()
                self.wfile.write(answer_body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[dict]:
        """Every event of every recorded body, in order (a body sent again appears again)."""
        with self.lock:
            return [json.loads(line) for body in self.bodies for line in body.splitlines()]

    def __enter__(self) -> RecordingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
