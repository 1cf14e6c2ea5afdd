"""Keep an answer in its session while it streams.

The question is stored before the request leaves; the answer is stored on its
first text and rewritten at most every ``SAVE_EVERY_S`` as it grows, then once
more when it ends. So a process killed at any instant (SIGKILL, a power cut)
loses at most the last moment of the answer, never the question.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..conversation import Message, Part
from .db import StoreError

if TYPE_CHECKING:
    from ..conversation import ModelRef
    from ..engine import Answer, Sink
    from .sessions import SessionStore

# Well under the one second DESIGN.md allows; each save is one small SQLite commit.
SAVE_EVERY_S = 0.5


class AnswerRecorder:
    """A sink that passes everything on to ``inner`` and keeps the growing answer in the session."""

    def __init__(self, store: SessionStore, session: str, inner: Sink, clock=time.monotonic):  # type: ignore[no-untyped-def]
        self._store = store
        self._session = session
        self._inner = inner
        self._clock = clock
        self._model: ModelRef | None = None
        self._pieces: list[str] = []
        self._seq: int | None = None
        self._saved_at = 0.0
        self.failure: StoreError | None = None  # the first save that failed while streaming

    # -- the Sink protocol ---------------------------------------------------------------------

    def begin(self, model: ModelRef) -> None:
        self._model, self._pieces = model, []
        self._inner.begin(model)

    def delta(self, text: str) -> None:
        self._pieces.append(text)
        self._inner.delta(text)
        if self.failure is None and (self._seq is None or self._clock() - self._saved_at >= SAVE_EVERY_S):
            # Until it ends, a stored answer reads as interrupted: what it is if the process dies now.
            try:
                self._save("".join(self._pieces), "interrupted")
            except StoreError as exc:  # a full disk must not cost the user the answer on screen
                self.failure = exc

    def finish(self, answer: Answer) -> None:
        self._inner.finish(answer)

    def abort(self, answer: Answer) -> None:
        self._inner.abort(answer)

    # -- the end ---------------------------------------------------------------------------------

    def settle(self, answer: Answer | None) -> None:
        """Store the answer as it ended (or, with no answer, what had arrived, as interrupted).

        Raises ``StoreError`` when it cannot be stored: after the answer was shown.
        """
        if answer is not None:
            self._model = answer.model
            if answer.text or self._seq is not None:
                self._save(answer.text, answer.finish_reason or "stop")
        elif self._seq is not None:
            self._save("".join(self._pieces), "interrupted")

    def _save(self, text: str, finish_reason: str) -> None:
        message = Message(role="assistant", parts=[Part.of_text(text)], finish_reason=finish_reason)
        model = str(self._model) if self._model else ""
        if self._seq is None:
            self._seq = self._store.append(self._session, message, model=model)
        else:
            self._store.update(self._session, self._seq, message, model=model)
        self._saved_at = self._clock()
