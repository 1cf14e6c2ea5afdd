"""What every provider's batch API looks like to mmcli: upload, create, retrieve,
cancel, results, in neutral terms.

Each provider's batch wire lives beside its chat code (``openai_batch``,
``anthropic_batch``, ``gemini_batch``) and builds its requests with that
provider's own request translation, so a batch request is exactly what the
one-shot command would have sent. Nothing here imports an SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Config
    from ..conversation import ModelRef, Request

# Local job states (DESIGN.md); a provider job is in one of the same states.
SUBMITTING, RUNNING, DONE, FAILED, CANCELLED, EXPIRED = (
    "submitting",
    "running",
    "done",
    "failed",
    "cancelled",
    "expired",
)
TERMINAL = frozenset({DONE, FAILED, CANCELLED, EXPIRED})

# What became of one request.
SUCCEEDED = "succeeded"

_WIRES = {
    "openai": ("openai_batch", "OpenAIBatch"),
    "anthropic": ("anthropic_batch", "AnthropicBatch"),
    "gemini": ("gemini_batch", "GeminiBatch"),
}
_REFUSALS = {
    "vertex": (
        "Vertex AI batch jobs read and write Cloud Storage, which mmcli does not use; "
        "run the batch through the Gemini API instead (-m gemini:MODEL with GOOGLE_API_KEY)."
    ),
}


@dataclass
class RemoteStatus:
    """A provider job as its provider reports it."""

    id: str
    state: str  # RUNNING, DONE, FAILED, CANCELLED or EXPIRED
    provider_state: str  # the provider's own word, shown by `status`
    succeeded: int | None = None  # None: the provider does not say yet
    failed: int | None = None
    error: str | None = None  # why the whole provider job failed, as a sentence


@dataclass
class Outcome:
    """What became of one request of a provider job, keyed by its custom id."""

    custom_id: str
    status: str  # SUCCEEDED, FAILED, EXPIRED or CANCELLED
    text: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None  # normalised by the provider's chat code (stop, length, ...)
    finish_detail: str | None = None  # the provider's own word for it
    blocked_prompt: bool = False
    resolved_model: str | None = None
    citations: list[str] = field(default_factory=list)
    error: str | None = None  # why a request that got no answer failed

    def ending(self, finish: Any) -> Outcome:
        """Take the ending from the chat code's ``Finish``, so a batch answer ends as a streamed one would."""
        self.finish_reason, self.finish_detail = finish.reason, finish.detail
        self.blocked_prompt = finish.blocked_prompt
        self.resolved_model = finish.resolved_model or self.resolved_model
        return self


class ChatBatch:
    """What every provider's batch wire shares: the chat provider whose request
    translation and settings it reuses, and one SDK client made on first use."""

    def __init__(self, chat: Any) -> None:
        self.chat = chat
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = self.chat.client()
        return self._client

    def _errors(self) -> Any:
        """The chat provider's error translation (openai and anthropic share one; Gemini overrides)."""
        from .base import StreamProgress, stainless_sdk_errors

        sdk = importlib.import_module(self.chat.sdk_module)
        return stainless_sdk_errors(self.chat.name, sdk, self.chat.settings, self.chat.key_variable, StreamProgress())


class BatchWire(Protocol):
    """One provider's batch API. Steps are separate so the caller can record each one."""

    provider: str
    max_requests: int  # per provider job
    max_bytes: int  # per provider job input

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        """The request as one line of the provider job's input (JSON-ready)."""
        ...

    def needs_upload(self, size: int) -> bool:
        """Whether a provider job of ``size`` bytes of input goes up as a file first."""
        ...

    def upload(self, path: Path, display_name: str) -> str:
        """Upload the JSONL input at ``path``; return the file id."""
        ...

    def create(self, model: str, path: Path, file_id: str | None, display_name: str) -> RemoteStatus: ...

    def find_created(self, file_id: str | None, display_name: str) -> RemoteStatus | None:
        """A provider job created from this input by a process that died before recording it."""
        ...

    def retrieve(self, remote_id: str) -> RemoteStatus: ...

    def cancel(self, remote_id: str) -> RemoteStatus: ...

    def outcomes(self, remote_id: str) -> Iterator[Outcome]:
        """Every request's result the provider has, in any order."""
        ...

    def delete_file(self, file_id: str) -> None: ...


def batch_wire(ref: ModelRef, config: Config) -> BatchWire:
    """The batch API of the model's provider; exit 2 for a provider without one."""
    from . import registry

    if ref.provider in _REFUSALS:
        raise UsageError(_REFUSALS[ref.provider])
    if ref.provider not in _WIRES:
        able = ", ".join(_WIRES)
        raise UsageError(f"{ref.provider} has no batch API that mmcli drives; batches work with {able} models.")
    provider = registry.get_provider(ref, config)
    module_name, class_name = _WIRES[ref.provider]
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, class_name)(provider)  # type: ignore[no-any-return]
