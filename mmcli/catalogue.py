"""The model catalogue, ``data/models.json``: each provider's models, default model
and key variables, read once per process.

Plain data below everything that reads it: the provider registry (model names,
capabilities) and the stored keys (which variable a provider's key goes in),
which ``config`` reads before the registry can be used.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path


@cache
def catalogue() -> dict[str, dict]:
    # Read beside the package rather than through importlib.resources, whose import
    # (tempfile, random, zipfile) costs every run more than the read itself.
    text = (Path(__file__).resolve().parent / "data" / "models.json").read_text(encoding="utf-8")
    return json.loads(text)["providers"]
