"""One-shot `mmcli chat` through the real SDKs against the fake servers:
what it prints in a pipe, what each server received, and how it fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest

ANSI = "\x1b["


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["MMCLI_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only_keys(env: dict[str, str], *keep: str) -> dict[str, str]:
    """The environment with every provider key removed except ``keep``."""
    keys = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "PERPLEXITY_API_KEY", "VERTEX_API_KEY")
    return {k: v for k, v in env.items() if k not in keys or k in keep}


# --- each provider, in a pipe ---------------------------------------------------------------------


def test_openai_streams_raw_text_and_sends_the_whole_request(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Three **bullets** here."))
    done = run_mmcli(
        ["chat", "-m", "openai:gpt-4o-mini", "-s", "Be terse.", "-t", "0.2", "--max-tokens", "50", "Explain the GIL"],
        mmcli_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Three **bullets** here.\n"
    assert ANSI not in done.stdout and done.stderr == ""
    body = fake_openai.generation_requests[-1].json
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Explain the GIL"},
    ]
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 50
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_anthropic_gets_system_and_temperature_in_its_own_format(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.queue(Reply(text="Claude answers."))
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "-s", "Sys", "-t", "0.7", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Claude answers.\n"
    request = fake_anthropic.generation_requests[-1]
    assert request.path == "/v1/messages"
    assert request.api_key == "sk-ant-test-0123456789"
    body = request.json
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == "Sys"
    assert body["temperature"] == 0.7
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert body["max_tokens"] > 0


def test_gemini_streams_with_alt_sse_and_system_instruction(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text="Gemini answers."))
    done = run_mmcli(["chat", "-m", "gemini:gemini-2.5-flash", "-s", "Sys", "-t", "1", "Hello"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Gemini answers.\n"
    request = fake_gemini.generation_requests[-1]
    assert request.path.endswith("/models/gemini-2.5-flash:streamGenerateContent")
    assert request.query.get("alt") == "sse"
    body = request.json
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hello"}]}]
    assert body["systemInstruction"]["parts"][0]["text"] == "Sys"
    assert body["generationConfig"]["temperature"] == 1


def test_both_google_key_variables_set_leaves_stderr_empty(run_mmcli, mmcli_env, fake_gemini):
    env = {**mmcli_env, "GEMINI_API_KEY": "AIzaAnother0123456789abcdefghij"}
    done = run_mmcli(["chat", "-m", "gemini-2.5-flash", "Hello"], env)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_vertex_express_mode_uses_the_vertex_path(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text="Vertex answers."))
    done = run_mmcli(["chat", "-m", "vertex:gemini-2.5-flash", "Hello"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Vertex answers.\n"
    request = fake_gemini.generation_requests[-1]
    assert "publishers/google/models/gemini-2.5-flash:streamGenerateContent" in request.path
    assert request.api_key == "vertex-test-key-0123"


def test_vertex_project_mode_uses_application_default_credentials(run_mmcli, mmcli_env, fake_gemini, tmp_path):
    from tests.fakes import write_adc_file
    from tests.fakes.google_auth import FAKE_ACCESS_TOKEN

    env = only_keys(mmcli_env)
    env.update(
        GOOGLE_APPLICATION_CREDENTIALS=str(write_adc_file(tmp_path / "adc.json")),
        VERTEX_PROJECT_ID="my-project",
        VERTEX_LOCATION="europe-west4",
    )
    fake_gemini.queue(Reply(text="Vertex with ADC."))
    done = run_mmcli(["chat", "-m", "vertex:gemini-2.5-flash", "Hello"], env)
    assert (done.returncode, done.stdout) == (0, "Vertex with ADC.\n"), done.stderr
    request = fake_gemini.generation_requests[-1]
    assert "/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:" in request.path
    assert request.api_key == FAKE_ACCESS_TOKEN


@pytest.mark.parametrize("provider", ["ollama", "compat"])
def test_openai_compatible_servers(run_mmcli, mmcli_env, fake_openai, provider):
    fake_openai.queue(Reply(text=f"{provider} here."))
    done = run_mmcli(["chat", "-m", f"{provider}:llama3.2", "Hello"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{provider} here.\n"
    body = fake_openai.generation_requests[-1].json
    assert body["model"] == "llama3.2"
    assert "max_completion_tokens" not in body


def test_perplexity_citations_follow_the_answer(run_mmcli, mmcli_env, fake_perplexity):
    urls = ["https://www.python.org/downloads/", "https://docs.python.org/3/whatsnew/"]
    fake_perplexity.queue(Reply(text="Python 3.14 is the latest.", citations=urls))
    done = run_mmcli(["chat", "-m", "perplexity:sonar", "Latest Python release?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "Python 3.14 is the latest.\n\nSources:\n"
        "1. https://www.python.org/downloads/\n2. https://docs.python.org/3/whatsnew/\n"
    )
    assert fake_perplexity.generation_requests[-1].path == "/chat/completions"


def test_json_is_one_document_with_citations_and_usage(run_mmcli, mmcli_env, fake_perplexity):
    fake_perplexity.queue(Reply(text="Answer.", citations=["https://a.example/"], usage=(12, 3)))
    done = run_mmcli(["chat", "-m", "sonar", "--json", "Q?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) == {
        "model", "provider", "answer", "input_tokens", "output_tokens", "ttft_s",
        "total_s", "cost_usd", "cached", "citations", "session", "finish_reason", "error",
    }
    assert document["finish_reason"] == "stop" and document["error"] is None
    assert document["answer"] == "Answer."
    assert (document["model"], document["provider"]) == ("sonar", "perplexity")
    assert (document["input_tokens"], document["output_tokens"]) == (12, 3)
    assert document["citations"] == ["https://a.example/"]
    assert document["cached"] is False
    assert document["session"].endswith("-q")  # every one-shot is kept, under an automatic name
    assert document["cost_usd"] == pytest.approx((12 * 1.0 + 3 * 1.0) / 1e6)


def test_continue_picks_up_a_plain_one_shot(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Nice to meet you, Ann."), Reply(text="Your name is Ann."))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "My name is Ann"], mmcli_env).returncode == 0
    done = run_mmcli(["chat", "-c", "What is my name?"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "Your name is Ann.\n"), done.stderr
    assert fake_openai.generation_requests[-1].json["messages"] == [
        {"role": "user", "content": "My name is Ann"},
        {"role": "assistant", "content": "Nice to meet you, Ann."},
        {"role": "user", "content": "What is my name?"},
    ]


def test_no_stream_prints_the_same_text_once(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="All at once."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-stream", "Hi"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "All at once.\n")


# --- thinking is never answer text ----------------------------------------------------------------


def test_anthropic_thinking_is_not_printed(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.queue(Reply(text="The answer is 4.", thinking="SECRET REASONING 2+2"))
    done = run_mmcli(["chat", "-m", "claude-sonnet-4-5", "2+2?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The answer is 4.\n"
    assert "SECRET" not in done.stdout + done.stderr


def test_gemini_thought_parts_are_not_printed(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text="Paris.", thinking="SECRET REASONING about France"))
    done = run_mmcli(["chat", "-m", "gemini-2.5-pro", "Capital of France?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Paris.\n"


# --- input ----------------------------------------------------------------------------------------


def test_prompt_comes_first_then_piped_text(run_mmcli, mmcli_env, fake_openai):
    diff = "diff --git a/x b/x\n+added line\n"
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Write a commit message for this diff"], mmcli_env, input=diff)
    assert done.returncode == 0, done.stderr
    sent = fake_openai.generation_requests[-1].json["messages"][-1]["content"]
    assert sent == "Write a commit message for this diff\n\ndiff --git a/x b/x\n+added line"


def test_piped_text_alone_is_the_prompt(run_mmcli, mmcli_env, fake_openai):
    done = run_mmcli(["chat", "-m", "gpt-4o-mini"], mmcli_env, input="What is 2+2?\n")
    assert done.returncode == 0, done.stderr
    assert fake_openai.generation_requests[-1].json["messages"][-1]["content"] == "What is 2+2?"


@pytest.mark.parametrize(
    ("data", "phrase"),
    [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"), (b"caf\xe9 au lait", "UTF-8")],
)
def test_binary_or_undecodable_stdin_is_a_usage_error(run_mmcli, mmcli_env, fake_openai, data, phrase):
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Summarise"], mmcli_env, input=data)
    assert done.returncode == 2
    assert phrase in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert fake_openai.generation_requests == []


def test_empty_prompt_is_a_usage_error(run_mmcli, mmcli_env):
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "   "], mmcli_env, input="")
    assert done.returncode == 2
    assert "prompt is empty" in done.stderr


def test_temperature_out_of_range(run_mmcli, mmcli_env, fake_openai):
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-t", "3.5", "Hi"], mmcli_env)
    assert done.returncode == 2 and "openai:gpt-4o-mini takes a temperature from 0 to 2, not 3.5" in done.stderr
    assert fake_openai.generation_requests == []


@pytest.mark.parametrize(
    ("model", "value", "sentence"),
    [
        ("claude-haiku-4-5", "1.5", "anthropic:claude-haiku-4-5 takes a temperature from 0 to 1, not 1.5"),
        ("o4-mini", "0.5", "openai:o4-mini takes only its default temperature"),
        ("gpt-5-mini", "1", "openai:gpt-5-mini takes only its default temperature"),
    ],
)
def test_temperature_the_model_cannot_take_is_refused_before_sending(
    run_mmcli, mmcli_env, fake_openai, fake_anthropic, model, value, sentence
):
    done = run_mmcli(["chat", "-m", model, "-t", value, "Hi"], mmcli_env)
    assert done.returncode == 2 and sentence in done.stderr
    assert fake_openai.generation_requests == [] and fake_anthropic.generation_requests == []


def test_temperature_within_the_providers_range_is_sent(run_mmcli, mmcli_env, fake_anthropic):
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "-t", "0.7", "--no-cache", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert fake_anthropic.generation_requests[0].json["temperature"] == 0.7


def test_fallback_leaves_out_a_temperature_it_cannot_take(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    fake_openai.queue(Reply(status=401, error_message="bad key"))
    done = run_mmcli(
        ["chat", "-m", "gpt-4o-mini", "-t", "1.5", "--fallback", "claude-haiku-4-5", "--no-cache", "Hi"],
        mmcli_env,
    )
    assert done.returncode == 0, done.stderr
    assert "Leaving out -t 1.5 for anthropic:claude-haiku-4-5" in done.stderr
    assert "temperature" not in fake_anthropic.generation_requests[0].json


# --- model naming and defaults --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "fake_name"),
    [
        (("GOOGLE_API_KEY", "OPENAI_API_KEY"), "fake_gemini"),
        (("OPENAI_API_KEY", "ANTHROPIC_API_KEY"), "fake_openai"),
        (("ANTHROPIC_API_KEY", "PERPLEXITY_API_KEY"), "fake_anthropic"),
        (("PERPLEXITY_API_KEY",), "fake_perplexity"),
    ],
)
def test_default_model_follows_the_first_key_set(run_mmcli, mmcli_env, request, keys, fake_name):
    fake = request.getfixturevalue(fake_name)
    done = run_mmcli(["chat", "Hi"], only_keys(mmcli_env, *keys))
    assert done.returncode == 0, done.stderr
    assert len(fake.generation_requests) == 1


def test_config_default_model_and_alias(run_mmcli, mmcli_env, fake_anthropic, fake_gemini):
    write_config(
        mmcli_env,
        'default_model = "fast"\n[aliases]\nfast = "anthropic:claude-haiku-4-5"\n',
    )
    done = run_mmcli(["chat", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert fake_anthropic.generation_requests[-1].json["model"] == "claude-haiku-4-5"
    assert fake_gemini.generation_requests == []


def test_no_key_at_all_says_how_to_set_one(run_mmcli, mmcli_env):
    env = only_keys(mmcli_env)
    env["OLLAMA_HOST"] = "http://127.0.0.1:9"  # nothing listens there
    done = run_mmcli(["chat", "Hi"], env)
    assert done.returncode == 3
    assert "GOOGLE_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_missing_key_for_the_chosen_provider_names_the_variable(run_mmcli, mmcli_env):
    done = run_mmcli(["chat", "-m", "anthropic:claude-haiku-4-5", "Hi"], only_keys(mmcli_env, "OPENAI_API_KEY"))
    assert done.returncode == 3
    assert "ANTHROPIC_API_KEY" in done.stderr


@pytest.mark.parametrize("spec", ["nosuch:model", "mystery-model"])
def test_unknown_provider_or_model_is_a_config_error(run_mmcli, mmcli_env, spec):
    done = run_mmcli(["chat", "-m", spec, "Hi"], mmcli_env)
    assert done.returncode == 3
    assert spec.split(":")[0] in done.stderr


# --- configuration precedence ---------------------------------------------------------------------


def test_dotenv_in_cwd_is_read_but_never_overrides_the_environment(run_mmcli, mmcli_env, fake_openai, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(
        "OPENAI_API_KEY=sk-from-dotenv-0123456789\nANTHROPIC_API_KEY=sk-ant-dotenv-01234567\n"
    )
    env = only_keys(mmcli_env, "ANTHROPIC_API_KEY")
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], env, cwd=project)
    assert done.returncode == 0, done.stderr
    assert fake_openai.generation_requests[-1].api_key == "sk-from-dotenv-0123456789"
    # The real environment wins over .env.
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], mmcli_env, cwd=project)
    assert done.returncode == 0, done.stderr
    assert fake_openai.generation_requests[-1].api_key == "sk-test-openai-0123456789"


def test_config_toml_base_url_for_compat(run_mmcli, mmcli_env, fake_openai):
    env = dict(mmcli_env)
    del env["MMCLI_COMPAT_BASE_URL"]
    write_config(env, f'[providers.compat]\nbase_url = "{fake_openai.base_url}"\n')
    done = run_mmcli(["chat", "-m", "compat:local", "Hi"], env)
    assert done.returncode == 0, done.stderr
    assert fake_openai.generation_requests[-1].json["model"] == "local"


@pytest.mark.parametrize(
    ("filename", "content"),
    [("config.toml", "default_model = [unclosed\n"), (".env", "OPENAI_API_KEY='unterminated\nX Y\n")],
)
def test_malformed_config_files_exit_3(run_mmcli, mmcli_env, filename, content):
    write_config(mmcli_env, "")
    (Path(mmcli_env["MMCLI_CONFIG_DIR"]) / filename).write_text(content)
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], mmcli_env)
    assert done.returncode == 3, done.stderr
    assert filename in done.stderr and "Traceback" not in done.stderr


# --- failures -------------------------------------------------------------------------------------

NO_RETRIES = "retries = 0\n"


def test_rejected_key_exits_3_and_never_prints_the_key(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, NO_RETRIES)
    key = mmcli_env["OPENAI_API_KEY"]
    fake_openai.queue(Reply(status=401, error_message=f"Incorrect API key provided: {key}"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], mmcli_env)
    assert done.returncode == 3
    assert "OPENAI_API_KEY" in done.stderr
    assert key not in done.stdout + done.stderr


def test_server_error_after_retries_exits_1(run_mmcli, mmcli_env, fake_anthropic):
    write_config(mmcli_env, "retries = 1\n")
    fake_anthropic.queue(Reply(status=500, error_message="boom"), Reply(status=500, error_message="boom"))
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "Hi"], mmcli_env)
    assert done.returncode == 1
    assert "server error (500)" in done.stderr
    assert len(fake_anthropic.generation_requests) == 2  # the SDK's own retry ran
    assert len(done.stderr.strip().splitlines()) == 1


def test_stream_cut_keeps_what_arrived_and_exits_1(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, NO_RETRIES)
    fake_openai.queue(Reply(text="one two three four five six", cut_after_chunks=3))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], mmcli_env)
    assert done.returncode == 1
    assert done.stdout.startswith("one two three")
    assert "broke" in done.stderr or "closed" in done.stderr


def test_debug_shows_a_traceback(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, NO_RETRIES)
    fake_openai.queue(Reply(status=500, error_message="boom"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], {**mmcli_env, "MMCLI_DEBUG": "1"})
    assert done.returncode != 0 and "Traceback" in done.stderr


# --- models ---------------------------------------------------------------------------------------


def test_models_json_lists_capabilities_defaults_and_keys(run_mmcli, mmcli_env):
    done = run_mmcli(["models", "--json"], only_keys(mmcli_env, "OPENAI_API_KEY"))
    assert done.returncode == 0, done.stderr
    rows = {row["model"]: row for row in json.loads(done.stdout)}
    assert rows["openai:gpt-4o-mini"]["default"] is True
    assert rows["openai:gpt-4o-mini"]["key_set"] is True
    assert rows["anthropic:claude-haiku-4-5"]["key_set"] is False
    assert "audio" in rows["gemini:gemini-2.5-flash"]["accepts"]
    assert "audio" not in rows["anthropic:claude-haiku-4-5"]["accepts"]


def test_models_table_in_a_pipe_has_no_escape_codes(run_mmcli, mmcli_env):
    done = run_mmcli(["models"], mmcli_env)
    assert done.returncode == 0
    assert "anthropic:claude-haiku-4-5" in done.stdout and ANSI not in done.stdout


def test_version_and_help(run_mmcli, mmcli_env):
    assert run_mmcli(["--version"], mmcli_env).stdout.startswith("mmcli ")
    commands = [[], ["chat"], ["models"], ["analyze-image"], ["transcribe"], ["compare"], ["sessions"], ["cache"]]
    commands += [["sessions", sub] for sub in ("list", "show", "export", "rename", "delete")]
    commands += [["cache", sub] for sub in ("stats", "clear")]
    for command in commands:
        done = run_mmcli([*command, "--help"], mmcli_env)
        assert done.returncode == 0 and "Example" in done.stdout, command
