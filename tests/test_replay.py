"""Recorded real provider traffic replayed through mmcli and the real SDKs.

The expected answer is read straight out of each recording here, so the
parsers in mmcli meet what the services really send (thinking blocks,
citations, tool calls, odd chunk shapes), not only what our fakes send.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fakes import load_cassette, recorded_dir, streamed_generations
from tests.fakes.cassettes import every_cassette

pytestmark = pytest.mark.in_pytest


def _sse_payloads(body: bytes) -> list[dict]:
    payloads = []
    for line in body.decode("utf-8").splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data and data != "[DONE]":
                payloads.append(json.loads(data))
    return payloads


def expected_anthropic(body: bytes) -> tuple[str, list[str]]:
    text, urls = "", []
    for event in _sse_payloads(body):
        delta = event.get("delta", {})
        if event.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
            text += delta["text"]
        if delta.get("type") == "citations_delta" and delta["citation"].get("url") not in urls:
            urls.append(delta["citation"]["url"])
    return text, urls


def expected_gemini(body: bytes) -> str:
    chunks = json.loads(body)
    return "".join(
        part.get("text", "")
        for chunk in chunks
        for candidate in chunk.get("candidates", [])
        for part in candidate.get("content", {}).get("parts", [])
        if not part.get("thought")
    )


def expected_openai(body: bytes) -> str:
    return "".join(
        (choice.get("delta") or {}).get("content") or ""
        for chunk in _sse_payloads(body)
        for choice in chunk.get("choices") or []
    )


def _cases(provider: str, path_suffix: str) -> list:
    return [
        pytest.param(cassette, index, id=f"{cassette.stem}-{index}")
        for cassette, index in streamed_generations(provider)
        if load_cassette(cassette)[index].path.endswith(path_suffix)
    ]


def _printed(done) -> str:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.mark.parametrize(("cassette", "index"), _cases("anthropic", "/v1/messages"))
def test_anthropic_recordings(run_mmcli, mmcli_env, fake_anthropic, cassette, index):
    interaction = fake_anthropic.replay(cassette, index)
    text, urls = expected_anthropic(interaction.body)
    out = _printed(run_mmcli(["chat", "-m", "anthropic:claude-sonnet-4-5", "--no-cache", "Hi"], mmcli_env))
    expected = text if text.endswith("\n") or not text else text + "\n"
    if urls:
        expected += "\nSources:\n" + "".join(f"{n}. {u}\n" for n, u in enumerate(urls, 1))
    assert out == expected
    if "thinking" in cassette.name:
        assert '"thinking"' in interaction.body.decode() and out.strip()


@pytest.mark.parametrize(("cassette", "index"), _cases("gemini", ":streamGenerateContent"))
def test_gemini_recordings(run_mmcli, mmcli_env, fake_gemini, cassette, index):
    interaction = fake_gemini.replay(cassette, index)
    text = expected_gemini(interaction.body)
    out = _printed(run_mmcli(["chat", "-m", "gemini:gemini-flash-latest", "--no-cache", "Hi"], mmcli_env))
    assert out == (text if text.endswith("\n") else text + "\n")


@pytest.mark.parametrize(("cassette", "index"), _cases("openai", "/chat/completions"))
def test_openai_compatible_recordings(run_mmcli, mmcli_env, fake_openai, cassette, index):
    interaction = fake_openai.replay(cassette, index)
    text = expected_openai(interaction.body)
    done = run_mmcli(["chat", "-m", "compat:recorded", "--no-cache", "Hi"], mmcli_env)
    out = _printed(done)
    assert out == (text + "\n" if text and not text.endswith("\n") else text)


def test_every_recorded_generation_is_replayed():
    """A new cassette in tests/fixtures/recorded must not be silently skipped."""
    covered = sum(
        len(cases)
        for cases in (
            _cases("anthropic", "/v1/messages"),
            _cases("gemini", ":streamGenerateContent"),
            _cases("openai", "/chat/completions"),
        )
    )
    # The one recorded OpenAI Responses API stream is not a protocol mmcli speaks.
    responses_api = len(_cases("openai", "/v1/responses"))
    # (more/ is replayed one recording at a time, with what each shows, in test_endings.py.)
    assert covered + responses_api == len(streamed_generations())


def test_recordings_live_in_the_checkout():
    """A fresh clone runs the suite with nothing beside it: every recording is inside tests/ and loads."""
    tests_dir = Path(__file__).resolve().parent
    root = recorded_dir()
    assert root.resolve().is_relative_to(tests_dir) or "MMCLI_RECORDED_DIR" in os.environ
    cassettes = every_cassette()
    assert {c.parent.name for c in cassettes} == {"anthropic", "gemini", "openai", "more"}
    for cassette in cassettes:
        interactions = load_cassette(cassette)
        assert interactions and all(i.method in {"GET", "POST"} and i.status for i in interactions), cassette
    sources = (root / "SOURCES.md").read_text(encoding="utf-8")
    for folder in ("anthropic/", "gemini/", "openai/", "more/", "Apache-2.0", "MIT"):
        assert folder in sources
    more_sources = (root / "more" / "SOURCES.md").read_text(encoding="utf-8")
    assert all(c.name in more_sources for c in cassettes if c.parent.name == "more")
    outside = "../" + "shared"  # spelled apart so this file does not match itself
    assert not [p for p in tests_dir.rglob("*.py") if outside in p.read_text(encoding="utf-8")]
