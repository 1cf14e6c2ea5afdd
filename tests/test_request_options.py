"""One way from the flags to the wire (issue 14): `-t` and `-i` reach the provider the same way
whichever command they were given to, and a session keeps every option that shaped its answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from mmcli.store.sessions import SessionStore
from tests.fakes import Reply
from tests.test_multimodal import image_bytes, write
from tests.test_roles import role_file
from tests.test_transcribe import write_wav


def _image_url(body: dict) -> str:
    for message in body["messages"]:
        if isinstance(message["content"], list):
            for part in message["content"]:
                if part.get("type") == "image_url":
                    return part["image_url"]["url"]
    raise AssertionError(f"no image in {body}")


def test_temperature_and_an_image_reach_the_wire_alike_from_every_command(run_mmcli, mmcli_env, fake_openai, tmp_path):
    photo = write(tmp_path, "p.png", image_bytes((30, 30), "PNG"))
    flags = ["-m", "openai:gpt-4o-mini", "-t", "0.3", "--max-tokens", "40", "-s", "Be brief.", "--no-cache"]
    commands = [
        ["chat", "Describe this image in detail.", "-i", photo, *flags],
        ["compare", "Describe this image in detail.", "-i", photo, *flags],
        ["analyze-image", photo, *flags],
    ]
    bodies = []
    for args in commands:
        done = run_mmcli(args, mmcli_env)
        assert done.returncode == 0, (args[0], done.stderr)
        bodies.append(fake_openai.generation_requests[-1].json)
    for body in bodies:
        assert body["temperature"] == 0.3 and body["max_completion_tokens"] == 40
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    # The image goes out as the same bytes, prepared the same way, from each command.
    urls = {_image_url(body) for body in bodies}
    assert len(urls) == 1
    assert base64.b64decode(urls.pop().split(",", 1)[1])


def test_a_temperature_the_model_cannot_take_fails_alike_before_anything_is_sent(
    run_mmcli, mmcli_env, fake_anthropic, tmp_path
):
    photo = write(tmp_path, "p.png", image_bytes((30, 30), "PNG"))
    sentence = "anthropic:claude-haiku-4-5 takes a temperature from 0 to 1, not 1.5"
    for args in (["chat", "Hi"], ["analyze-image", photo]):
        done = run_mmcli([*args, "-m", "claude-haiku-4-5", "-t", "1.5"], mmcli_env)
        assert done.returncode == 2 and sentence in done.stderr, (args[0], done.stderr)
    assert fake_anthropic.generation_requests == []


def test_transcribe_checks_its_models_temperature_with_the_same_sentence(run_mmcli, mmcli_env, fake_openai, tmp_path):
    # The transcription endpoint's range is its provider's to declare (OpenAI's: 0 to 1, not chat's 0 to 2).
    wav = write_wav(tmp_path / "call.wav", 3)
    done = run_mmcli(["transcribe", str(wav), "-m", "openai:whisper-1", "-t", "1.5"], mmcli_env)
    assert done.returncode == 2
    assert "openai:whisper-1 takes a temperature from 0 to 1, not 1.5; pick a value in that range." in done.stderr
    assert fake_openai.requests == []


def test_a_session_keeps_the_schema_role_and_frame_options_it_was_asked_with(run_mmcli, mmcli_env, fake_openai):
    role_file(mmcli_env, "terse", 'system = "Be terse."\ntemperature = 0.4\n')
    fake_openai.queue(Reply(text='{"name": "Ada"}'))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-r", "terse", "--schema", "name", "--fps", "2", "-S", "kept",
                      "A famous mathematician"], mmcli_env)
    assert done.returncode == 0, done.stderr
    with SessionStore(_data_dir(mmcli_env)) as store:
        info = store.get("kept")
    assert info.system == "Be terse."
    assert info.options["temperature"] == 0.4 and info.options["role"] == "terse"
    assert info.options["video_fps"] == 2 and info.options["schema"]["properties"] == {"name": {"type": "string"}}
    # -c carries the sampling and frame options on; the schema was about that one question's output.
    done = run_mmcli(["chat", "-c", "And another?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    body = fake_openai.generation_requests[-1].json
    assert body["temperature"] == 0.4 and "response_format" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


def test_a_session_stored_by_the_previous_mmcli_resumes_and_gains_the_new_options(run_mmcli, mmcli_env, fake_openai):
    # The previous mmcli kept only temperature and max tokens in the options column (migration 4).
    fake_openai.queue(Reply(text='{"name": "Ada"}'))
    with SessionStore(_data_dir(mmcli_env)) as store:
        store.create("old", "openai:gpt-4o-mini", system="Sys", options={"temperature": 0.7, "max_tokens": 90})
    done = run_mmcli(["chat", "-S", "old", "--schema", "name", "Who?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    body = fake_openai.generation_requests[-1].json
    assert body["temperature"] == 0.7 and body["max_completion_tokens"] == 90
    with SessionStore(_data_dir(mmcli_env)) as store:
        options = store.get("old").options
    assert options["temperature"] == 0.7 and options["max_tokens"] == 90 and "schema" in options


def _data_dir(env: dict) -> Path:
    return Path(env["MMCLI_DATA_DIR"])


def test_options_json_is_plain_json(mmcli_env):
    # What sessions keep must round-trip through the JSON column unchanged.
    options = {"temperature": 0.4, "role": "terse", "schema": {"type": "object"}, "video_fps": 2.0}
    assert json.loads(json.dumps(options)) == options
