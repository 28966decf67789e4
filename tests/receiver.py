"""A local HTTP endpoint for tests: records every POST (path, JSON body) and answers it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Decides the status of a response from the request's path (200 unless told otherwise).
Responder = Callable[[str], int]


class PostRecorder:
    """``posts`` holds (path, parsed body) for every POST answered with a 2xx."""

    def __init__(self, respond: Responder = lambda path: 200) -> None:
        self.posts: list[tuple[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = respond(self.path)
                if 200 <= status < 300:
                    recorder.posts.append((self.path, json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll, so that close() (shutdown) returns at once rather than after half a second.
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
