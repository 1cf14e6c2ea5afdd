"""Load the recorded provider traffic under tests/fixtures/recorded.

The cassettes are vcrpy YAML; PyYAML's safe loader understands their
``!!binary`` bodies, which are gzip bytes when the response was compressed.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_TESTS_ROOT = Path(__file__).resolve().parents[1]

# Folders named after the fake server that replays them; ``more/`` holds single
# cases from mixed providers, replayed by name rather than enumerated.
_PROVIDER_FOLDERS = ("anthropic", "gemini", "openai")


def recorded_dir() -> Path:
    """Where the cassettes live: ``tests/fixtures/recorded`` inside the checkout (sources in SOURCES.md).

    MMCLI_RECORDED_DIR points elsewhere, e.g. at a newer recording being tried out.
    """
    override = os.environ.get("MMCLI_RECORDED_DIR")
    if override:
        return Path(override)
    return _TESTS_ROOT / "fixtures" / "recorded"


@dataclass(frozen=True)
class Interaction:
    """One recorded request/response pair, response body already decompressed."""

    method: str
    uri: str
    request_body: str
    status: int
    headers: dict[str, str]  # names lower-cased, first value only
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/json")

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.startswith("text/event-stream")

    @property
    def is_streamed_generation(self) -> bool:
        """A streamed model answer, in whatever framing the provider recorded it."""
        return self.method == "POST" and (
            self.is_event_stream or self.path.endswith(":streamGenerateContent")
        )


def resolve(path: str | os.PathLike[str]) -> Path:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return recorded_dir() / candidate


def _body_bytes(raw: Any, headers: dict[str, str]) -> bytes:
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw or b"")
    # Recorded gzip bodies are served decompressed; the fake sets its own headers.
    if headers.get("content-encoding") == "gzip" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def _raw_body(message: dict[str, Any]) -> Any:
    """A message's body as recorded: vcrpy's string, Ruby VCR's {encoding, string}, pydantic-ai's parsed_body."""
    if "parsed_body" in message:
        return json.dumps(message["parsed_body"])
    body = message.get("body") or ""
    return body.get("string") if isinstance(body, dict) else body


def _interaction(entry: dict[str, Any]) -> Interaction:
    request, response = entry["request"], entry["response"]
    headers = {
        name.lower(): (values[0] if isinstance(values, list) else str(values))
        for name, values in (response.get("headers") or {}).items()
    }
    raw = _raw_body(response)
    request_body = _raw_body(request) or ""
    return Interaction(
        method=str(request["method"]).upper(),
        uri=str(request["uri"]),
        request_body=request_body if isinstance(request_body, str) else bytes(request_body).decode("utf-8", "replace"),
        status=int(response["status"]["code"]),
        headers=headers,
        body=_body_bytes(raw, headers),
    )


@cache
def _load(path: Path) -> tuple[Interaction, ...]:
    import yaml  # a test dependency; imported here so the fakes work without it

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    # vcrpy writes "interactions"; Ruby's VCR (one file in more/) writes "http_interactions".
    entries = document.get("interactions") or document.get("http_interactions") or []
    return tuple(_interaction(entry) for entry in entries)


def load_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    return list(_load(resolve(path)))


def every_cassette() -> list[Path]:
    """Every recorded file, ``more/`` included (vcrpy and Ruby VCR YAML)."""
    root = recorded_dir()
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))


def streamed_generations(provider: str | None = None) -> list[tuple[Path, int]]:
    """Every (cassette, index) holding a streamed generation, for parametrizing tests."""
    root = recorded_dir()
    folders = [root / name for name in ((provider,) if provider else _PROVIDER_FOLDERS)]
    found: list[tuple[Path, int]] = []
    for folder in folders:
        for cassette in sorted(folder.glob("*.yaml")):
            for index, interaction in enumerate(_load(cassette)):
                if interaction.is_streamed_generation:
                    found.append((cassette, index))
    return found
