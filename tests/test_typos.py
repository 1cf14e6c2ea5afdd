"""Typos are pointed out, not passed silently: unknown config.toml keys, model names
the data file does not know (still tried), and suggestions that fit the user's keys."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from tests.test_chat import only_keys, write_config

pytestmark = pytest.mark.in_pytest


def tone(folder: Path) -> str:
    path = folder / "tone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * 1600)
    return str(path)


def mmcli_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("mmcli: ")]


# --- config.toml -----------------------------------------------------------------------------------


def test_unknown_config_keys_are_warned_about_with_did_you_mean(run_mmcli, mmcli_env, fake_openai, fake_gemini):
    path = write_config(
        mmcli_env, 'defualt_model = "gpt-4o"\ncolour = "blue"\n[cache]\nttl_day = 3\n[aliases]\nmyfast = "gpt-4o"\n'
    )
    done = run_mmcli(["chat", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    lines = mmcli_lines(done.stderr)
    assert f"mmcli: {path}: unknown setting 'defualt_model' is ignored (did you mean default_model?)." in lines
    assert f"mmcli: {path}: unknown setting 'cache.ttl_day' is ignored (did you mean cache.ttl_days?)." in lines
    assert any("'colour'" in line and "known settings: default_model" in line for line in lines)
    assert len(lines) == 3  # aliases may be named anything: no warning for 'myfast'
    # The misspelt key really was ignored: the default model came from the keys, not from it.
    assert fake_gemini.generation_requests and not fake_openai.generation_requests
    assert done.stdout.strip()


def test_a_config_of_known_keys_is_quiet(run_mmcli, mmcli_env, fake_anthropic):
    write_config(
        mmcli_env,
        'default_model = "fast"\nfallback = ["openai:gpt-4o-mini"]\ntimeout = 30\nretries = 1\n'
        '[aliases]\nfast = "anthropic:claude-haiku-4-5"\n[cache]\nttl_days = 3\nmax_mb = 20\n'
        '[providers.compat]\nbase_url = "http://127.0.0.1:9/v1"\n',
    )
    done = run_mmcli(["chat", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# --- model names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "fake_name", "ref", "suggestion"),
    [
        ("gpt-4o-mni", "fake_openai", "openai:gpt-4o-mni", "openai:gpt-4o-mini"),
        ("anthropic:claude-haiku-4.5", "fake_anthropic", "anthropic:claude-haiku-4.5", "anthropic:claude-haiku-4-5"),
    ],
)
def test_an_unknown_model_is_tried_with_a_note(run_mmcli, mmcli_env, request, spec, fake_name, ref, suggestion):
    fake = request.getfixturevalue(fake_name)
    done = run_mmcli(["chat", "-m", spec, "--json", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert mmcli_lines(done.stderr) == [
        f"mmcli: {ref} is not in mmcli's model list (mmcli models); trying it anyway (did you mean {suggestion}?)."
    ]
    assert fake.generation_requests[-1].json["model"] == ref.split(":", 1)[1]
    assert json.loads(done.stdout)["model"] == ref.split(":", 1)[1]


def test_an_unknown_model_with_nothing_close_is_noted_without_a_guess(run_mmcli, mmcli_env, fake_gemini):
    done = run_mmcli(["chat", "-m", "gemini:gemini-9-ultra-experimental", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert mmcli_lines(done.stderr) == [
        "mmcli: gemini:gemini-9-ultra-experimental is not in mmcli's model list (mmcli models); trying it anyway."
    ]


@pytest.mark.parametrize("spec", ["ollama:llama3.3-custom", "compat:my-local-model", "gpt-4o-mini", "fast"])
def test_open_ended_known_and_aliased_names_get_no_note(run_mmcli, mmcli_env, fake_openai, spec):
    write_config(mmcli_env, '[aliases]\nfast = "openai:gpt-4o"\n')
    done = run_mmcli(["chat", "-m", spec, "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_an_alias_to_an_unknown_model_names_the_model(run_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, '[aliases]\nquick = "openai:gpt-4o-mni"\n')
    done = run_mmcli(["chat", "-m", "quick", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert "openai:gpt-4o-mni is not in mmcli's model list" in done.stderr
    assert "openai:gpt-4o-mini" in done.stderr


# --- suggestions -----------------------------------------------------------------------------------


def suggested(stderr: str) -> list[str]:
    assert "such as " in stderr, stderr
    return stderr.split("such as ", 1)[1].strip().rstrip(".").split(", ")


def test_audio_suggestions_prefer_the_same_provider(run_mmcli, mmcli_env, mmcli_cwd, fake_openai):
    done = run_mmcli(["chat", "-a", tone(mmcli_cwd), "-m", "gpt-4o-mini", "What is this?"], mmcli_env)
    assert done.returncode == 2
    names = suggested(done.stderr)
    assert names[0] == "openai:gpt-4o-audio-preview"
    assert all(name.startswith("openai:") for name in names)
    assert fake_openai.requests == []


def test_suggestions_then_prefer_providers_whose_key_is_set(run_mmcli, mmcli_env, mmcli_cwd):
    # Anthropic takes no audio; of the others only OpenAI has a key here.
    env = only_keys(mmcli_env, "ANTHROPIC_API_KEY", "OPENAI_API_KEY")
    done = run_mmcli(["chat", "-a", tone(mmcli_cwd), "-m", "claude-haiku-4-5", "Hi"], env)
    assert done.returncode == 2
    assert all(name.startswith("openai:") for name in suggested(done.stderr))
    # With only Anthropic's key, the models that can take audio are suggested wherever they are.
    anthropic_only = only_keys(env, "ANTHROPIC_API_KEY")
    done = run_mmcli(["chat", "-a", tone(mmcli_cwd), "-m", "claude-haiku-4-5", "Hi"], anthropic_only)
    assert done.returncode == 2
    assert suggested(done.stderr)[0].startswith("gemini:")
