"""How an answer ends (DESIGN.md): every ending a provider can signal, through
the real SDKs, in what mmcli prints, exits with, stores and caches.

The first half replays real recorded traffic (tests/fixtures/recorded/more,
sources in its SOURCES.md); the second scripts each ending on the fakes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.fakes import Reply, load_cassette
from tests.fakes.cassettes import recorded_dir

MORE = recorded_dir() / "more"
GEMINI_THOUGHTS = (
    "chat_gemini_token_accounting_correctly_sums_candidatestokencount_and_thoughtstokencount_in_streaming.yml"
)

# The answer-fidelity and signal paths are checked in-process here; test_worker re-runs some through the worker.
pytestmark = [pytest.mark.in_process, pytest.mark.in_pytest]


def _chat(run_mmcli, env, *args: str, **kwargs):  # type: ignore[no-untyped-def]
    return run_mmcli(["chat", *args], env, **kwargs)


def _json(done) -> dict:  # type: ignore[no-untyped-def]
    documents = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(documents) == 1, done.stdout
    return documents[0]


def _stored_answers(env: dict[str, str]) -> list[tuple[str, str | None, int]]:
    """(text, finish_reason, incomplete) of every stored answer, oldest first."""
    path = Path(env["MMCLI_DATA_DIR"]) / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT parts, finish_reason, incomplete FROM messages WHERE role = 'assistant' ORDER BY id"
        ).fetchall()
    return [("".join(p.get("text", "") for p in json.loads(parts)), reason, flag) for parts, reason, flag in rows]


def _cache_entries(env: dict[str, str]) -> int:
    path = Path(env["MMCLI_DATA_DIR"]) / "cache.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


# --- real recordings ----------------------------------------------------------------------------


def test_anthropic_web_search_counts_the_final_cumulative_usage(run_mmcli, mmcli_env, fake_anthropic):
    """message_start says 2,068 input tokens; message_delta's 22,397 is what was billed."""
    fake_anthropic.replay(MORE / "test_anthropic_model_web_search_tool_stream.yaml")
    document = _json(_chat(run_mmcli, mmcli_env, "-m", "claude-sonnet-4-5", "--json", "--no-cache", "Weather?"))
    assert (document["input_tokens"], document["output_tokens"]) == (22397, 637)
    assert document["finish_reason"] == "stop" and document["citations"]
    assert all(url.startswith("https://") for url in document["citations"])
    assert "San Francisco" in document["answer"]


def test_gemini_thinking_tokens_are_billed_as_output(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.replay(MORE / GEMINI_THOUGHTS)
    document = _json(_chat(run_mmcli, mmcli_env, "-m", "gemini-2.5-flash", "--json", "--no-cache", "2+2?"))
    assert (document["input_tokens"], document["output_tokens"]) == (13, 71 + 137)
    assert document["answer"].endswith("So, 2 + 2 = 4.")


def test_gemini_safety_block_is_told_and_exits_1(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.replay(MORE / "test_google_model_safety_settings.yaml")
    done = _chat(run_mmcli, mmcli_env, "-m", "gemini-2.5-flash", "-S", "joke", "A joke")
    assert done.returncode == 1 and done.stdout == ""
    assert "blocked the answer" in done.stderr and "SAFETY" in done.stderr
    assert _stored_answers(mmcli_env) == []  # nothing arrived: no empty answer saved


def test_groq_inline_think_is_not_the_answer_and_x_groq_usage_counts(run_mmcli, mmcli_env, fake_openai):
    interaction = fake_openai.replay(MORE / "test_groq_model_thinking_part_iter.yaml", 0)
    assert b"\\u003cthink\\u003e" in interaction.body or b"<think>" in interaction.body
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:deepseek-r1-distill-llama-70b", "--json", "--no-cache", "Q")
    document = _json(done)
    assert done.returncode == 0, done.stderr
    assert "<think>" not in document["answer"] and "</think>" not in document["answer"]
    assert not document["answer"].startswith("Okay, so")  # the reasoning's first words
    assert "alfajores" in document["answer"].lower()
    assert (document["input_tokens"], document["output_tokens"]) == (21, 988)


def test_mistral_list_typed_content_prints_only_the_text_parts(run_mmcli, mmcli_env, fake_openai):
    fake_openai.replay(MORE / "test_mistral_model_thinking_part_iter.yaml", 0)
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:magistral-medium-latest", "--no-cache", "Cross the street?")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.endswith("ensure a safe crossing.\n")
    assert "Okay, the user is asking" not in done.stdout  # the thinking parts


def test_every_recording_in_more_is_replayed_here():
    replayed = {
        "test_anthropic_model_web_search_tool_stream.yaml",
        GEMINI_THOUGHTS,
        "test_google_model_safety_settings.yaml",
        "test_groq_model_thinking_part_iter.yaml",
        "test_mistral_model_thinking_part_iter.yaml",
    }
    assert {p.name for p in MORE.iterdir() if p.suffix in (".yaml", ".yml")} == replayed
    assert all(load_cassette(MORE / name) for name in replayed)


# --- length ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fake_name", "reason"),
    [
        ("gpt-4o-mini", "fake_openai", "length"),
        ("claude-haiku-4-5", "fake_anthropic", "max_tokens"),
        ("gemini-2.5-flash", "fake_gemini", "MAX_TOKENS"),
    ],
)
def test_an_answer_cut_at_the_token_limit_is_told_kept_and_not_cached(
    run_mmcli, mmcli_env, request, model, fake_name, reason
):
    fake = request.getfixturevalue(fake_name)
    fake.queue(Reply(text="The first half of", finish_reason=reason))
    done = _chat(run_mmcli, mmcli_env, "-m", model, "--max-tokens", "4", "-S", "cut", "Long story")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The first half of\n"
    assert "cut at the token limit; raise --max-tokens" in done.stderr
    assert _stored_answers(mmcli_env) == [("The first half of", "length", 1)]
    assert _cache_entries(mmcli_env) == 0

    # Asked again: the model is asked again, not the cut answer replayed.
    again = _chat(run_mmcli, mmcli_env, "-m", model, "--max-tokens", "4", "Long story")
    assert again.returncode == 0 and "(cached" not in again.stderr
    assert len(fake.generation_requests) == 2


def test_a_thinking_model_that_spent_its_budget_thinking_exits_1(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text="", thinking="Let me consider every angle", finish_reason="MAX_TOKENS"))
    done = _chat(run_mmcli, mmcli_env, "-m", "gemini-2.5-pro", "--json", "Hard question")
    assert done.returncode == 1
    document = _json(done)
    assert document["answer"] == "" and document["finish_reason"] == "length"
    assert "token limit" in document["error"] and document["output_tokens"] > 1


# --- refusal and blocks ---------------------------------------------------------------------------


def test_openai_refusal_is_printed_and_exits_1(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(refusal="I'm sorry, I can't help with that."))
    done = _chat(run_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "r", "Something bad")
    assert done.returncode == 1
    assert done.stdout == "I'm sorry, I can't help with that.\n"
    assert "refused" in done.stderr
    assert _stored_answers(mmcli_env) == [("I'm sorry, I can't help with that.", "refusal", 1)]
    assert _cache_entries(mmcli_env) == 0


def test_anthropic_refusal_exits_1_with_json_ending(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.queue(Reply(text="I can't", finish_reason="refusal"))
    done = _chat(run_mmcli, mmcli_env, "-m", "claude-haiku-4-5", "--json", "Something bad")
    assert done.returncode == 1
    document = _json(done)
    assert document["finish_reason"] == "refusal" and document["answer"] == "I can't"
    assert "refused" in document["error"] and document["error"] in done.stderr


@pytest.mark.parametrize("block_reason", ["PROHIBITED_CONTENT", "MODEL_ARMOR"])
def test_gemini_prompt_block_names_the_filter(run_mmcli, mmcli_env, fake_gemini, block_reason):
    fake_gemini.queue(Reply(block_reason=block_reason))
    done = _chat(run_mmcli, mmcli_env, "-m", "gemini-2.5-flash", "--json", "Bad prompt")
    assert done.returncode == 1
    document = _json(done)
    assert document["finish_reason"] == "blocked" and document["answer"] == ""
    assert "blocked the prompt" in done.stderr and block_reason in done.stderr


def test_gemini_safety_stop_mid_answer_keeps_what_arrived(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text="Once upon a", finish_reason="SAFETY"))
    done = _chat(run_mmcli, mmcli_env, "-m", "gemini-2.5-flash", "-S", "story", "A story")
    assert done.returncode == 1 and done.stdout == "Once upon a\n"
    assert "SAFETY" in done.stderr
    assert _stored_answers(mmcli_env) == [("Once upon a", "blocked", 1)]


def test_openai_content_filter_is_a_block(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Partial", finish_reason="content_filter"))
    done = _chat(run_mmcli, mmcli_env, "-m", "gpt-4o-mini", "--json", "x")
    assert done.returncode == 1 and _json(done)["finish_reason"] == "blocked"
    assert "content_filter" in done.stderr


# --- broken streams -------------------------------------------------------------------------------


def test_compatible_stream_error_line_mid_answer_keeps_the_partial(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(
        Reply(text="one two three four", cut_after_chunks=2, stream_error=500, error_message="CUDA out of memory")
    )
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:llama3", "-S", "oom", "Count")
    assert done.returncode == 1
    assert done.stdout == "one two \n"
    assert "CUDA out of memory" in done.stderr
    assert _stored_answers(mmcli_env) == [("one two ", "error", 1)]
    assert _cache_entries(mmcli_env) == 0


def test_compatible_stream_without_done_or_finish_reason_is_interrupted(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="cut short here", end_marker=False))
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:llama3", "--json", "Q")
    assert done.returncode == 1
    document = _json(done)
    assert document["answer"] == "cut short here" and document["finish_reason"] == "error"
    assert "ended before the answer was complete" in document["error"]
    assert _cache_entries(mmcli_env) == 0


# --- Anthropic pause_turn ----------------------------------------------------------------------


def test_anthropic_pause_turn_is_continued_with_the_turn_so_far(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.queue(
        Reply(text="Searching the web.", finish_reason="pause_turn", usage=(100, 5)),
        Reply(text=" Found it.", usage=(150, 4)),
    )
    done = _chat(run_mmcli, mmcli_env, "-m", "claude-haiku-4-5", "--json", "--no-cache", "Look it up")
    assert done.returncode == 0, done.stderr
    document = _json(done)
    assert document["answer"] == "Searching the web. Found it." and document["finish_reason"] == "stop"
    assert (document["input_tokens"], document["output_tokens"]) == (250, 9)
    first, second = fake_anthropic.generation_requests
    assert second.json["messages"][:-1] == first.json["messages"]
    continued = second.json["messages"][-1]
    assert continued["role"] == "assistant"
    assert continued["content"] == [{"type": "text", "text": "Searching the web."}]


def test_anthropic_pause_turn_ends_as_length_after_a_few_continuations(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.default = Reply(text="still going.", finish_reason="pause_turn")
    done = _chat(run_mmcli, mmcli_env, "-m", "claude-haiku-4-5", "--no-cache", "Look it up")
    assert done.returncode == 0
    assert "token limit" in done.stderr
    assert len(fake_anthropic.generation_requests) == 4  # the turn, then three continuations


# --- reasoning inline, citations ------------------------------------------------------------------


def test_inline_think_at_the_start_is_not_printed_or_stored(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="<think>\nThe user wants a number. 12*12=144.\n</think>\n\n144"))
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:llama3", "-S", "sq", "12 squared?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "144\n"
    assert _stored_answers(mmcli_env) == [("144", "stop", 0)]


def test_a_template_opened_think_ends_at_the_lone_closing_tag(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="The user wants a number. 12*12 is 144.\n</think>\n\n144"))
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:deepseek-r1", "--no-cache", "12 squared?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "144\n"


def test_an_ordinary_model_streams_text_mentioning_think_tags_unchanged(run_mmcli, mmcli_env, fake_openai):
    text = "Use a </think> tag to close reasoning."
    fake_openai.queue(Reply(text=text))
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:llama3", "--no-cache", "Explain")
    assert done.stdout == text + "\n"


def test_url_citation_annotations_become_sources(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Python 3.14 is out.", annotations=["https://python.org/", "https://peps.python.org/"]))
    done = _chat(run_mmcli, mmcli_env, "-m", "compat:openrouter-model", "--no-cache", "Latest Python?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Python 3.14 is out.\n\nSources:\n1. https://python.org/\n2. https://peps.python.org/\n"


def test_gemini_grounding_sources_are_listed_and_in_json(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text="It rained.", citations=["https://weather.example/sf"]))
    document = _json(_chat(run_mmcli, mmcli_env, "-m", "gemini-2.5-flash", "--json", "--no-cache", "Weather?"))
    assert document["citations"] == ["https://weather.example/sf"]


# --- --json on every failure ----------------------------------------------------------------------


def test_json_on_a_provider_error_is_still_one_document(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(status=400, error_message="Bad request body"))
    done = _chat(run_mmcli, mmcli_env, "-m", "gpt-4o-mini", "--json", "Q")
    assert done.returncode == 1
    document = _json(done)
    assert document["answer"] == "" and document["model"] == "gpt-4o-mini"
    assert "Bad request body" in document["error"] and document["finish_reason"] == "error"


def test_json_on_bad_input_is_still_one_document(run_mmcli, mmcli_env):
    done = _chat(run_mmcli, mmcli_env, "-m", "gpt-4o-mini", "--json", "-i", "missing.png", "Q")
    assert done.returncode == 2
    assert "missing.png" in _json(done)["error"]


# --- what sessions and compare show -----------------------------------------------------------------


def test_sessions_show_and_export_mark_each_ending(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Half an", finish_reason="length"), Reply(refusal="I can't."))
    run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "ends", "Long"], mmcli_env)
    run_mmcli(["chat", "-S", "ends", "Bad"], mmcli_env)
    shown = run_mmcli(["sessions", "show", "ends"], mmcli_env)
    assert "Half an\n\n*(answer cut at the token limit)*" in shown.stdout
    assert "I can't.\n\n*(the model refused)*" in shown.stdout
    exported = json.loads(run_mmcli(["sessions", "export", "ends", "-f", "json"], mmcli_env).stdout)
    endings = [m["finish_reason"] for m in exported["messages"] if m["role"] == "assistant"]
    assert endings == ["length", "refusal"]


def test_compare_leaves_out_a_temperature_one_column_cannot_take(
    run_mmcli_subprocess, mmcli_env, fake_openai, fake_anthropic
):
    # compare forks: a process of its own, not the pytest process
    done = run_mmcli_subprocess(
        ["compare", "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5", "-t", "1.5", "--json", "--no-cache", "Hi"],
        mmcli_env,
    )
    assert done.returncode == 0, done.stderr
    assert "Leaving out -t 1.5 for anthropic:claude-haiku-4-5" in done.stderr
    assert fake_openai.generation_requests[0].json["temperature"] == 1.5
    assert "temperature" not in fake_anthropic.generation_requests[0].json
