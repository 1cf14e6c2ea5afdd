"""Writing one HTTP response, including chunked streams that can be cut."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any


class Aborted(Exception):
    """The fake dropped the connection on purpose (cut stream, hang, shutdown)."""


class Exchange:
    """The response side of one request, owned by one handler thread."""

    def __init__(self, handler: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        self._handler = handler
        self._stopping = stopping
        self.streaming = False

    def _headers(self, status: int, content_type: str, headers: dict[str, str] | None) -> None:
        self._handler.send_response(status)
        self._handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self._handler.send_header(name, value)

    def send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._headers(status, content_type, headers)
        self._handler.send_header("Content-Length", str(len(body)))
        self._handler.end_headers()
        self._handler.wfile.write(body)
        self._handler.wfile.flush()

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send(status, body, "application/json", headers)

    def start_stream(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        # Chunked encoding, so that a connection dropped mid-stream is a protocol
        # error the client notices, not an ordinary end of body.
        self._headers(200, content_type, headers)
        self._handler.send_header("Transfer-Encoding", "chunked")
        self._handler.send_header("Cache-Control", "no-cache")
        self._handler.end_headers()
        self._handler.wfile.flush()
        self.streaming = True

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self._handler.wfile.flush()

    def end_stream(self) -> None:
        self._handler.wfile.write(b"0\r\n\r\n")
        self._handler.wfile.flush()
        self.streaming = False

    def pause(self, seconds: float) -> None:
        """Sleep, but give up at once when the server is stopping."""
        if seconds > 0 and self._stopping.wait(seconds):
            self.abort()

    def hang(self) -> None:
        self._stopping.wait()
        self.abort()

    def abort(self) -> None:
        """Drop the connection without finishing the response."""
        self._handler.close_connection = True
        try:
            self._handler.wfile.flush()
            self._handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise Aborted
