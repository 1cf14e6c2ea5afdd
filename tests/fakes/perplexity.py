"""Fake Perplexity API: OpenAI chat completions at ``/chat/completions``
(no ``/v1``) with top-level ``citations`` and ``search_results``."""

from __future__ import annotations

from typing import Any

from .openai import FakeOpenAI
from .openai_chat import usage_json
from .recording import RecordedRequest
from .reply import Reply
from .server import Handler


class FakePerplexity(FakeOpenAI):
    provider = "Perplexity"

    @property
    def base_url(self) -> str:
        return self.root

    def route(self, request: RecordedRequest) -> Handler | None:
        if (request.method, request.path) == ("POST", "/chat/completions"):
            return self._chat
        return None

    def chunk_extra(self, reply: Reply) -> dict[str, Any]:
        # Perplexity repeats the sources on every chunk ("full" stream mode).
        return {"citations": list(reply.citations or []), "search_results": reply.search_result_list()}

    def final_chunk_fields(self, reply: Reply) -> dict[str, Any]:
        # Perplexity reports usage on the final chunk without being asked to.
        usage = usage_json(reply, self.default_text)
        usage.update({"search_context_size": "low", "citation_tokens": 0, "num_search_queries": 1})
        return {"usage": usage}
