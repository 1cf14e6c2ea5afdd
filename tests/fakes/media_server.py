"""A small web server for media URLs: a PNG, a server that trickles bytes,
a redirect loop, a redirect to ftp://, and a record of the paths asked for
(query strings included, so a test can see a presigned token was sent)."""

from __future__ import annotations

import http.server
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 160, 90)).save(buffer, "PNG")
    return buffer.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
        self.server.paths.append(self.path)
        route = self.path.split("?", 1)[0]
        if route == "/loop":
            self._redirect("/loop")
        elif route == "/to-ftp":
            self._redirect("ftp://127.0.0.1/secret.png")
        elif route == "/slow.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for byte in self.server.png:  # a byte every 0.2 s: each read is quick, the whole is not
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        else:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.server.png)))
            self.end_headers()
            self.wfile.write(self.server.png)

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    paths: list[str]
    png: bytes


@contextmanager
def media_server() -> Iterator[tuple[str, list[str]]]:
    """(base URL, paths requested) of a server running for the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.paths = []
    server.png = png_bytes()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.paths
    finally:
        server.shutdown()
        server.server_close()
