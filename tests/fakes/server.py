"""The common machinery of every fake provider: an HTTP server on 127.0.0.1
in a daemon thread that records requests and serves scripted replies."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .cassettes import Interaction, load_cassette
from .exchange import Aborted, Exchange
from .recording import RecordedRequest, parse_json, parse_multipart
from .reply import Reply
from .sse import DELTA, POST, Frame, split_sse_events, sse

Handler = Callable[[RecordedRequest, Exchange], None]
FramesMaker = Callable[[Reply, RecordedRequest, str], Iterable[Frame]]
BodyMaker = Callable[[Reply, RecordedRequest, str], Any]


@dataclass(frozen=True)
class Replay:
    """A queued recorded response, served in place of a scripted Reply."""

    interaction: Interaction


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (Ctrl-C tests, closed streams) is expected; a bug
        # in a fake is not, and still gets its traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as the real APIs
    # Small SSE writes must leave at once, or Nagle + delayed ACK skews timing tests by ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if os.environ.get("MMCLI_FAKE_LOG"):
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self.server.fake._dispatch(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return bytes(data)
            data += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class FakeServer:
    """Base class; a provider subclass defines routes and its wire formats."""

    provider = "Fake"
    stream_content_type = "text/event-stream; charset=utf-8"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.default = Reply(text=f"Hello from the fake {self.provider}.")
        self._queue: deque[Reply | Replay] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # shutdown() waits up to one poll
            name=f"fake-{self.provider.lower()}",
            daemon=True,
        )
        self._started = False

    # -- lifecycle -------------------------------------------------------

    def start(self) -> FakeServer:
        self._thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving; hanging and streaming requests are dropped at once."""
        self._stopping.set()
        if self._started:
            self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._started:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start() if not self._started else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def default_text(self) -> str:
        """The answer text of a Reply whose ``text`` is None."""
        return self.default.text or f"Hello from the fake {self.provider}."

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root

    # -- scripting -------------------------------------------------------

    def queue(self, *replies: Reply) -> None:
        """Serve these to the next generation requests, in order, then ``default``."""
        with self._lock:
            self._queue.extend(replies)

    def replay(self, cassette: str | os.PathLike[str], index: int = 0) -> Interaction:
        """Serve the next generation request with a recorded response body."""
        interaction = load_cassette(cassette)[index]
        with self._lock:
            self._queue.append(Replay(interaction))
        return interaction

    def _next_reply(self) -> Reply | Replay:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    # -- inspection ------------------------------------------------------

    @property
    def generation_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if self.is_generation(r)]

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def wait_for_requests(self, count: int = 1, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until ``count`` requests arrived (for tests driving a pty)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.provider} fake got {len(self.requests)} of {count} requests")
                self._arrived.wait(remaining)
            return list(self.requests)

    def is_generation(self, request: RecordedRequest) -> bool:
        return self.route(request) is not None and request.method == "POST"

    # -- provider hooks --------------------------------------------------

    def route(self, request: RecordedRequest) -> Handler | None:
        raise NotImplementedError

    def error_body(self, status: int, message: str, error_type: str | None) -> Any:
        raise NotImplementedError

    def stream_frames(self, reply: Reply, request: RecordedRequest, model: str) -> Iterable[Frame]:
        raise NotImplementedError

    def complete_body(self, reply: Reply, request: RecordedRequest, model: str) -> Any:
        raise NotImplementedError

    def stream_error_event(self, status: int, message: str, error_type: str | None) -> bytes:
        return sse(self.error_body(status, message, error_type))

    def replay_stream(self, interaction: Interaction, request: RecordedRequest) -> list[bytes]:
        return split_sse_events(interaction.body)

    # -- serving ---------------------------------------------------------

    def generate(
        self,
        request: RecordedRequest,
        exchange: Exchange,
        *,
        stream: bool,
        model: str,
        frames: FramesMaker | None = None,
        body: BodyMaker | None = None,
    ) -> None:
        """Answer one generation request from the queue (or the default).

        ``frames``/``body`` override the provider's main wire shape for
        secondary endpoints (OpenAI's Responses API, transcriptions).
        """
        item = self._next_reply()
        if isinstance(item, Replay):
            self._serve_replay(item.interaction, request, exchange, stream)
            return
        reply = item
        if reply.hang:
            exchange.hang()
        exchange.pause(reply.delay_s)
        if reply.status != 200:
            self.send_error(exchange, reply.status, reply.error_message, reply.error_type, reply)
        elif stream:
            exchange.start_stream(self.stream_content_type, reply.headers)
            self._write_frames(exchange, reply, (frames or self.stream_frames)(reply, request, model))
        else:
            payload = (body or self.complete_body)(reply, request, model)
            if isinstance(payload, str):
                exchange.send(200, payload.encode("utf-8"), "text/plain; charset=utf-8", reply.headers)
            else:
                exchange.send_json(200, payload, reply.headers)

    def send_error(
        self,
        exchange: Exchange,
        status: int,
        message: str | None = None,
        error_type: str | None = None,
        reply: Reply | None = None,
    ) -> None:
        headers = dict(reply.headers) if reply else {}
        if reply is not None and reply.retry_after is not None:
            headers["Retry-After"] = str(reply.retry_after)
        text = message or f"Fake {self.provider} error {status}."
        exchange.send_json(status, self.error_body(status, text, error_type), headers)

    def _write_frames(self, exchange: Exchange, reply: Reply, frames: Iterable[Frame]) -> None:
        sent = 0
        cut_at = reply.cut_after_chunks
        if cut_at is None and reply.stream_error is not None:
            cut_at = 0
        for kind, data in frames:
            if cut_at is not None and (kind == POST or (kind == DELTA and sent >= cut_at)):
                if reply.stream_error is None:
                    exchange.abort()
                message = reply.error_message or f"Fake {self.provider} error in the stream."
                exchange.write(self.stream_error_event(reply.stream_error, message, reply.error_type))
                break
            if kind == DELTA:
                if sent:
                    exchange.pause(reply.chunk_delay_s)
                sent += 1
            exchange.write(data)
        exchange.end_stream()

    def _serve_replay(
        self, interaction: Interaction, request: RecordedRequest, exchange: Exchange, stream: bool
    ) -> None:
        if interaction.status != 200 or not stream:
            exchange.send(interaction.status, interaction.body, interaction.content_type)
            return
        exchange.start_stream(self.stream_content_type)
        for event in self.replay_stream(interaction, request):
            exchange.write(event)
        exchange.end_stream()

    def _dispatch(self, handler: _RequestHandler) -> None:
        url = urlsplit(handler.path)
        body = _read_body(handler)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        request = RecordedRequest(
            method=handler.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            json=parse_json(body),
            form=parse_multipart(headers.get("content-type", ""), body),
        )
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
        exchange = Exchange(handler, self._stopping)
        try:
            target = self.route(request)
            if target is None:
                self.send_error(exchange, 404, f"No route for {request.method} {request.path} in the fake.")
            else:
                target(request, exchange)
        except (Aborted, OSError):
            handler.close_connection = True

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
