"""A static stand-in for gridgeo: it replays the answers it recorded from the real server.

While recording, each GET is passed on to gridgeo and its answer kept in memory (status,
content type, body, with gridgeo's address in the body turned into this server's, so a
``next`` link comes back here). When replaying, the same request gets the kept answer,
with no database and no pygeoapi behind it: what a client spends against it is the
client's own floor. scripts/bench_qgis_first_draw.py draws the same project against both.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Passed on as the client sent them; Accept-Encoding is not, so bodies can be rewritten.
FORWARDED_HEADERS = ("Accept", "Accept-Language", "Authorization")


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass
class Recording:
    """Answers by request (path with query, Accept); ``upstream`` None: replay only."""

    own_url: str
    upstream: str | None = None
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        key = (path, headers.get("Accept", ""))
        with self.lock:
            kept = self.answers.get(key)
        if kept is not None:
            return kept
        if self.upstream is None:
            self.missed.append(path)
            return Answer(404, "text/plain", b"not recorded\n")
        fetched = self.fetch(path, headers)
        with self.lock:
            self.answers[key] = fetched
        return fetched

    def fetch(self, path: str, headers: dict[str, str]) -> Answer:
        assert self.upstream is not None
        sent = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
        request = urllib.request.Request(self.upstream + path, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, kind, body = (response.status, response.headers.get_content_type(),
                                      response.read())
        except urllib.error.HTTPError as refused:
            status, kind, body = refused.code, refused.headers.get_content_type(), refused.read()
        return Answer(status, kind, body.replace(self.upstream.encode(), self.own_url.encode()))


def handler_for(recording: Recording) -> type[BaseHTTPRequestHandler]:
    class Replay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn gives QGIS

        def do_GET(self) -> None:
            answer = recording.answer(self.path, dict(self.headers.items()))
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the bench prints what matters
    return Replay


def start(upstream: str) -> tuple[ThreadingHTTPServer, Recording]:
    """A recording stand-in for ``upstream`` on a free port, serving in a daemon thread."""
    recording = Recording("", upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(recording))
    recording.own_url = f"http://127.0.0.1:{server.server_address[1]}"
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, recording
