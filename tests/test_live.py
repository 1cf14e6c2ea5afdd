"""`mmcli live` end to end: the real google-genai and openai SDKs against fake Gemini Live
(TLS, self-signed certificate through SSL_CERT_FILE) and OpenAI Realtime servers; what the
user sees, what the fakes received, what the session store keeps."""

from __future__ import annotations

import json
import wave
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import TEST_KEYS
from tests.fakes.live_audio import silence, tone, wav_bytes, write_wav
from tests.fakes.live_gemini import HEARD, FakeGeminiLive, get
from tests.fakes.live_openai import FakeOpenAIRealtime
from tests.fakes.live_server import make_certificate
from tests.test_repl import stored, stored_messages

GEMINI = "gemini:gemini-3.1-flash-live-preview"
REALTIME = "openai:gpt-realtime-2"
JSON_KEYS = {"model", "provider", "session", "turns", "input_tokens", "output_tokens", "cost_usd", "audio_out",
             "total_s", "first_audio_s", "finish_reason", "error"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def gemini_live(certificate: tuple[Path, Path]) -> Iterator[FakeGeminiLive]:
    keys = {TEST_KEYS["GOOGLE_API_KEY"], TEST_KEYS["VERTEX_API_KEY"]}
    fake = FakeGeminiLive(api_keys=keys, certificate=certificate).start()
    yield fake
    fake.stop()


@pytest.fixture
def openai_live() -> Iterator[FakeOpenAIRealtime]:
    fake = FakeOpenAIRealtime(api_key=TEST_KEYS["OPENAI_API_KEY"]).start()
    yield fake
    fake.stop()


@pytest.fixture
def env(mmcli_env, gemini_live, openai_live, certificate) -> dict[str, str]:
    return {
        **mmcli_env,
        "GOOGLE_GEMINI_BASE_URL": gemini_live.base_url,
        "GOOGLE_VERTEX_BASE_URL": gemini_live.base_url,
        "SSL_CERT_FILE": str(certificate[0]),
        "OPENAI_BASE_URL": openai_live.base_url,
    }


def live(run_mmcli, env, *args: str, input: str | bytes | None = None):  # noqa: A002
    return run_mmcli(["live", *args], env, input=input, timeout=30)


def session_names(run_mmcli, env) -> list[str]:
    listed = run_mmcli(["sessions", "list", "--json"], env)
    return [row["name"] for row in json.loads(listed.stdout)]


# --- typed and piped turns -----------------------------------------------------------------------


def test_piped_lines_are_turns_over_gemini_live_by_default(run_mmcli, env, gemini_live):
    gemini_live.replies = ["Hello there!", "Bonjour !"]
    done = live(run_mmcli, env, input="Hello\n\nAnd in French?\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello there!\n\nBonjour !\n"  # a newline after each reply, a blank line between
    assert done.stderr == ""
    (call,) = gemini_live.calls
    assert call.path.lstrip("/") == "ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    assert call.headers["x-goog-api-key"] == TEST_KEYS["GOOGLE_API_KEY"]
    setup = call.messages[0]["setup"]
    assert setup["model"] == "models/gemini-3.1-flash-live-preview"
    assert get(setup, "generation_config")["responseModalities"] == ["AUDIO"]
    assert "sliding_window" in get(setup, "context_window_compression")
    assert get(setup, "session_resumption") == {}
    sent = [get(m, "client_content") for m in call.messages[1:]]
    assert [c["turns"][0]["parts"][0]["text"] for c in sent] == ["Hello", "And in French?"]
    assert all(get(c, "turn_complete") for c in sent)
    # Saved like a chat session.
    (name,) = session_names(run_mmcli, env)
    shown = run_mmcli(["sessions", "show", name], env).stdout
    assert "And in French?" in shown and "Bonjour !" in shown


def test_piped_lines_over_openai_realtime(run_mmcli, env, openai_live):
    done = live(run_mmcli, env, "-m", REALTIME, "-s", "Be brief.", "--voice", "marin", input="Hi\nMore\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Reply 1.\n\nReply 2.\n"
    (call,) = openai_live.calls
    assert call.path == "/v1/realtime?model=gpt-realtime-2"
    assert call.headers["authorization"] == f"Bearer {TEST_KEYS['OPENAI_API_KEY']}"
    update = call.messages[0]
    assert update["type"] == "session.update"
    assert update["session"]["instructions"] == "Be brief."
    assert update["session"]["audio"]["output"]["voice"] == "marin"
    assert [m["type"] for m in call.messages[1:]] == ["conversation.item.create", "response.create"] * 2


def test_voice_detection_sensitivity_comes_from_the_config(run_mmcli, env, gemini_live, openai_live):
    from tests.test_chat import write_config

    write_config(env, '[providers.gemini]\nvad_sensitivity = "low"\n[providers.openai]\nvad_sensitivity = "high"\n')
    assert live(run_mmcli, env, input="Hi\n").returncode == 0
    detection = get(get(gemini_live.calls[0].messages[0]["setup"], "realtime_input_config"),
                    "automatic_activity_detection")
    assert get(detection, "start_of_speech_sensitivity") == "START_SENSITIVITY_LOW"
    assert get(detection, "end_of_speech_sensitivity") == "END_SENSITIVITY_LOW"
    assert live(run_mmcli, env, "-m", REALTIME, input="Hi\n").returncode == 0
    assert openai_live.calls[0].messages[0]["session"]["audio"]["input"]["turn_detection"]["threshold"] == 0.3
    write_config(env, '[providers.gemini]\nvad_sensitivity = "loud"\n')
    done = live(run_mmcli, env, input="Hi\n")
    assert done.returncode == 3 and "vad_sensitivity" in done.stderr


def test_a_non_live_model_is_refused_naming_the_live_models(run_mmcli, env):
    done = live(run_mmcli, env, "-m", "openai:gpt-4o-mini", input="Hi\n")
    assert done.returncode == 2
    assert done.stderr.startswith("mmcli: openai:gpt-4o-mini is not a live model") and REALTIME in done.stderr
    assert "Traceback" not in done.stderr
    refused = run_mmcli(["chat", "-m", REALTIME, "Hi"], env)
    assert refused.returncode == 2 and "mmcli live" in refused.stderr


def test_an_unknown_model_name_is_tried_and_only_an_openai_key_picks_openai(run_mmcli, env, openai_live):
    only_openai = {k: v for k, v in env.items() if k not in ("GOOGLE_API_KEY", "VERTEX_API_KEY")}
    assert live(run_mmcli, only_openai, input="Hi\n").returncode == 0
    done = live(run_mmcli, env, "-m", "openai:gpt-realtime-9", input="Hi\n")
    assert done.returncode == 0, done.stderr
    assert [c.path for c in openai_live.calls] == ["/v1/realtime?model=gpt-realtime-2",
                                                  "/v1/realtime?model=gpt-realtime-9"]


def test_only_a_vertex_key_picks_vertex_live(run_mmcli, env, gemini_live):
    only_vertex = {k: v for k, v in env.items() if k not in ("GOOGLE_API_KEY", "OPENAI_API_KEY")}
    done = live(run_mmcli, only_vertex, input="Hi\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Reply 1.\n"
    (call,) = gemini_live.calls
    assert call.path.lstrip("/") == "ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    assert call.messages[0]["setup"]["model"] == "publishers/google/models/gemini-live-2.5-flash-native-audio"


def test_models_lists_the_live_capability(run_mmcli, env):
    records = [line.split("\t") for line in run_mmcli(["models"], env).stdout.splitlines()]
    accepts = {fields[0]: fields[1].split(",") for fields in records}
    assert "live" in accepts[REALTIME] and "live" in accepts[GEMINI] and "live" not in accepts["openai:gpt-4o"]
    rows = {row["model"]: row for row in json.loads(run_mmcli(["models", "--json"], env).stdout)}
    assert rows[GEMINI]["live"] is True and rows["openai:gpt-4o-mini"]["live"] is False


# --- audio in, audio out -------------------------------------------------------------------------


def test_a_wav_file_is_resampled_streamed_and_ended_then_json_and_wav_out(run_mmcli, env, gemini_live, tmp_path):
    question = write_wav(tmp_path / "q.wav", tone(0.4, 48_000) * 2, 48_000, channels=2)  # 0.4 s, stereo
    answer = tmp_path / "answer.wav"
    done = live(run_mmcli, env, "--audio-in", str(question), "--audio-out", str(answer), "--fast", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) == JSON_KEYS
    assert document["turns"] == [{"user": HEARD, "answer": "Reply 1.", "interrupted": False}]
    assert document["model"] == GEMINI and document["provider"] == "gemini" and document["finish_reason"] == "stop"
    assert document["audio_out"] == str(answer) and document["error"] is None
    assert (document["input_tokens"], document["output_tokens"]) == (10, 20)
    assert document["first_audio_s"] >= 0 and document["session"] in session_names(run_mmcli, env)
    with wave.open(str(answer)) as written:
        assert (written.getnchannels(), written.getsampwidth(), written.getframerate()) == (1, 2, 24_000)
        assert written.getnframes() == int(0.3 * 24_000)  # the fake's 0.3 s reply, whole
    (call,) = gemini_live.calls
    realtime = [get(m, "realtime_input") for m in call.messages[1:]]
    assert get(realtime[0], "activity_start") == {} and get(realtime[-1], "activity_end") == {}
    assert get(get(call.messages[0]["setup"], "realtime_input_config")["automatic_activity_detection"], "disabled")
    assert len(gemini_live.audio_received[0]) == 2 * int(0.4 * 16_000)  # 16 kHz mono 16-bit
    assert not gemini_live.standard_base64  # URL-safe, as google-genai encodes it


def test_audio_from_stdin_at_real_time_pace_over_openai(run_mmcli, env, openai_live):
    done = live(run_mmcli, env, "-m", REALTIME, "--audio-in", "-", input=wav_bytes(tone(0.3, 16_000), 16_000))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Reply 1.\n"
    (call,) = openai_live.calls
    assert call.messages[0]["session"]["audio"]["input"]["turn_detection"] is None  # the file's end ends the turn
    kinds = [m["type"] for m in call.messages]
    assert kinds[-2:] == ["input_audio_buffer.commit", "response.create"]
    assert len(openai_live.audio_received[0]) == 2 * int(0.3 * 24_000)  # resampled to 24 kHz
    appended = [t for m, t in zip(call.messages, call.times, strict=True) if m["type"] == "input_audio_buffer.append"]
    assert appended[-1] - appended[0] >= 0.2  # 6 chunks of 50 ms, never faster than the audio itself


def test_other_formats_are_decoded_like_transcribe_does(run_mmcli, env, gemini_live, tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "question.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44_100, layout="mono")
        pcm = tone(0.5, 44_100)
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="mono", rate=44_100)
        for start in range(0, len(pcm), 2048):
            piece = pcm[start : start + 2048]
            audio = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
            audio.planes[0].update(piece)
            audio.sample_rate = 44_100
            for converted in resampler.resample(audio):  # the AAC encoder takes planar floats
                for packet in stream.encode(converted):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    done = live(run_mmcli, env, "--audio-in", str(path), "--fast")
    assert done.returncode == 0, done.stderr
    assert abs(len(gemini_live.audio_received[0]) - 2 * 8_000) < 2 * 1_600  # about 0.5 s at 16 kHz


def test_an_unreadable_audio_file_is_exit_2_before_connecting(run_mmcli, env, gemini_live, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    done = live(run_mmcli, env, "--audio-in", str(bad))
    assert done.returncode == 2 and done.stderr.startswith("mmcli: ") and len(done.stderr.splitlines()) == 1
    assert gemini_live.calls == []


# --- images ---------------------------------------------------------------------------------------


def test_images_from_the_flag_and_slash_image_join_the_conversation(run_mmcli, env, gemini_live, tmp_path):
    from PIL import Image

    first, second = tmp_path / "fridge.png", tmp_path / "shelf.jpg"
    Image.new("RGB", (8, 8), "red").save(first)
    Image.new("RGB", (8, 8), "blue").save(second)
    done = live(run_mmcli, env, "-S", "kitchen", "-i", str(first),
                input=f"What can I cook?\n/image {second}\nAnd now?\n")
    assert done.returncode == 0, done.stderr
    assert [(mime, data[:4]) for mime, data in gemini_live.images] == [
        ("image/png", b"\x89PNG"), ("image/jpeg", b"\xff\xd8\xff\xe0")]
    rows = stored_messages(env, "kitchen")
    kinds = [[p["kind"] for p in json.loads(parts)] for _, parts, _ in rows]
    assert kinds == [["text", "image"], ["text"], ["text", "image"], ["text"]]


# --- sessions -------------------------------------------------------------------------------------


def test_a_resumed_session_sends_its_turns_as_context(run_mmcli, env, gemini_live, openai_live):
    assert live(run_mmcli, env, "-S", "trip", input="Plan a trip\n").returncode == 0
    again = live(run_mmcli, env, "-S", "trip", input="And in March?\n")
    assert again.returncode == 0, again.stderr
    first, second = gemini_live.calls
    assert get(get(second.messages[0]["setup"], "history_config"), "initial_history_in_client_content") is True
    history = get(second.messages[1], "client_content")
    assert [t["parts"][0]["text"] for t in history["turns"]] == ["Plan a trip", "Reply 1."]
    assert [t["role"] for t in history["turns"]] == ["user", "model"] and get(history, "turn_complete")
    assert get(second.messages[2], "client_content")["turns"][0]["parts"][0]["text"] == "And in March?"
    assert again.stdout == "Reply 2.\n"  # the history itself was not answered
    # -c with -m: the same session on OpenAI, its turns as conversation items.
    assert live(run_mmcli, env, "-c", "-m", REALTIME, input="Thanks\n").returncode == 0
    items = [m["item"] for m in openai_live.calls[0].messages if m["type"] == "conversation.item.create"]
    assert [(i["role"], i["content"][0]["text"]) for i in items] == [
        ("user", "Plan a trip"), ("assistant", "Reply 1."), ("user", "And in March?"), ("assistant", "Reply 2."),
        ("user", "Thanks")]


def test_continuing_a_chat_session_uses_the_default_live_model(run_mmcli, env, gemini_live, fake_openai):
    from tests.fakes import Reply

    fake_openai.queue(Reply(text="Chat answer."))
    chat_env = {**env, "OPENAI_BASE_URL": fake_openai.base_url}
    assert run_mmcli(["chat", "-S", "mixed", "-m", "openai:gpt-4o-mini", "Hi"], chat_env).returncode == 0
    done = live(run_mmcli, env, "-c", input="Go on\n")
    assert done.returncode == 0, done.stderr
    assert gemini_live.calls[0].messages[0]["setup"]["model"] == "models/gemini-3.1-flash-live-preview"
    listed = json.loads(run_mmcli(["sessions", "list", "--json"], env).stdout)
    assert [row["model"] for row in listed if row["name"] == "mixed"] == ["openai:gpt-4o-mini"]  # still a chat


# --- long sessions, ends and errors ---------------------------------------------------------------


def test_go_away_reconnects_with_the_resumption_handle_losing_nothing(run_mmcli, env, gemini_live):
    gemini_live.go_away_after_turn = 1
    done = live(run_mmcli, env, input="One\nTwo\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Reply 1.\n\nReply 2.\n" and done.stderr == ""
    first, second = gemini_live.calls
    assert get(get(second.messages[0]["setup"], "session_resumption"), "handle") == "handle-1"
    assert [get(m, "client_content")["turns"][0]["parts"][0]["text"] for m in second.messages[1:]] == ["Two"]


def test_a_refused_setup_is_one_sentence_and_exit_1(run_mmcli, env, gemini_live):
    gemini_live.reject_setup = "models/gemini-9 is not found for API version v1beta, or is not supported"
    done = live(run_mmcli, env, "-m", "gemini:gemini-9", input="Hi\n")
    assert done.returncode == 1
    # (after the note that gemini-9 is not a model mmcli knows, and is tried anyway)
    assert done.stderr.splitlines()[-1] == (
        "mmcli: gemini refused the live session (close code 1008): models/gemini-9 is not found "
        "for API version v1beta, or is not supported.")


@pytest.mark.parametrize("model, variable", [(GEMINI, "GOOGLE_API_KEY"), (REALTIME, "OPENAI_API_KEY")])
def test_a_bad_key_is_exit_3(run_mmcli, env, model, variable):
    done = live(run_mmcli, {**env, variable: "wrong-key-0000"}, "-m", model, input="Hi\n")
    assert done.returncode == 3
    assert "rejected the API key" in done.stderr and variable in done.stderr and "wrong-key" not in done.stderr


def test_network_loss_mid_reply_is_exit_1_with_the_transcript_kept(run_mmcli, env, gemini_live):
    gemini_live.drop_during_turn = 2
    gemini_live.replies = ["First answer.", "Second answer that breaks"]
    done = live(run_mmcli, env, "-S", "flaky", "--json", input="One\nTwo\n")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["finish_reason"] == "error" and "broke mid-session" in document["error"]
    assert [t["user"] for t in document["turns"]] == ["One", "Two"]
    assert done.stderr.startswith("mmcli: The connection to gemini broke mid-session")
    rows = stored_messages(env, "flaky")
    assert [(role, incomplete) for role, _, incomplete in rows] == [
        ("user", 0), ("assistant", 0), ("user", 0), ("assistant", 1)]
    endings = stored(env, "SELECT finish_reason FROM messages WHERE role = 'assistant' ORDER BY seq")
    assert endings == [("stop",), ("error",)]


def test_a_normal_close_by_the_server_ends_the_session_without_failing(run_mmcli, env, openai_live):
    openai_live.close_after_turn = 1
    done = live(run_mmcli, env, "-m", REALTIME, input="One\nTwo\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Reply 1.\n" and done.stderr == "mmcli: openai ended the live session.\n"


def test_the_openai_60_minute_limit_is_told_in_one_sentence(run_mmcli, env, openai_live):
    openai_live.expires_in_s = 60.5  # the warning is due half a second in
    openai_live.delay_s = 1.0
    done = live(run_mmcli, env, "-m", REALTIME, input="Hi\n")
    assert done.returncode == 0
    (line,) = done.stderr.splitlines()
    assert line.startswith("mmcli: ") and "60-minute limit" in line


# --- the terminal, the microphone, the speaker ----------------------------------------------------


def test_typed_turns_in_a_terminal_and_ctrl_c_keeps_what_was_said(spawn_mmcli, env, gemini_live):
    gemini_live.replies = ["Short one.", "A long answer that is still being spoken when the user gives up"]
    gemini_live.pace, gemini_live.reply_audio_s = 1.0, 3.0
    gemini_live.chunk_s = 0.1
    child = spawn_mmcli(["live", "-S", "typed"], env)
    child.expect_exact("> ")
    child.sendline("Hello")
    child.expect_exact("Short one.")
    child.expect_exact("> ")
    child.sendline("Tell me more")
    child.expect_exact("A long")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Interrupted." in child.before
    rows = stored_messages(env, "typed")
    assert [(role, incomplete) for role, _, incomplete in rows] == [
        ("user", 0), ("assistant", 0), ("user", 0), ("assistant", 1)]
    assert json.loads(rows[3][1])[0]["text"].startswith("A long")
    endings = stored(env, "SELECT finish_reason FROM messages WHERE role = 'assistant' ORDER BY seq")
    assert endings == [("stop",), ("interrupted",)]


def test_sigterm_ends_with_143_keeping_what_was_said(env, gemini_live, mmcli_cwd):
    import subprocess
    import sys
    import time

    gemini_live.replies = ["First.", "A second answer that never ends"]
    gemini_live.pace, gemini_live.reply_seconds = 1.0, [0.3, 5.0]
    child = subprocess.Popen([sys.executable, "-m", "mmcli", "live", "-S", "term"], env=env, cwd=mmcli_cwd,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdin.write(b"One\nTwo\n")
    child.stdin.flush()
    deadline = time.monotonic() + 20
    while gemini_live.pieces_sent < 3 + 2 and time.monotonic() < deadline:  # 3 of the first answer, 2 of the second
        time.sleep(0.02)
    child.terminate()
    out, err = child.communicate(timeout=20)
    assert child.returncode == 143, err
    assert out.decode().startswith("First.\n\nA") and b"Interrupted." in err
    rows = stored_messages(env, "term")
    assert [(role, incomplete) for role, _, incomplete in rows] == [
        ("user", 0), ("assistant", 0), ("user", 0), ("assistant", 1)]


def test_what_the_user_said_goes_to_stderr_in_a_terminal_never_to_stdout(env, tmp_path, mmcli_cwd):
    import shlex
    import sys

    question = write_wav(tmp_path / "q.wav", tone(0.2, 16_000), 16_000)
    out = tmp_path / "out.txt"
    command = f"{shlex.quote(sys.executable)} -m mmcli live --audio-in {question} --fast > {out}"
    child = pexpect.spawn("bash", ["-c", command], env=env, cwd=str(mmcli_cwd), timeout=30, encoding="utf-8")
    child.expect_exact(f"you: {HEARD}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert out.read_text() == "Reply 1.\n"


def fake_devices(env: dict[str, str], tmp_path: Path, mic_pcm: bytes | None, rate: int) -> dict[str, str]:
    devices = {**env, "MMCLI_AUDIO_BACKEND": "tests.fakes.audio_device",
               "MMCLI_FAKE_SPEAKER": str(tmp_path / "speaker.jsonl")}
    if mic_pcm is not None:
        devices["MMCLI_FAKE_MIC"] = str(write_wav(tmp_path / "mic.wav", mic_pcm, rate))
    return devices


def speaker_log(devices: dict[str, str]) -> list[dict]:
    return [json.loads(line) for line in Path(devices["MMCLI_FAKE_SPEAKER"]).read_text().splitlines()]


def test_talking_over_the_model_stops_its_audio_at_once(run_mmcli, env, gemini_live, tmp_path):
    # Speech, a pause (the server answers, slowly), speech again over the answer, a pause.
    rate = 16_000
    mic = tone(0.3, rate) + silence(0.5, rate) + tone(0.3, rate) + silence(1.0, rate)
    devices = fake_devices(env, tmp_path, mic, rate)
    # Faster than real time, as real servers send: the speaker has audio queued when the user talks.
    gemini_live.pace, gemini_live.reply_seconds = 0.5, [3.0, 0.3]
    gemini_live.replies = ["I was saying something long", "Yes?"]
    done = live(run_mmcli, devices, "--mic", "--speak", "--json")
    assert done.returncode == 0, done.stderr
    turns = json.loads(done.stdout)["turns"]
    assert turns[0]["interrupted"] is True and turns[0]["user"] == HEARD
    assert turns[1] == {"user": HEARD, "answer": "Yes?", "interrupted": False}
    log = speaker_log(devices)
    cleared = [i for i, e in enumerate(log) if e["event"] == "cleared"]
    assert cleared and log[cleared[0]]["bytes"] > 0  # queued audio of the first reply was dropped, not played
    queued_before = sum(e["bytes"] for e in log[: cleared[0]] if e["event"] == "queued")
    played_before = sum(e["bytes"] for e in log[: cleared[0]] if e["event"] == "played")
    assert played_before < queued_before
    # Server-side voice detection: no manual activity markers were sent.
    setup = gemini_live.calls[0].messages[0]["setup"]
    assert get(setup, "realtime_input_config") is None


def test_talking_over_openai_realtime_cancels_its_answer(run_mmcli, env, openai_live, tmp_path):
    rate = 24_000
    mic = tone(0.3, rate) + silence(0.5, rate) + tone(0.3, rate) + silence(1.0, rate)
    devices = fake_devices(env, tmp_path, mic, rate)
    openai_live.pace, openai_live.reply_seconds = 0.5, [3.0, 0.3]
    openai_live.replies = ["I was saying something long", "Yes?"]
    done = live(run_mmcli, devices, "-m", REALTIME, "--mic", "--speak", "--json")
    assert done.returncode == 0, done.stderr
    turns = json.loads(done.stdout)["turns"]
    assert turns[0]["interrupted"] is True and turns[0]["user"] == HEARD
    assert turns[1] == {"user": HEARD, "answer": "Yes?", "interrupted": False}
    assert any(e["event"] == "cleared" and e["bytes"] > 0 for e in speaker_log(devices))
    (call,) = openai_live.calls
    assert call.messages[0]["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert "input_audio_buffer.commit" not in [m["type"] for m in call.messages]  # the server's detection commits
    # The cut answer's item is truncated where playback stopped: some of it was heard, not all 3 s.
    (truncate,) = [m for m in call.messages if m["type"] == "conversation.item.truncate"]
    assert 0 < truncate["audio_end_ms"] < 3000 and truncate["content_index"] == 0


def test_speak_without_the_audio_extra_names_the_install_command(run_mmcli, env, gemini_live):
    done = live(run_mmcli, env, "--speak", input="Hi\n")
    assert done.returncode == 2
    assert "pip install 'mmcli[audio]'" in done.stderr and len(done.stderr.splitlines()) == 1
    assert gemini_live.calls == []
