"""One request's result as `results` prints it: the `--json` object of chat,
at the batch price, with what is meaningless for a batch (time to first
token, session, cache) null or false."""

from __future__ import annotations

from typing import Any

from ..providers.batching import FAILED, SUCCEEDED, Outcome

# The providers' batch discount (DESIGN.md): half the price table's price.
BATCH_PRICE_FACTOR = 0.5


def concluded(provider: str, model: str, outcome: Outcome) -> tuple[str, dict[str, Any]]:
    """The request's final status and its result document.

    An answer is judged by the engine's own rules for how an answer ends, so a
    refusal, a block or a cut with nothing to show fails here as it would in
    `chat` (with the same sentence), and a cut with text succeeds with its note.
    """
    from .. import engine
    from ..conversation import ModelRef
    from ..errors import AnswerEnded

    answer = engine.Answer(
        model=ModelRef(provider, model),
        text=outcome.text or "",
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        citations=list(outcome.citations),
        resolved_model=outcome.resolved_model,
        finish_reason=outcome.finish_reason,
        finish_detail=outcome.finish_detail,
        blocked_prompt=outcome.blocked_prompt,
        error=outcome.error,
    )
    status = outcome.status
    if status == SUCCEEDED:
        try:
            engine.conclude(answer, lambda note: None)  # the note is the answer's "error" field
        except AnswerEnded:
            status = FAILED
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
            "error": answer.error,
        }
    )
    return status, document


def with_request(request_id: str, paths: list[str] | None, document: dict[str, Any]) -> dict[str, Any]:
    """The result line: the request's id (and its images as given) first, then the answer."""
    line: dict[str, Any] = {"id": request_id}
    if paths:
        line["path" if len(paths) == 1 else "paths"] = paths[0] if len(paths) == 1 else paths
    line.update(document)
    return line
