"""Warming a long-lived process (the warm worker) for provider calls.

Importing an SDK is only part of what a first call costs: the SDKs build
their response models (pydantic schemas) on first use, and every HTTP client
loads the system's CA certificates (tens of milliseconds to over a hundred).
``warm_up`` pays all of that once, by streaming one tiny answer from each SDK
through a loopback server, and keeps one loaded TLS context per certificate
setting, so the worker's forked children start calls at network speed.

Only the worker calls this; an ordinary `mmcli` process never does.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from ..conversation import Message, ModelRef, Part, Request
from .base import ProviderSettings


def _sse(*events: tuple[str | None, dict[str, Any]]) -> bytes:
    out = b""
    for name, data in events:
        if name:
            out += f"event: {name}\n".encode()
        out += b"data: " + json.dumps(data).encode() + b"\n\n"
    return out


_USAGE = {"input_tokens": 1, "output_tokens": 1}
# One short answer in each wire format, just enough to walk the SDK's whole streaming path.
_REPLIES: dict[str, bytes] = {
    "/chat/completions": _sse(
        (None, {"id": "w", "object": "chat.completion.chunk", "created": 0, "model": "w",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": None}]}),
        (None, {"id": "w", "object": "chat.completion.chunk", "created": 0, "model": "w",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        (None, {"id": "w", "object": "chat.completion.chunk", "created": 0, "model": "w", "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
    ) + b"data: [DONE]\n\n",
    "/v1/messages": _sse(
        ("message_start", {"type": "message_start", "message": {
            "id": "w", "type": "message", "role": "assistant", "model": "w", "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": _USAGE}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "ok"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": _USAGE}),
        ("message_stop", {"type": "message_stop"}),
    ),
    ":streamGenerateContent": _sse(
        (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP",
                                "index": 0}],
                "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
                "modelVersion": "w"}),
    ),
}
# The providers whose SDK paths differ; the others (perplexity, ollama, compat, vertex) share them.
_WARMED = {"openai": "/v1", "anthropic": "", "gemini": ""}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = next((reply for tail, reply in _REPLIES.items() if self.path.split("?")[0].endswith(tail)), None)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body or b"")))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def warm_up() -> None:
    """Stream one answer through each SDK from a loopback server; failures only mean a colder first call."""
    keep_tls_contexts()
    rehearse(None)


def rehearse(providers: list[str] | None) -> None:
    """Stream one tiny answer through the SDK of each of ``providers`` (one per SDK; None: every SDK)
    from a loopback server.

    In the worker's spare child this makes the pages those code paths write
    (reference counts, caches, lazily built models) the child's own before a
    caller waits on it.
    """
    from . import registry

    wanted = set()
    for provider in _WARMED if providers is None else providers:
        try:
            wanted.add(registry.provider_class(provider).sdk_module)
        except Exception:  # noqa: BLE001, S112 - an unknown name warms nothing
            continue
    chosen = [warmed for warmed in _WARMED if registry.provider_class(warmed).sdk_module in wanted]
    if not chosen:
        return
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    saved = dict(os.environ)
    try:
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1"
        for provider in chosen:
            settings = ProviderSettings(api_key="warm-up-key", base_url=root + _WARMED[provider], timeout=10, retries=0)
            request = Request(ModelRef(provider, "warm-up"), [Message("user", [Part.of_text("hi")])])
            try:
                for _ in registry.provider_class(provider)(settings).stream(request):
                    pass
            except Exception:  # noqa: BLE001, S112 - a provider that cannot warm up is warmed by its first call
                continue
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.shutdown()  # no thread may outlive the warm-up: the worker forks
        server.server_close()
        thread.join()


def keep_tls_contexts() -> None:
    """Load the CA certificates once per certificate setting instead of once per HTTP client.

    The SDKs build a fresh TLS context for every client they make (google-genai
    two); in the worker, each call gets the ones loaded before the fork, for the
    same arguments and the SSL_CERT_FILE / SSL_CERT_DIR the caller has. A
    context that is built from anything but paths (``cadata``) is built afresh.
    """
    import ssl

    _keep(ssl, "create_default_context")
    try:
        import httpcore2  # the HTTP library under the SDKs when httpx2 is installed
    except ImportError:
        return
    _keep(httpcore2, "default_ssl_context")
    httpcore2.default_ssl_context()


def _keep(module: Any, name: str) -> None:
    build = getattr(module, name, None)
    if build is None or getattr(build, "_mmcli_kept", False):
        return
    kept: dict[tuple[object, ...], Any] = {}

    def keeping(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())), os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        try:
            hash(key)
        except TypeError:
            return build(*args, **kwargs)
        if kwargs.get("cadata") is not None:
            return build(*args, **kwargs)
        if key not in kept:
            kept[key] = build(*args, **kwargs)
        return kept[key]

    keeping._mmcli_kept = True  # type: ignore[attr-defined]
    setattr(module, name, keeping)
