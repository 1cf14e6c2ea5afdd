"""Fake endpoints for transcription tests.

- The Gemini file API as google-genai speaks it: a resumable upload
  (``POST /upload/{version}/files`` with ``X-Goog-Upload-Protocol: resumable``
  and ``X-Goog-Upload-Command: start`` answers with an ``X-Goog-Upload-URL``;
  the bytes are then POSTed there with ``upload, finalize``), then
  ``GET``/``DELETE /{version}/files/{id}``. ``FakeGemini.route`` hands these
  paths to ``files_route``.
- ``answer_from_audio(fake_openai)``: transcriptions whose content is read
  from the uploaded WAV itself (its length and the sample level it starts
  at), so a test can tell which piece of a long recording each request
  carried, however the concurrent requests interleave.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import wave
from typing import TYPE_CHECKING, Any

from .recording import FormFile, RecordedRequest

if TYPE_CHECKING:
    from .exchange import Exchange
    from .openai import FakeOpenAI
    from .server import FakeServer, Handler

_UPLOAD = re.compile(r"^/upload/(?P<version>v1|v1beta|v1alpha)/files$")
_FILE = re.compile(r"^/(?P<version>v1|v1beta|v1alpha)/files/(?P<id>[A-Za-z0-9_-]+)$")


class FileStore:
    """What the fake Gemini file API holds: uploads in progress and finished files."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.data: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.counter = 0


def file_store(fake: FakeServer) -> FileStore:
    store = getattr(fake, "_file_store", None)
    if store is None:
        store = FileStore()
        fake._file_store = store  # type: ignore[attr-defined]
    return store


def files_route(fake: FakeServer, request: RecordedRequest) -> Handler | None:
    """The handler for a file-API request, or None when the path is not one."""
    if request.method == "POST" and _UPLOAD.match(request.path):
        if "upload_id" in request.query:
            return lambda req, exchange: _upload_bytes(fake, req, exchange)
        return lambda req, exchange: _start_upload(fake, req, exchange)
    match = _FILE.match(request.path)
    if match and request.method == "GET":
        return lambda req, exchange: _get_file(fake, match["id"], exchange)
    if match and request.method == "DELETE":
        return lambda req, exchange: _delete_file(fake, match["id"], exchange)
    return None


def _start_upload(fake: FakeServer, request: RecordedRequest, exchange: Exchange) -> None:
    headers = request.headers
    if headers.get("x-goog-upload-protocol") != "resumable" or headers.get("x-goog-upload-command") != "start":
        exchange.send_json(400, {"error": {"code": 400, "message": "Expected a resumable upload start.",
                                           "status": "INVALID_ARGUMENT"}})
        return
    store = file_store(fake)
    with store.lock:
        store.counter += 1
        upload_id = f"up{store.counter}"
        described = ((request.json or {}).get("file") or {})
        store.sessions[upload_id] = {
            "size": int(headers.get("x-goog-upload-header-content-length", "0")),
            "mime_type": headers.get("x-goog-upload-header-content-type", ""),
            "display_name": described.get("displayName"),
            "received": bytearray(),
        }
    version = _UPLOAD.match(request.path)["version"]  # type: ignore[index]
    url = f"{fake.root}/upload/{version}/files?upload_id={upload_id}&upload_protocol=resumable"
    exchange.send(200, b"", "text/plain; charset=utf-8",
                  {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})


def _upload_bytes(fake: FakeServer, request: RecordedRequest, exchange: Exchange) -> None:
    store = file_store(fake)
    upload_id = request.query["upload_id"]
    command = request.headers.get("x-goog-upload-command", "")
    with store.lock:
        session = store.sessions.get(upload_id)
        if session is None:
            exchange.send_json(404, {"error": {"code": 404, "message": "No such upload.", "status": "NOT_FOUND"}})
            return
        if int(request.headers.get("x-goog-upload-offset", "-1")) != len(session["received"]):
            exchange.send_json(400, {"error": {"code": 400, "message": "Wrong upload offset.",
                                               "status": "INVALID_ARGUMENT"}})
            return
        session["received"] += request.body
        if "finalize" not in command:
            exchange.send(200, b"", "text/plain; charset=utf-8", {"X-Goog-Upload-Status": "active"})
            return
        file_id = f"file{upload_id[2:]}"
        data = bytes(session["received"])
        store.data[file_id] = data
        store.files[file_id] = {
            "name": f"files/{file_id}",
            "displayName": session["display_name"],
            "mimeType": session["mime_type"],
            "sizeBytes": str(len(data)),
            "createTime": "2025-01-01T00:00:00Z",
            "updateTime": "2025-01-01T00:00:00Z",
            "expirationTime": "2025-01-03T00:00:00Z",
            "sha256Hash": "",
            "uri": f"{fake.root}/v1beta/files/{file_id}",
            "state": "ACTIVE",
            "source": "UPLOADED",
        }
        body = {"file": store.files[file_id]}
    exchange.send_json(200, body, {"X-Goog-Upload-Status": "final"})


def _get_file(fake: FakeServer, file_id: str, exchange: Exchange) -> None:
    store = file_store(fake)
    with store.lock:
        found = store.files.get(file_id)
    if found is None:
        exchange.send_json(404, {"error": {"code": 404, "message": "File not found.", "status": "NOT_FOUND"}})
    else:
        exchange.send_json(200, found)


def _delete_file(fake: FakeServer, file_id: str, exchange: Exchange) -> None:
    store = file_store(fake)
    with store.lock:
        store.files.pop(file_id, None)
        store.deleted.append(file_id)
    exchange.send_json(200, {})


# -- OpenAI transcriptions that depend on the audio sent -----------------------------------------


def wav_facts(data: bytes) -> tuple[float, int]:
    """Duration in seconds, and the first sample's value, of a 16-bit mono WAV."""
    with wave.open(io.BytesIO(data)) as reader:
        duration = reader.getnframes() / reader.getframerate()
        first = reader.readframes(1)
    return duration, struct.unpack("<h", first[:2])[0] if len(first) >= 2 else 0


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    return (f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}"
            f"{separator}{millis % 1000:03d}")


def answer_from_audio(fake: FakeOpenAI) -> None:
    """Make ``fake`` answer each transcription with "level N" over the audio it received.

    One cue from 0.5 s to 0.5 s before the end of the uploaded piece, whose
    text names the level of its first sample: a recording whose level steps
    up every second shows, in the joined transcript, where each piece began.
    """

    def serve(request: RecordedRequest, exchange: Exchange) -> None:
        upload = request.form.get("file")
        if not isinstance(upload, FormFile):
            fake.send_error(exchange, 400, "Could not parse multipart form: no file.")
            return
        duration, level = wav_facts(upload.data)
        text = f"level {level}"
        start, end = 0.5, max(0.6, duration - 0.5)
        response_format = str(request.form.get("response_format", "json"))
        if response_format == "srt":
            body = f"1\n{_stamp(start, ',')} --> {_stamp(end, ',')}\n{text}\n\n"
        elif response_format == "vtt":
            body = f"WEBVTT\n\n{_stamp(start, '.')} --> {_stamp(end, '.')}\n{text}\n\n"
        elif response_format == "text":
            body = text + "\n"
        else:
            document: dict[str, Any] = {"text": text, "usage": {"type": "duration", "seconds": duration}}
            if response_format == "verbose_json":
                document = {"task": "transcribe", "language": "english", "duration": duration, "text": text,
                            "segments": [{"id": 0, "seek": 0, "start": start, "end": end, "text": text,
                                          "tokens": [1], "temperature": 0.0, "avg_logprob": -0.1,
                                          "compression_ratio": 1.0, "no_speech_prob": 0.0}]}
            exchange.send_json(200, document)
            return
        exchange.send(200, body.encode("utf-8"), "text/plain; charset=utf-8")

    fake._transcription = serve  # type: ignore[method-assign]
