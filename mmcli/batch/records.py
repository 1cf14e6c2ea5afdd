"""One request's result as `results` prints it: the `--json` object of chat,
at the batch price, with what is meaningless for a batch (time to first
token, session, cache) null or false."""

from __future__ import annotations

from typing import Any

from ..providers.batching import Outcome

# The providers' batch discount (DESIGN.md): half the price table's price.
BATCH_PRICE_FACTOR = 0.5


def record(provider: str, model: str, outcome: Outcome) -> dict[str, Any]:
    from ..conversation import ModelRef
    from ..engine import Answer

    answer = Answer(
        model=ModelRef(provider, model),
        text=outcome.text or "",
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        citations=list(outcome.citations),
        resolved_model=outcome.resolved_model,
        finish_reason=outcome.finish_reason,
    )
    document = answer.to_json(None)
    cost = document.get("cost_usd")
    document.update(
        {
            "answer": outcome.text,
            "ttft_s": None,
            "total_s": None,
            "cost_usd": None if cost is None else round(cost * BATCH_PRICE_FACTOR, 8),
            "cached": False,
            "session": None,
            "finish_reason": outcome.finish_reason,
            "error": outcome.error,
        }
    )
    return document


def with_request(request_id: str, paths: list[str] | None, document: dict[str, Any]) -> dict[str, Any]:
    """The result line: the request's id (and its images as given) first, then the answer."""
    line: dict[str, Any] = {"id": request_id}
    if paths:
        line["path" if len(paths) == 1 else "paths"] = paths[0] if len(paths) == 1 else paths
    line.update(document)
    return line
