"""Provider-neutral conversation data: the one shape every command builds and
every provider translates.

Kept free of SDK and Pillow imports so that building a request (and hashing it
for the cache) costs nothing at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from .digest import sha256_hex

# Bump when media preparation changes what a provider is sent for the same file
# (resizing, re-encoding), so answers about the old rendition are not reused.
MEDIA_PREPARATION_VERSION = 2  # 2: audio converted by PyAV (16 kHz mono MP3), video frames

# The Request.options key holding a --schema's JSON Schema (so the cache key covers it);
# mmcli.schema reads and checks it, providers map it to their structured output.
SCHEMA_OPTION = "schema"

PartKind = Literal["text", "image", "audio", "document", "video"]
Role = Literal["user", "assistant"]


@dataclass(frozen=True, eq=False)
class Part:
    """One piece of a message: text, or a media attachment carried as bytes.

    Media parts know their own content hash, which is how sessions store them
    once and how the cache key covers them without holding the bytes.
    """

    kind: PartKind
    text: str = ""
    data: bytes = b""
    mime_type: str = ""
    source: str = ""  # the path, URL or "-" the user gave; shown in messages, never sent

    @cached_property
    def sha256(self) -> str:
        payload = self.text.encode() if self.kind == "text" else self.data
        return sha256_hex(payload)

    @classmethod
    def of_text(cls, text: str) -> Part:
        return cls(kind="text", text=text)

    @property
    def is_media(self) -> bool:
        return self.kind != "text"

    @property
    def is_fragment(self) -> bool:
        """Text context from a file, directory or page (`-f`): sent as text, stored by hash."""
        return self.kind == "text" and bool(self.source)


@dataclass
class Message:
    role: Role
    parts: list[Part]
    # True when the answer did not end normally (cut, refused, blocked, broken,
    # interrupted); kept so the session shows it, and so the cache never stores it.
    incomplete: bool = False
    # How an answer ended (DESIGN.md, "How an answer ends"): "stop" for a whole
    # answer; None for user messages and answers stored before endings were kept.
    finish_reason: str | None = None

    def __post_init__(self) -> None:
        if self.finish_reason not in (None, "stop"):
            self.incomplete = True

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if p.kind == "text")

    @property
    def prompt_text(self) -> str:
        """What the user typed (or piped), without the fragments sent ahead of it."""
        return "".join(p.text for p in self.parts if p.kind == "text" and not p.is_fragment)

    def media_kinds(self) -> set[str]:
        return {p.kind for p in self.parts if p.is_media}


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: which provider serves it and under what name."""

    provider: str
    name: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"


@dataclass
class Request:
    model: ModelRef
    messages: list[Message]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: dict[str, object] = field(default_factory=dict)

    def media_kinds(self) -> set[str]:
        kinds: set[str] = set()
        for message in self.messages:
            kinds |= message.media_kinds()
        return kinds

    def cache_identity(self, endpoint: str | None = None) -> dict[str, object]:
        """Everything that changes the answer, in a canonical, JSON-ready form.

        ``endpoint`` is the base URL the provider is reached at: the same model
        name on two servers is two models. Media are represented by their full
        SHA-256 (never a prefix of the bytes), so two different images never
        share a cache entry.
        """
        return {
            "provider": self.model.provider,
            "endpoint": endpoint,
            "media_preparation": MEDIA_PREPARATION_VERSION if self.media_kinds() else None,
            "model": self.model.name,
            "system": self.system,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "options": {k: self.options[k] for k in sorted(self.options)},
            "messages": [
                {
                    "role": m.role,
                    "parts": [
                        {"kind": p.kind, "text": p.text}
                        if p.kind == "text"
                        else {"kind": p.kind, "mime_type": p.mime_type, "sha256": p.sha256}
                        for p in m.parts
                    ],
                }
                for m in self.messages
            ],
        }
