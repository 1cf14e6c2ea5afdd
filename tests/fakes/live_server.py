"""The common machinery of the fake Live/Realtime servers: a WebSocket server on
127.0.0.1 (TLS when given a certificate) in its own event loop and thread, that
records every connection and every client message with its arrival time.

Times are ``time.monotonic()``, one clock for every process on the machine, so a
test or benchmark can compare what the fake saw with what mmcli reports.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LiveCall:
    """One WebSocket connection as the fake saw it."""

    path: str
    headers: dict[str, str]
    messages: list[dict[str, Any]] = field(default_factory=list)  # client messages, parsed
    times: list[float] = field(default_factory=list)  # arrival time of each message
    closed_by_client: bool = False

    def of(self, key: str) -> list[dict[str, Any]]:
        """The messages with this top-level key (Gemini) or type (OpenAI)."""
        return [m for m in self.messages if key in m or m.get("type") == key]


class LiveFakeServer:
    """Subclasses implement ``async handle(ws, call)`` for their protocol."""

    def __init__(self, *, certificate: tuple[Path, Path] | None = None):
        self.certificate = certificate
        self.calls: list[LiveCall] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> LiveFakeServer:
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake live server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._open())
        self._ready.set()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    async def _open(self) -> None:
        from websockets.asyncio.server import serve

        context = None
        if self.certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.certificate[0]), str(self.certificate[1]))
        self._server = await serve(
            self._connection, "127.0.0.1", 0, ssl=context, process_request=self.process_request,
            max_size=None, compression=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def process_request(self, connection: Any, request: Any) -> Any:
        """Refuse the handshake (return a response) or accept it (None)."""
        return None

    async def _connection(self, ws: Any) -> None:
        call = LiveCall(path=ws.request.path, headers={k.lower(): v for k, v in ws.request.headers.raw_items()})
        self.calls.append(call)
        try:
            await self.handle(ws, call)
        except Exception as exc:  # noqa: BLE001 - a client hanging up is part of the tests
            from websockets.exceptions import ConnectionClosed

            if isinstance(exc, ConnectionClosed):
                call.closed_by_client = True
                return
            raise

    async def handle(self, ws: Any, call: LiveCall) -> None:
        raise NotImplementedError

    async def receive(self, ws: Any, call: LiveCall) -> dict[str, Any]:
        raw = await ws.recv()
        message = json.loads(raw)
        call.messages.append(message)
        call.times.append(time.monotonic())
        return message

    @staticmethod
    async def send(ws: Any, message: dict[str, Any]) -> None:
        await ws.send(json.dumps(message))


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost): (cert.pem, key.pem).

    Made with the ``cryptography`` package when it is installed, else with the openssl CLI.
    """
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _openssl_certificate(folder)
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "live-cert.pem", folder / "live-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _openssl_certificate(folder: Path) -> tuple[Path, Path]:
    import subprocess

    cert_path, key_path = folder / "live-cert.pem", folder / "live-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key_path), "-out", str(cert_path), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert_path, key_path
