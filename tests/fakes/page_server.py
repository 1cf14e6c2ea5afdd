"""A small web server for fragment URLs: each path serves the given Content-Type and bytes,
and every path asked for (query string included) is recorded."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
        self.server.paths.append(self.path)
        page = self.server.pages.get(self.path.split("?", 1)[0])
        if page is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        content_type, body = page
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, tuple[str, bytes]]
    paths: list[str]


@contextmanager
def page_server(pages: dict[str, tuple[str, bytes]]) -> Iterator[tuple[str, list[str]]]:
    """``with page_server({"/a.html": ("text/html", b"...")}) as (base_url, paths):``"""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.pages = pages
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.paths
    finally:
        server.shutdown()
        server.server_close()
