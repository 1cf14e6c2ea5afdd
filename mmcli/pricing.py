"""Estimated cost of an answer from the price table in data/prices.json.

Unknown models cost None: a guessed price would be worse than none.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_PRICES = Path(__file__).resolve().parent / "data" / "prices.json"  # not importlib.resources: see registry


@cache
def price_table() -> dict[str, list[float]]:
    text = _PRICES.read_text(encoding="utf-8")
    return json.loads(text)["models"]


def prices_checked_on() -> str:
    text = _PRICES.read_text(encoding="utf-8")
    return json.loads(text)["checked"]


def cost_usd(provider: str, model: str, input_tokens: int | None, output_tokens: int | None) -> float | None:
    if input_tokens is None or output_tokens is None:
        return None
    table = price_table()
    prices = table.get(f"{provider}:{model}") or table.get(f"{provider}:*")
    if prices is None:
        return None
    per_input, per_output = prices
    return round((input_tokens * per_input + output_tokens * per_output) / 1_000_000, 8)
