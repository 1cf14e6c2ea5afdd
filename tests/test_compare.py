"""`mmcli compare`: one prompt to several models at once, through the real
SDKs against the fake servers: concurrency, failures that stay per model,
the JSON document, the plain-text layout and the live terminal view."""

from __future__ import annotations

import json
import re
import threading
import wave
from pathlib import Path

import pexpect
import pytest

from tests.fakes import Reply
from tests.test_chat import only_keys, write_config

ANSI = "\x1b["
NO_RETRIES = "retries = 0\n"


def wav_file(folder: Path) -> str:
    path = folder / "question.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * 1600)
    return str(path)


def sections(stdout: str) -> list[tuple[str, str]]:
    """The ``## provider:model`` sections of plain output, in order, with their bodies."""
    parts = re.split(r"^## (\S+)\n\n", stdout, flags=re.MULTILINE)
    assert parts[0] == "", f"output should start with a heading: {stdout!r}"
    return list(zip(parts[1::2], parts[2::2], strict=True))


def plain_screen(child: pexpect.spawn) -> str:
    """What the pty showed, without ANSI control sequences."""
    child.expect(pexpect.EOF)
    child.close()
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)


def pty_env(env: dict[str, str]) -> dict[str, str]:
    """COLUMNS would override the pty's real width, which these tests set."""
    return {k: v for k, v in env.items() if k != "COLUMNS"}


def table_rows(stdout: str) -> dict[str, list[str]]:
    """The plain summary table's rows, by model."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and ":" in cells[0]:
            rows[cells[0]] = cells
    return rows


# --- concurrency ---------------------------------------------------------------------------------


def test_requests_run_at_the_same_time(run_mmcli, mmcli_env, fake_openai, fake_perplexity, fake_gemini, monkeypatch):
    """Each fake holds its answer until all three requests have arrived: one model after another
    would never get there. Ordering, not the clock, shows the overlap."""
    fakes = (fake_openai, fake_perplexity, fake_gemini)
    all_arrived = threading.Barrier(len(fakes), timeout=60)
    arrivals: list[str] = []
    for name, fake in zip(("OpenAI", "Sonar", "Gemini"), fakes, strict=True):
        fake.queue(Reply(text=f"{name} answers."))

        def gated(*args, _generate=fake.generate, _name=name, **kwargs):
            arrivals.append(_name)
            all_arrived.wait()  # BrokenBarrierError (no answer) when the requests came one by one
            return _generate(*args, **kwargs)

        monkeypatch.setattr(fake, "generate", gated)
    args = ["compare", "Hi", "-m", "gpt-4o-mini", "-m", "sonar", "-m", "gemini-2.5-flash", "--json"]
    done = run_mmcli(args, mmcli_env)
    assert done.returncode == 0, done.stderr
    assert sorted(arrivals) == ["Gemini", "OpenAI", "Sonar"] and not all_arrived.broken
    results = json.loads(done.stdout)["results"]
    assert [r["answer"] for r in results] == ["OpenAI answers.", "Sonar answers.", "Gemini answers."]
    assert all(r["status"] == "ok" for r in results), results


# --- failures stay per model -----------------------------------------------------------------------


def test_one_failing_model_leaves_the_others_complete(run_mmcli, mmcli_env, fake_openai, fake_anthropic, fake_gemini):
    write_config(mmcli_env, NO_RETRIES)
    fake_openai.queue(Reply(text="OpenAI's whole answer.\n\nSecond paragraph."))
    fake_anthropic.queue(Reply(status=500, error_message="overloaded right now"))
    fake_gemini.queue(Reply(text="Gemini's whole answer."))
    done = run_mmcli(
        ["compare", "Explain CRDTs", "-m", "openai:gpt-4o-mini", "-m", "anthropic:claude-haiku-4-5",
         "-m", "gemini:gemini-2.5-flash"],
        mmcli_env,
    )
    assert done.returncode == 1
    [(m1, openai), (m2, anthropic), (m3, gemini)] = sections(done.stdout)
    assert (m1, m2, m3) == ("openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "gemini:gemini-2.5-flash")
    assert openai.startswith("OpenAI's whole answer.\n\nSecond paragraph.\n")
    assert gemini.startswith("Gemini's whole answer.\n")
    assert anthropic.startswith("[error] ") and "overloaded" in anthropic
    rows = table_rows(done.stdout)
    assert [rows[m][1] for m in (m1, m2, m3)] == ["ok", "error", "ok"]
    # One sentence on stderr for the model that failed, none for the others, no traceback.
    assert done.stderr.count("mmcli: ") == 1 and "anthropic:claude-haiku-4-5" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_model_that_cannot_take_the_attachment_is_refused_while_the_others_run(
    run_mmcli, mmcli_env, fake_anthropic, fake_gemini, mmcli_cwd
):
    audio = wav_file(mmcli_cwd)
    fake_gemini.queue(Reply(text="You asked about the weather."))
    done = run_mmcli(
        ["compare", "Answer the question", "-a", audio, "-m", "claude-haiku-4-5", "-m", "gemini-2.5-flash", "--json"],
        mmcli_env,
    )
    assert done.returncode == 1, done.stderr
    claude, gemini = json.loads(done.stdout)["results"]
    assert claude["status"] == "refused" and "audio" in claude["error"] and claude["answer"] == ""
    assert gemini["status"] == "ok" and gemini["answer"] == "You asked about the weather."
    assert fake_anthropic.generation_requests == []
    parts = fake_gemini.generation_requests[-1].json["contents"][0]["parts"]
    assert any("inlineData" in p for p in parts)

    # When every model refuses the input, it is bad input: exit 2, as with chat.
    done = run_mmcli(["compare", "Answer", "-a", audio, "-m", "claude-haiku-4-5", "-m", "gpt-4o"], mmcli_env)
    assert done.returncode == 2
    assert [s[0] for s in sections(done.stdout)] == ["anthropic:claude-haiku-4-5", "openai:gpt-4o"]
    assert fake_anthropic.generation_requests == []


def test_bad_usage_fails_before_any_request(run_mmcli, mmcli_env, fake_openai, mmcli_cwd):
    unknown = run_mmcli(["compare", "Hi", "-m", "gpt-4o-mini", "-m", "nosuch:model"], mmcli_env)
    assert unknown.returncode == 3 and "Unknown provider 'nosuch'" in unknown.stderr
    missing = run_mmcli(["compare", "Hi", "-m", "gpt-4o-mini", "-i", str(mmcli_cwd / "missing.png")], mmcli_env)
    assert missing.returncode == 2 and "missing.png" in missing.stderr
    empty = run_mmcli(["compare", "-m", "gpt-4o-mini", "-m", "sonar"], mmcli_env, input="")
    assert empty.returncode == 2 and "prompt is empty" in empty.stderr
    option = run_mmcli(["compare", "Hi", "--bogus"], mmcli_env)
    assert option.returncode == 2
    assert fake_openai.requests == []
    assert "Traceback" not in unknown.stderr + missing.stderr + empty.stderr + option.stderr


# --- output -----------------------------------------------------------------------------------------


def test_json_document_and_cached_answers(run_mmcli, mmcli_env, fake_openai, fake_perplexity):
    fake_openai.queue(Reply(text="Rain falls.", usage=(1000, 2000)))
    fake_perplexity.queue(Reply(text="Drops on tin.", citations=["https://example.org/rain"]))
    args = ["compare", "Haiku about rain", "-m", "gpt-4o-mini", "-m", "sonar", "-s", "Be brief.", "-t", "0.3",
            "--max-tokens", "40", "--json"]
    done = run_mmcli(args, mmcli_env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["prompt"] == "Haiku about rain"
    openai, sonar = document["results"]
    expected_keys = {"model", "provider", "answer", "status", "error", "ttft_s", "total_s", "input_tokens",
                     "output_tokens", "cost_usd", "cached", "citations"}
    assert expected_keys <= set(openai) and expected_keys <= set(sonar)
    assert (openai["provider"], openai["model"], openai["answer"]) == ("openai", "gpt-4o-mini", "Rain falls.")
    assert (openai["status"], openai["error"], openai["cached"]) == ("ok", None, False)
    assert (openai["input_tokens"], openai["output_tokens"]) == (1000, 2000)
    assert openai["cost_usd"] == pytest.approx(1000 * 0.15 / 1e6 + 2000 * 0.60 / 1e6)  # the price table's gpt-4o-mini
    assert 0 <= openai["ttft_s"] <= openai["total_s"]
    assert (sonar["provider"], sonar["answer"], sonar["citations"]) == ("perplexity", "Drops on tin.",
                                                                       ["https://example.org/rain"])
    # The options reached every model, each in its own format.
    openai_body = fake_openai.generation_requests[-1].json
    sonar_body = fake_perplexity.generation_requests[-1].json
    for body in (openai_body, sonar_body):
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body["temperature"] == 0.3
    assert openai_body["max_completion_tokens"] == 40

    again = run_mmcli(args, mmcli_env)
    assert again.returncode == 0, again.stderr
    results = json.loads(again.stdout)["results"]
    assert [r["cached"] for r in results] == [True, True]
    assert [r["answer"] for r in results] == ["Rain falls.", "Drops on tin."]
    assert len(fake_openai.generation_requests) == 1 and len(fake_perplexity.generation_requests) == 1


def test_plain_output_is_each_answer_under_its_heading_then_a_table(
    run_mmcli, mmcli_env, fake_openai, fake_anthropic, fake_perplexity
):
    # The first model given is the slowest: its section still comes first.
    fake_anthropic.queue(Reply(text="Claude's **summary**.", delay_s=0.5))
    fake_openai.queue(Reply(text="GPT's summary."))
    fake_perplexity.queue(Reply(text="Sonar's summary.", citations=["https://example.org/notes"]))
    done = run_mmcli(
        ["compare", "Summarise", "-m", "claude-haiku-4-5", "-m", "gpt-4o-mini", "-m", "sonar"],
        mmcli_env,
        input="meeting notes: ship on Friday\n",
    )
    assert done.returncode == 0, done.stderr
    assert ANSI not in done.stdout
    assert sections(done.stdout)[:2] == [
        ("anthropic:claude-haiku-4-5", "Claude's **summary**.\n\n"),
        ("openai:gpt-4o-mini", "GPT's summary.\n\n"),
    ]
    model, sonar = sections(done.stdout)[2]
    assert model == "perplexity:sonar"
    assert sonar.startswith("Sonar's summary.\n\nSources:\n1. https://example.org/notes\n\n| model")
    rows = table_rows(done.stdout)
    assert list(rows) == ["anthropic:claude-haiku-4-5", "openai:gpt-4o-mini", "perplexity:sonar"]
    assert all(row[1] == "ok" for row in rows.values())
    assert rows["openai:gpt-4o-mini"][-1].startswith("$")
    # The piped text followed the prompt, for every model.
    for fake in (fake_openai, fake_perplexity):
        assert fake.generation_requests[-1].json["messages"][-1]["content"] == (
            "Summarise\n\nmeeting notes: ship on Friday"
        )
    assert fake_anthropic.generation_requests[-1].json["messages"][-1]["content"] == (
        "Summarise\n\nmeeting notes: ship on Friday"
    )


def test_without_models_every_provider_with_a_key_answers(run_mmcli, mmcli_env, fake_openai, fake_gemini):
    env = only_keys(mmcli_env, "OPENAI_API_KEY", "GOOGLE_API_KEY")
    done = run_mmcli(["compare", "Hello"], env)
    assert done.returncode == 0, done.stderr
    assert sections(done.stdout)[0][0] == "gemini:gemini-2.5-flash"
    assert [s[0] for s in sections(done.stdout)] == ["gemini:gemini-2.5-flash", "openai:gpt-4o-mini"]
    assert fake_gemini.generation_requests and fake_openai.generation_requests


# --- the terminal --------------------------------------------------------------------------------------


def test_terminal_shows_columns_side_by_side_then_the_summary(spawn_mmcli, mmcli_env, fake_openai, fake_gemini,
                                                              fake_perplexity):
    fake_openai.queue(Reply(text="# OpenAI heading\n\nSome **bold** words.\n", chunk_delay_s=0.02))
    fake_gemini.queue(Reply(text="Gemini `code` here.\n", chunk_delay_s=0.02))
    fake_perplexity.queue(Reply(status=400, error_message="sonar rejected this"))
    write_config(mmcli_env, NO_RETRIES)
    child = spawn_mmcli(["compare", "Hi", "-m", "gpt-4o-mini", "-m", "gemini-2.5-flash", "-m", "sonar"],
                        pty_env(mmcli_env), dimensions=(40, 150))
    screen = plain_screen(child)
    assert child.exitstatus == 1, screen
    # Columns: the three model names on one header line.
    assert re.search(r"│ openai:gpt-4o-mini\s*│ gemini:gemini-2\.5-flash\s*│ perplexity:sonar\s*│", screen), screen
    assert "OpenAI heading" in screen and "# OpenAI heading" not in screen and "**bold**" not in screen
    assert "sonar rejected this" in screen
    summary = screen[screen.rindex("Summary") :]
    for name in ("openai:gpt-4o-mini", "gemini:gemini-2.5-flash", "perplexity:sonar"):
        assert name in summary
    assert "error" in summary and "ttft" in summary


def test_a_narrow_terminal_stacks_the_answers(spawn_mmcli, mmcli_env, fake_openai, fake_anthropic):
    fake_openai.queue(Reply(text="Stacked one."))
    fake_anthropic.queue(Reply(text="Stacked two."))
    child = spawn_mmcli(["compare", "Hi", "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5"], pty_env(mmcli_env),
                        dimensions=(40, 60))
    screen = plain_screen(child)
    assert child.exitstatus == 0, screen
    assert re.search(r"╭─ openai:gpt-4o-mini ─+╮", screen), screen
    assert re.search(r"╭─ anthropic:claude-haiku-4-5 ─+╮", screen)
    final = screen[screen.rindex("╭─ openai:gpt-4o-mini") :]
    assert final.index("Stacked one.") < final.index("anthropic:claude-haiku-4-5") < final.index("Stacked two.")
    assert "Summary" in final


def test_ctrl_c_keeps_the_answers_that_arrived(spawn_mmcli, mmcli_env, fake_openai, fake_anthropic):
    fake_openai.queue(Reply(text="The quick answer."))
    fake_anthropic.queue(Reply(hang=True))
    child = spawn_mmcli(["compare", "Hi", "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5"], pty_env(mmcli_env),
                        dimensions=(40, 120))
    child.expect("ok · ")  # the quick answer's column is finished
    fake_anthropic.wait_for_requests(1, timeout=30)
    child.sendintr()
    screen = plain_screen(child)
    assert child.exitstatus == 130, screen
    summary = screen[screen.rindex("Summary") :]
    assert re.search(r"openai:gpt-4o-mini\s+ok\b", summary), summary
    assert re.search(r"anthropic:claude-haiku-4-5\s+error\b", summary), summary
    assert "The quick answer." in screen
    assert "Interrupted before the answer was complete" in screen and "Traceback" not in screen


def test_a_reader_that_goes_away_ends_compare_quietly(mmcli_env, mmcli_cwd, fake_openai, fake_gemini):
    """`mmcli compare ... | head -1`: no thread traceback when the pipe closes mid-answer."""
    import subprocess
    import sys

    fake_openai.default = Reply(text="line\n" * 2000)
    fake_gemini.default = Reply(text="line\n" * 2000, chunk_delay_s=0.001)
    command = f'"{sys.executable}" -m mmcli compare Hi -m gpt-4o-mini -m gemini-2.5-flash --no-cache | head -1'
    done = subprocess.run(
        ["bash", "-c", command], env=mmcli_env, cwd=mmcli_cwd, capture_output=True, text=True, timeout=120
    )
    assert done.stdout == "## openai:gpt-4o-mini\n"
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
