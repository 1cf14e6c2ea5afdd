"""Reasoning that a model writes inline, as ``<think>...</think>`` at the start of
its answer (DeepSeek-R1 and its distills, QwQ, Qwen3 served by Groq, Together,
vLLM or llama.cpp without a reasoning parser). It is the model's thinking, not
its answer: never printed, never stored as the answer.
"""

from __future__ import annotations

import re

OPEN, CLOSE = "<think>", "</think>"

# Models whose chat template often opens <think> itself, so the content starts
# with reasoning and only a lone </think> marks where the answer begins.
_TEMPLATE_THINKERS = re.compile(r"(?:^|[-_/:.])r1(?:$|[-_/:.])|qwq|qwen3|think|reason", re.IGNORECASE)


def may_open_thinking_in_template(model: str) -> bool:
    return bool(_TEMPLATE_THINKERS.search(model))


class InlineThinking:
    """Feed it the content deltas; it returns only the answer text.

    For a model that may open ``<think>`` in its template, text is held back
    until ``</think>`` arrives (then everything before it is dropped) or the
    stream ends (then it was all answer). Other models stream at once unless
    the content really starts with ``<think>``.
    """

    def __init__(self, template_may_open: bool = False):
        self._state = "start"
        self._held = ""
        self._template_may_open = template_may_open

    def feed(self, text: str) -> str:
        if self._state == "answer":
            return text
        self._held += text
        if self._state == "start":
            lead = self._held.lstrip()
            if lead.startswith(OPEN):
                self._state, self._held = "thinking", lead[len(OPEN) :]
            elif OPEN.startswith(lead):
                return ""  # whitespace or a partial "<thi": not decided yet
            elif self._template_may_open:
                self._state = "maybe-thinking"
            else:
                return self._release()
        end = self._held.find(CLOSE)
        if end < 0:
            if self._state == "thinking":
                # Keep only what could be the start of a split "</think>".
                self._held = self._held[-(len(CLOSE) - 1) :]
            return ""
        answer = self._held[end + len(CLOSE) :].lstrip()
        self._state, self._held = "answer", ""
        return answer

    def finish(self) -> str:
        """What is still held when the stream ends: answer text, unless it was thinking."""
        if self._state == "thinking":
            return ""
        return self._release()

    def _release(self) -> str:
        held, self._held, self._state = self._held, "", "answer"
        return held
