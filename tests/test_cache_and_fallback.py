"""The response cache, retries and fallbacks, as a user meets them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.fakes import Reply
from tests.test_chat import write_config

pytestmark = pytest.mark.in_pytest

SDK_MODULES = ("openai", "anthropic", "google.genai")


def imported_sdks(stderr: str) -> set[str]:
    """SDK packages a run imported, from its PYTHONPROFILEIMPORTTIME report."""
    found = set()
    for line in stderr.splitlines():
        if line.startswith("import time:"):
            module = line.rsplit("|", 1)[-1].strip()
            if module in SDK_MODULES:
                found.add(module)
    return found


def test_a_repeated_question_is_answered_from_the_cache_without_any_sdk(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.queue(Reply(text="Cached wisdom.", usage=(20, 5)))
    args = ["chat", "-m", "claude-haiku-4-5", "-s", "Be wise.", "--json", "Meaning of life?"]
    first = run_mmcli(args, mmcli_env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["cached"] is False

    second = run_mmcli(args, {**mmcli_env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert second.returncode == 0
    document = json.loads(second.stdout)
    assert document["cached"] is True
    assert document["answer"] == "Cached wisdom."
    assert (document["input_tokens"], document["output_tokens"]) == (20, 5)
    assert len(fake_anthropic.generation_requests) == 1
    assert imported_sdks(second.stderr) == set()

    # In a pipe, the cached answer is the same raw text.
    third = run_mmcli(args[:-2] + ["Meaning of life?"], mmcli_env)
    assert third.stdout == "Cached wisdom.\n"


@pytest.mark.parametrize(
    "change",
    [["-t", "0.5"], ["-s", "Be brief."], ["--max-tokens", "9"], ["-m", "gpt-4o-mini"]],
)
def test_anything_that_changes_the_answer_misses_the_cache(run_mmcli, mmcli_env, fake_openai, change):
    base = ["chat", "-m", "gpt-4o", "Same question"]
    assert run_mmcli(base, mmcli_env).returncode == 0
    changed = base[:1] + change + base[1:] if change[0] != "-m" else ["chat", *change, "Same question"]
    assert run_mmcli(changed, mmcli_env).returncode == 0
    assert len(fake_openai.generation_requests) == 2


def test_no_cache_neither_reads_nor_writes(run_mmcli, mmcli_env, fake_openai):
    args = ["chat", "-m", "gpt-4o-mini", "--no-cache", "Q"]
    assert run_mmcli(args, mmcli_env).returncode == 0
    assert run_mmcli(args, mmcli_env).returncode == 0
    assert len(fake_openai.generation_requests) == 2
    stats = json.loads(run_mmcli(["cache", "stats", "--json"], mmcli_env).stdout)
    assert stats["entries"] == 0


def test_interrupted_and_failed_answers_are_never_cached(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, "retries = 0\n")
    fake_openai.queue(Reply(text="a b c d e f", cut_after_chunks=2), Reply(status=500), Reply(text="Whole."))
    for _ in range(2):
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env).returncode == 1
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "Whole.\n")


def test_cache_stats_and_clear(run_mmcli, mmcli_env, fake_openai):
    for question in ("one", "two", "one"):
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", question], mmcli_env).returncode == 0
    stats = json.loads(run_mmcli(["cache", "stats", "--json"], mmcli_env).stdout)
    assert (stats["entries"], stats["hits"], stats["misses"]) == (2, 1, 2)
    assert stats["oldest_created_at"] is not None and stats["size_bytes"] > 0
    text = run_mmcli(["cache", "stats"], mmcli_env).stdout
    assert "entries" in text and "hits" in text

    kept = run_mmcli(["cache", "clear", "--older-than", "7d"], mmcli_env)
    assert kept.returncode == 0 and "Removed 0" in kept.stdout
    cleared = run_mmcli(["cache", "clear"], mmcli_env)
    assert "Removed 2 cached entries." in cleared.stdout
    assert json.loads(run_mmcli(["cache", "stats", "--json"], mmcli_env).stdout)["entries"] == 0
    bad = run_mmcli(["cache", "clear", "--older-than", "soon"], mmcli_env)
    assert bad.returncode == 2 and "not an age" in bad.stderr


def test_cache_ttl_from_config_expires_entries(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, "[cache]\nttl_days = 0\n")
    for _ in range(2):
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env).returncode == 0
    assert len(fake_openai.generation_requests) == 2


def test_a_corrupt_cache_file_costs_nothing_but_the_cache(run_mmcli, mmcli_env, fake_openai):
    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    data.mkdir(parents=True)
    (data / "cache.sqlite3").write_bytes(b"this is not a database" * 100)
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env)
    assert done.returncode == 0 and done.stdout == "Hello from the fake OpenAI.\n"
    assert "cache" in done.stderr and "Traceback" not in done.stderr


def test_data_files_never_hold_an_api_key(run_mmcli, mmcli_env, fake_openai):
    key = mmcli_env["OPENAI_API_KEY"]
    fake_openai.queue(Reply(text=f"Your key is {key}"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "leaky", f"My key is {key}, remember it"], mmcli_env)
    assert done.returncode == 0, done.stderr
    files = list(Path(mmcli_env["MMCLI_DATA_DIR"]).glob("*.sqlite3*"))
    assert {p.name for p in files} >= {"cache.sqlite3", "sessions.sqlite3"}
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    shown = run_mmcli(["sessions", "show", "leaky"], mmcli_env)
    assert "My key is ***" in shown.stdout


# --- retries --------------------------------------------------------------------------------------


def test_rate_limit_is_retried_by_the_sdk_honouring_retry_after(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, "retries = 2\n")
    fake_openai.queue(Reply(status=429, retry_after="0", error_message="slow down"), Reply(text="Finally."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "Finally.\n")
    assert len(fake_openai.generation_requests) == 2


def test_gemini_retries_are_configured_too(run_mmcli, mmcli_env, fake_gemini):
    write_config(mmcli_env, "retries = 1\n")
    fake_gemini.queue(Reply(status=503, error_message="overloaded"), Reply(text="Back."))
    done = run_mmcli(["chat", "-m", "gemini-2.5-flash", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "Back.\n"), done.stderr
    assert len(fake_gemini.generation_requests) == 2


def test_timeout_is_per_attempt(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, "retries = 0\n")
    fake_openai.queue(Reply(hang=True))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--timeout", "1", "Q"], mmcli_env, timeout=30)
    assert done.returncode == 1
    assert "did not answer within 1 s" in done.stderr


# --- fallbacks ------------------------------------------------------------------------------------


def test_fallback_answers_when_the_primary_fails(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    write_config(mmcli_env, "retries = 0\n")
    fake_openai.queue(Reply(status=503, error_message="unavailable"))
    fake_anthropic.queue(Reply(text="Fallback speaking."))
    done = run_mmcli(
        ["chat", "-m", "gpt-4o-mini", "--fallback", "anthropic:claude-haiku-4-5", "--json", "Q"], mmcli_env
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["provider"], document["model"], document["answer"]) == (
        "anthropic", "claude-haiku-4-5", "Fallback speaking.",
    )
    notes = done.stderr.strip().splitlines()
    assert len(notes) == 1 and "falling back to anthropic:claude-haiku-4-5" in notes[0]


def test_fallbacks_from_config_are_tried_in_order(run_mmcli, mmcli_env, fake_openai, fake_anthropic, fake_gemini):
    write_config(mmcli_env, 'retries = 0\nfallback = ["claude-haiku-4-5", "gemini-2.5-flash"]\n')
    fake_openai.queue(Reply(status=429, error_message="quota"))
    fake_anthropic.queue(Reply(status=401, error_message="bad key"))
    fake_gemini.queue(Reply(text="Third time lucky."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "Third time lucky.\n"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 2


def test_no_fallback_on_bad_input(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    write_config(mmcli_env, "retries = 0\n")
    fake_openai.queue(Reply(status=400, error_message="Invalid value for temperature"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--fallback", "claude-haiku-4-5", "Q"], mmcli_env)
    assert done.returncode == 1
    assert "refused the request (400)" in done.stderr
    assert fake_anthropic.generation_requests == []


def test_every_model_failing_reports_the_last_failure(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    write_config(mmcli_env, "retries = 0\n")
    fake_openai.queue(Reply(status=500))
    fake_anthropic.queue(Reply(status=500))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--fallback", "claude-haiku-4-5", "Q"], mmcli_env)
    assert done.returncode == 1
    assert "anthropic had a server error (500)" in done.stderr


def test_data_files_are_private(run_mmcli, mmcli_env, fake_openai):
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "private", "Q"], mmcli_env).returncode == 0
    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    assert data.stat().st_mode & 0o777 == 0o700
    files = [p for p in data.iterdir() if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files), files
    with sqlite3.connect(data / "sessions.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- faults found in review -------------------------------------------------------------------------


def test_hyphenated_words_are_not_mistaken_for_keys(run_mmcli, mmcli_env, fake_openai):
    prompt = "Write a risk-assessment-report for the task-scheduler-service"
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "words", prompt], mmcli_env).returncode == 0
    exported = run_mmcli(["sessions", "export", "words", "--format", "json"], mmcli_env)
    assert prompt in exported.stdout


@pytest.mark.parametrize("fake_name", ["fake_anthropic", "fake_gemini"])
def test_an_error_event_mid_answer_keeps_the_partial_answer(run_mmcli, mmcli_env, request, fake_name):
    write_config(mmcli_env, "retries = 0\n")
    model = {"fake_anthropic": "claude-haiku-4-5", "fake_gemini": "gemini-2.5-flash"}[fake_name]
    request.getfixturevalue(fake_name).queue(
        Reply(text="Part one. Part two. Part three.", cut_after_chunks=4, stream_error=529, error_message="Overloaded")
    )
    done = run_mmcli(["chat", "-m", model, "-S", "midway", "Tell me"], mmcli_env)
    assert done.returncode == 1
    assert done.stdout.startswith("Part one. Part two.")
    assert "stopped mid-answer" in done.stderr and "Overloaded" in done.stderr
    shown = json.loads(run_mmcli(["sessions", "show", "midway", "--json"], mmcli_env).stdout)
    answer = shown["messages"][-1]
    assert answer["role"] == "assistant" and answer["incomplete"] is True
    assert answer["text"].startswith("Part one. Part two.")


def test_a_rejected_gemini_key_exits_3_and_falls_back(run_mmcli, mmcli_env, fake_gemini, fake_openai):
    write_config(mmcli_env, "retries = 0\n")
    fake_gemini.queue(Reply(status=400, error_type="API_KEY_INVALID", error_message="API key not valid."))
    alone = run_mmcli(["chat", "-m", "gemini-2.5-flash", "Q"], mmcli_env)
    assert alone.returncode == 3 and "GOOGLE_API_KEY" in alone.stderr
    fake_gemini.queue(Reply(status=400, error_type="API_KEY_INVALID", error_message="API key not valid."))
    fake_openai.queue(Reply(text="From the fallback."))
    done = run_mmcli(["chat", "-m", "gemini-2.5-flash", "--fallback", "gpt-4o-mini", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "From the fallback.\n"), done.stderr


def test_a_fallback_that_cannot_take_the_input_is_skipped_and_the_real_error_stays(
    run_mmcli, mmcli_env, fake_openai, fake_perplexity, tmp_path
):
    from PIL import Image

    write_config(mmcli_env, "retries = 0\n")
    image = tmp_path / "red.png"
    Image.new("RGB", (8, 8), "red").save(image)
    fake_openai.queue(Reply(status=401, error_message="bad key"))
    done = run_mmcli(
        ["chat", "-m", "gpt-4o-mini", "-i", str(image), "--fallback", "perplexity:sonar-deep-research", "Q"],
        mmcli_env,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Skipping fallback perplexity:sonar-deep-research" in lines[0]
    assert "OPENAI_API_KEY" in lines[-1]
    assert fake_perplexity.generation_requests == []


def test_an_overloaded_event_before_any_text_falls_back(run_mmcli, mmcli_env, fake_anthropic, fake_openai):
    write_config(mmcli_env, "retries = 0\n")
    fake_anthropic.queue(Reply(stream_error=529, cut_after_chunks=0, error_message="Overloaded"))
    fake_openai.queue(Reply(text="Fallback answer."))
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "--fallback", "gpt-4o-mini", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "Fallback answer.\n"), done.stderr
    assert "server error (529)" in done.stderr and "falling back to openai:gpt-4o-mini" in done.stderr
