"""What was said: the turns of a live conversation, kept in the session store as
they end (like chat turns), and summed up in the ``--json`` document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Config
from ..conversation import Message, ModelRef, Part


@dataclass
class Turn:
    user: str = ""  # typed text, or the transcript of what the user said
    parts: list[Part] = field(default_factory=list)  # images (and the audio file) of this turn
    answer: str = ""
    audio_bytes: int = 0
    interrupted: bool = False
    saved: bool = False

    @property
    def started_reply(self) -> bool:
        return bool(self.answer or self.audio_bytes)

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user, "answer": self.answer, "interrupted": self.interrupted}


class Transcript:
    """The conversation's turns, saved to the session store as each one ends."""

    def __init__(self, config: Config, model: ModelRef, system: str | None, session: str | None, store: Any):
        self.config = config
        self.model = model
        self.system = system
        self.session = session  # the session name once it exists
        self._store = store  # an open SessionStore, or None until the first turn is saved
        self.turns: list[Turn] = []
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def add(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        return turn

    def count_usage(self, input_tokens: int | None, output_tokens: int | None) -> None:
        if input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + input_tokens
        if output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + output_tokens

    def save(self, turn: Turn, *, ending: str = "stop") -> None:
        """Both sides of one exchange, in one go; the answer marked with how it ended
        (``stop``, ``interrupted`` by the user or a signal, ``error`` when the connection broke)."""
        if turn.saved or not (turn.user or turn.parts or turn.started_reply):
            return
        turn.saved = True
        store = self._open(turn.user)
        model = str(self.model)
        user_parts = ([Part.of_text(turn.user)] if turn.user else []) + turn.parts
        store.append(self.session, Message(role="user", parts=user_parts or [Part.of_text("")]), model=model)
        if turn.answer:
            reason = "interrupted" if turn.interrupted and ending == "stop" else ending
            reply = Message(role="assistant", parts=[Part.of_text(turn.answer)], finish_reason=reason)
            store.append(self.session, reply, model=model)

    def _open(self, first_prompt: str) -> Any:
        from ..store.sessions import SessionStore

        if self._store is None:
            self._store = SessionStore(self.config.data_dir)
        if self.session is None:
            info = self._store.create(None, str(self.model), system=self.system, first_prompt=first_prompt or "live")
            self.session = info.name
        elif self._store.get(self.session) is None:
            self._store.get_or_create(self.session, str(self.model), system=self.system)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def document(
        self, *, audio_out: str | None, total_s: float, first_audio_s: float | None,
        finish_reason: str, error: str | None,
    ) -> dict[str, Any]:
        from ..pricing import cost_usd

        return {
            "model": str(self.model),
            "provider": self.model.provider,
            "session": self.session,
            "turns": [t.as_json() for t in self.turns if t.user or t.parts or t.started_reply],
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": cost_usd(self.model.provider, self.model.name, self.input_tokens, self.output_tokens),
            "audio_out": audio_out,
            "total_s": round(total_s, 3),
            "first_audio_s": None if first_audio_s is None else round(first_audio_s, 3),
            "finish_reason": finish_reason,
            "error": error,
        }
