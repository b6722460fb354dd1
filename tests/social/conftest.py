"""A loopback HTTP server for the social listening tests: it serves the feed files and replays
the recorded Mastodon responses under tests/social/recordings/ the way a Mastodon server
answers (``min_id``/``since_id`` and ``limit`` honoured, newest first), and notes every request.
No mock: Kreis reaches it over TCP through kreis.core.netguard like any server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kreis.social.models import Keyword, KeywordKind

RECORDINGS = Path(__file__).parent / "recordings"


def _statuses(name: str) -> list[dict]:
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


class ReplayServer:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.tag_statuses = _statuses("mastodon_tag_kreiswerk.json")
        self.search = json.loads((RECORDINGS / "mastodon_search_kreiswerk.json").read_text())
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish_later(self) -> None:
        """A new status appears on the server (the next poll must bring only it)."""
        self.tag_statuses = _statuses("mastodon_tag_kreiswerk_later.json") + self.tag_statuses

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str, headers=None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (the size limit): as it should

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                newer = query.get("min_id") or query.get("since_id") or ""
                limit = int(query.get("limit", "20"))

                def page(statuses):
                    kept = [s for s in statuses if not newer or int(s["id"]) > int(newer)]
                    return kept[-limit:] if query.get("min_id") else kept[:limit]

                if parts.path == "/api/v1/timelines/tag/kreiswerk":
                    body = json.dumps(page(server.tag_statuses)).encode()
                    self._send(200, body, "application/json; charset=utf-8")
                elif parts.path == "/api/v2/search" and query.get("type") == "statuses":
                    data = dict(server.search, statuses=page(server.search["statuses"]))
                    self._send(200, json.dumps(data).encode(), "application/json")
                elif parts.path in ("/feed.rss", "/feed.atom"):
                    name = "feed_rss.xml" if parts.path == "/feed.rss" else "feed_atom.xml"
                    tag = f'"{name}-1"'
                    if self.headers.get("If-None-Match") == tag:
                        self._send(304, b"", "text/plain")
                        return
                    body = (RECORDINGS / name).read_bytes()
                    self._send(200, body, "application/rss+xml", {"ETag": tag})
                elif parts.path == "/big.rss":
                    self._send(200, b"<rss>" + b"x" * (6 * 1024 * 1024), "application/rss+xml")
                else:
                    self._send(404, b'{"error":"Record not found"}', "application/json")

        return Handler

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def replay_server():
    with ReplayServer() as server:
        yield server


@pytest.fixture
def keywords(db):
    return {
        "brand": Keyword.objects.create(term="Kreiswerk", kind=KeywordKind.BRAND),
        "competitor": Keyword.objects.create(term="Müller Pumpen", kind=KeywordKind.COMPETITOR),
    }
