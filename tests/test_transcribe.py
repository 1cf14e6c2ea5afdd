"""`mmcli transcribe` through the real SDKs against the fake servers: what it
prints or writes, what each server received (multipart fields, Gemini
requests and file uploads), long recordings split into pieces, the cache, and
the refusals."""

from __future__ import annotations

import base64
import json
import struct
import wave
from pathlib import Path

import pytest

from mmcli.conversation import Part
from mmcli.transcription import chunking
from tests.fakes import FormFile, Reply
from tests.fakes.transcription import answer_from_audio, file_store, wav_facts

pytestmark = pytest.mark.in_pytest

RATE = 8000  # 16-bit mono: 16,000 bytes a second
BYTES_PER_SECOND = RATE * 2
SRT = "1\n00:00:00,000 --> 00:00:01,500\nGuten Tag.\n\n2\n00:00:01,500 --> 00:00:03,000\nWie geht's?\n"


def write_wav(path: Path, seconds: int, base: int = 0) -> Path:
    """A staircase: the sample level is base + 100 x the second it is in, so each second is recognisable."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(b"".join(struct.pack("<h", base + 100 * s) * RATE for s in range(seconds)))
    return path


@pytest.fixture
def wav(mmcli_cwd: Path) -> Path:
    return write_wav(mmcli_cwd / "call.wav", 3)


def uploads(fake) -> list:
    return [r for r in fake.requests if r.path == "/v1/audio/transcriptions"]


def only_keys(env: dict[str, str], *keep: str) -> dict[str, str]:
    keys = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "PERPLEXITY_API_KEY", "VERTEX_API_KEY")
    return {k: v for k, v in env.items() if k not in keys or k in keep}


# --- OpenAI ---------------------------------------------------------------------------------------


def test_default_model_streams_text_and_sends_every_option(run_mmcli, mmcli_env, fake_openai, wav):
    fake_openai.queue(Reply(chunks=["Guten ", "Tag, ", "Siobhán."]))
    done = run_mmcli(
        ["transcribe", "call.wav", "--language", "de", "--prompt", "Names: Ngozi, Siobhán", "-t", "0.2"], mmcli_env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Guten Tag, Siobhán.\n"
    assert done.stderr == ""
    [request] = uploads(fake_openai)
    form = request.form
    assert form["model"] == "gpt-4o-mini-transcribe"  # the documented default with an OpenAI key
    assert form["stream"] == "true" and form["response_format"] == "json"
    assert (form["language"], form["prompt"], form["temperature"]) == ("de", "Names: Ngozi, Siobhán", "0.2")
    upload = form["file"]
    assert isinstance(upload, FormFile)
    assert upload.filename == "call.wav" and upload.content_type == "audio/wav"
    assert upload.data == wav.read_bytes()


def test_whisper_srt_written_atomically_to_a_file(run_mmcli, mmcli_env, fake_openai, wav, mmcli_cwd):
    # The provider's SRT, with CRLF and odd numbering, comes out normalised.
    fake_openai.queue(Reply(text=SRT.replace("1\n", "7\n", 1).replace("\n", "\r\n")))
    (mmcli_cwd / "out").mkdir()
    done = run_mmcli(["transcribe", "call.wav", "-m", "whisper-1", "--format", "srt", "-o", "out/call.srt"],
                     mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (mmcli_cwd / "out" / "call.srt").read_text(encoding="utf-8") == SRT
    assert [p.name for p in (mmcli_cwd / "out").iterdir()] == ["call.srt"]  # no temporary file left behind
    assert uploads(fake_openai)[0].form["response_format"] == "srt"
    assert "stream" not in uploads(fake_openai)[0].form


@pytest.mark.parametrize(
    ("fmt", "sent", "check"),
    [
        ("vtt", "vtt", lambda out: out == "WEBVTT\n\n00:00:00.500 --> 00:00:02.500\nlevel 0\n"),
        ("json", "verbose_json", lambda out: json.loads(out) == {
            "text": "level 0", "language": "english", "segments": [{"start": 0.5, "end": 2.5, "text": "level 0"}]}),
        ("verbose_json", "verbose_json", lambda out: json.loads(out)["segments"][0]["end"] == 2.5),
        ("text", "text", lambda out: out == "level 0\n"),
    ],
)
def test_whisper_formats(run_mmcli, mmcli_env, fake_openai, wav, fmt, sent, check):
    answer_from_audio(fake_openai)
    done = run_mmcli(["transcribe", "call.wav", "-m", "openai:whisper-1", "-f", fmt], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert check(done.stdout), done.stdout
    assert uploads(fake_openai)[0].form["response_format"] == sent


def test_long_wav_is_split_and_the_srt_joined_with_shifted_times(run_mmcli, mmcli_env, fake_openai, mmcli_cwd):
    write_wav(mmcli_cwd / "podcast.wav", 25)
    answer_from_audio(fake_openai)
    limit = 10 * BYTES_PER_SECOND + 44  # ten seconds of audio per request
    env = {**mmcli_env, "MMCLI_TRANSCRIBE_MAX_BYTES": str(limit)}
    done = run_mmcli(["transcribe", "podcast.wav", "--format", "srt"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "1\n00:00:00,500 --> 00:00:09,500\nlevel 0\n\n"
        "2\n00:00:10,500 --> 00:00:19,500\nlevel 1000\n\n"
        "3\n00:00:20,500 --> 00:00:24,500\nlevel 2000\n"
    )
    sent = uploads(fake_openai)
    assert len(sent) == 3
    assert all(r.form["model"] == "whisper-1" for r in sent)  # the default for subtitles
    assert sorted(wav_facts(r.form["file"].data) for r in sent) == [(5.0, 2000), (10.0, 0), (10.0, 1000)]
    assert all(len(r.form["file"].data) <= limit for r in sent)
    assert "Transcribed 3 of 3 pieces of podcast.wav." in done.stderr


def test_long_wav_json_wrapped_with_model_duration_and_usage(run_mmcli, mmcli_env, fake_openai, mmcli_cwd):
    write_wav(mmcli_cwd / "podcast.wav", 25)
    answer_from_audio(fake_openai)
    env = {**mmcli_env, "MMCLI_TRANSCRIBE_MAX_SECONDS": "10"}
    done = run_mmcli(["transcribe", "podcast.wav", "-m", "gpt-4o-transcribe", "-f", "json", "--json"], env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["model"] == "gpt-4o-transcribe" and document["provider"] == "openai"
    assert document["format"] == "json" and document["chunks"] == 3 and document["duration_s"] == 25.0
    assert document["transcript"] == {"text": "level 0 level 1000 level 2000", "language": None, "segments": None}
    assert document["billed_seconds"] == 25.0 and document["cached"] is False
    assert isinstance(document["total_s"], float)


def test_stdin_and_a_cache_hit_that_never_imports_the_sdk(run_mmcli, mmcli_env, fake_openai, wav, tmp_path):
    fake_openai.queue(Reply(text="From a pipe."))
    first = run_mmcli(["transcribe", "-"], mmcli_env, input=wav.read_bytes())
    assert first.returncode == 0, first.stderr
    assert first.stdout == "From a pipe.\n"
    assert uploads(fake_openai)[0].form["file"].filename == "audio.wav"
    # A second run may not even import the SDK: a broken `openai` package shadows the real one.
    shadow = tmp_path / "shadow" / "openai"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('the SDK was imported on a cache hit')\n")
    env = {**mmcli_env, "PYTHONPATH": f"{shadow.parent}:{mmcli_env['PYTHONPATH']}"}
    again = run_mmcli(["transcribe", "call.wav", "--json"], env)
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert document["cached"] is True and document["transcript"] == "From a pipe."
    assert len(uploads(fake_openai)) == 1
    # --no-cache goes to the provider again; another option is another key.
    assert run_mmcli(["transcribe", "call.wav", "--no-cache"], mmcli_env).returncode == 0
    assert run_mmcli(["transcribe", "call.wav", "-l", "en"], mmcli_env).returncode == 0
    assert len(uploads(fake_openai)) == 3


def test_a_rejected_key_exits_3(run_mmcli, mmcli_env, fake_openai, wav):
    fake_openai.queue(Reply(status=401, error_message="Incorrect API key provided."))
    done = run_mmcli(["transcribe", "call.wav", "-m", "whisper-1"], mmcli_env)
    assert done.returncode == 3
    assert "OPENAI_API_KEY" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


# --- Gemini ---------------------------------------------------------------------------------------


def test_gemini_srt_from_structured_segments(run_mmcli, mmcli_env, fake_gemini, wav):
    segments = {"language": "de", "segments": [
        {"start": 0, "end": 1.5, "text": "Guten Tag."},
        {"start": 1.5, "end": 3, "text": "Wie geht's?"},
    ]}
    fake_gemini.queue(Reply(text=json.dumps(segments)))
    done = run_mmcli(
        ["transcribe", "call.wav", "-m", "gemini:gemini-2.5-flash", "-f", "srt", "-l", "de", "-p", "Names: Ngozi"],
        mmcli_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == SRT
    [request] = fake_gemini.generation_requests
    assert request.path.endswith("/models/gemini-2.5-flash:generateContent")
    body = request.json
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["segments"]["items"]["required"] == ["start", "end", "text"]
    audio, instruction = body["contents"][0]["parts"]
    assert base64.urlsafe_b64decode(audio["inlineData"]["data"]) == wav.read_bytes()
    assert "'de'" in instruction["text"] and "Names: Ngozi" in instruction["text"]


def test_gemini_text_from_stdin_streams(run_mmcli, mmcli_env, fake_gemini, wav):
    fake_gemini.queue(Reply(text="Hello from a voice memo."))
    env = only_keys(mmcli_env, "GOOGLE_API_KEY")  # no OpenAI key: Gemini is the default
    done = run_mmcli(["transcribe", "-"], env, input=wav.read_bytes())
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from a voice memo.\n"
    [request] = fake_gemini.generation_requests
    assert request.path.endswith("/models/gemini-2.5-flash:streamGenerateContent")
    assert "responseMimeType" not in request.json.get("generationConfig", {})


def test_gemini_large_audio_goes_through_the_resumable_file_upload(run_mmcli, mmcli_env, fake_gemini, mmcli_cwd):
    audio = write_wav(mmcli_cwd / "lecture.wav", 4)
    fake_gemini.queue(Reply(text=json.dumps({"segments": [{"start": 0.25, "end": 3.5, "text": "Welcome."}]})))
    env = {**mmcli_env, "MMCLI_TRANSCRIBE_MAX_BYTES": "1000"}
    done = run_mmcli(["transcribe", "lecture.wav", "-m", "gemini:gemini-2.5-flash", "--format", "json"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "text": "Welcome.", "language": None, "segments": [{"start": 0.25, "end": 3.5, "text": "Welcome."}]}
    start, transfer = [r for r in fake_gemini.requests if r.path.startswith("/upload/")]
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-header-content-type"] == "audio/wav"
    assert "finalize" in transfer.headers["x-goog-upload-command"]
    assert transfer.body == audio.read_bytes()
    [generation] = fake_gemini.generation_requests  # one request: the file API, not splitting
    file_part = generation.json["contents"][0]["parts"][0]["fileData"]
    assert (file_part.get("fileUri") or file_part.get("file_uri")).endswith("/files/file1")
    assert "inlineData" not in json.dumps(generation.json)
    assert file_store(fake_gemini).deleted == ["file1"]  # the upload is removed afterwards


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["-m", "anthropic:claude-haiku-4-5"], "openai:whisper-1"),
        (["-m", "sonar"], "gemini:gemini-2.5-flash"),
        (["-m", "openai:gpt-4o-mini"], "openai:gpt-4o-mini-transcribe"),
        (["-m", "gpt-4o-mini-transcribe", "-f", "srt"], "for srt use openai:whisper-1 or gemini:gemini-2.5-flash"),
        (["-m", "gemini:gemini-2.5-flash", "-f", "verbose_json"], "for verbose_json use openai:whisper-1"),
    ],
)
def test_models_that_cannot_do_it_are_refused_before_any_request(
    run_mmcli, mmcli_env, fake_openai, fake_gemini, fake_anthropic, wav, args, named
):
    done = run_mmcli(["transcribe", "call.wav", *args], mmcli_env)
    assert done.returncode == 2
    assert named in done.stderr and done.stderr.count("\n") == 1
    assert not (fake_openai.requests or fake_gemini.requests or fake_anthropic.requests)


def test_bad_input_and_missing_keys(run_mmcli, mmcli_env, mmcli_cwd, wav):
    (mmcli_cwd / "notes.txt").write_text("not audio at all\n")
    done = run_mmcli(["transcribe", "notes.txt"], mmcli_env)
    assert done.returncode == 2 and "is not an audio file" in done.stderr
    done = run_mmcli(["transcribe", "call.wav"], only_keys(mmcli_env))
    assert done.returncode == 3 and "OPENAI_API_KEY" in done.stderr


# Pauses where a 10-second limit would otherwise cut mid-tone: the cuts land in their middles.
PAUSES = ((8.6, 9.0), (17.4, 17.8))
CUTS = (8.8, 17.6)


def answer_with_piece_length(fake) -> None:
    """Answer each transcription with one cue from 0.5 s to 0.5 s before the end of
    the audio received, decoded whatever its format (what a real server hears)."""
    from tests.media_samples import decoded_seconds

    def serve(request, exchange) -> None:
        upload = request.form["file"]
        seconds = decoded_seconds(upload.data)
        start, end = 0.5, seconds - 0.5
        stamp = lambda t: f"00:00:{int(t):02d},{round(t * 1000) % 1000:03d}"  # noqa: E731
        body = f"1\n{stamp(start)} --> {stamp(end)}\n{upload.content_type} {seconds:.2f} s\n\n"
        exchange.send(200, body.encode(), "text/plain; charset=utf-8")

    fake._transcription = serve


def srt_times(text: str) -> list[tuple[float, float]]:
    import re

    def seconds(stamp: str) -> float:
        hours, minutes, rest = stamp.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))

    return [(seconds(a), seconds(b)) for a, b in re.findall(r"(\S+) --> (\S+)", text)]


@pytest.mark.parametrize("ext", ["mp3", "m4a", "ogg", "webm"])
def test_long_compressed_audio_is_split_at_pauses_without_a_system_ffmpeg(
    run_mmcli, mmcli_env, fake_openai, mmcli_cwd, tmp_path, ext
):
    from tests.media_samples import audio_file

    (mmcli_cwd / f"show.{ext}").write_bytes(audio_file(ext, 25.0, PAUSES))
    answer_with_piece_length(fake_openai)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**mmcli_env, "MMCLI_TRANSCRIBE_MAX_SECONDS": "10", "PATH": str(empty)}  # no ffmpeg anywhere
    done = run_mmcli(["transcribe", f"show.{ext}", "-m", "whisper-1", "--format", "srt"], env)
    assert done.returncode == 0, done.stderr
    sent = uploads(fake_openai)
    assert len(sent) == 3
    assert {r.form["file"].content_type for r in sent} == {"audio/mpeg"}  # pieces re-encoded as MP3
    assert all(r.form["file"].filename.endswith(".mp3") for r in sent)
    # Each piece's cue is shifted by where that piece starts: the cut points, in the pauses.
    starts = [0.0, *CUTS]
    cues = srt_times(done.stdout)
    assert len(cues) == 3
    for (begin, end), offset, piece_end in zip(cues, starts, [*CUTS, 25.0], strict=True):
        assert abs(begin - (offset + 0.5)) < 0.08, done.stdout
        assert abs(end - (piece_end - 0.5)) < 0.08, done.stdout
    assert "Transcribed 3 of 3 pieces of show." in done.stderr


def test_broken_compressed_audio_is_one_sentence(run_mmcli, mmcli_env, fake_openai, mmcli_cwd):
    from tests.media_samples import audio_file

    data = audio_file("m4a", 3.0)
    (mmcli_cwd / "cut.m4a").write_bytes(data[: len(data) // 3])
    env = {**mmcli_env, "MMCLI_TRANSCRIBE_MAX_SECONDS": "1"}
    done = run_mmcli(["transcribe", "cut.m4a", "-m", "whisper-1"], env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("mmcli: cut.m4a") and done.stderr.count("\n") == 1
    assert not uploads(fake_openai)


# --- planning pieces (in-process) ------------------------------------------------------------------


def test_wav_pieces_cover_the_recording_exactly(tmp_path, monkeypatch):
    data = write_wav(tmp_path / "a.wav", 7, base=1000).read_bytes()  # loud throughout: no pause to move to
    part = Part(kind="audio", data=data, mime_type="audio/wav", source="a.wav")
    monkeypatch.setenv(chunking.MAX_BYTES_ENV, str(3 * BYTES_PER_SECOND + 44))
    with chunking.plan(part, chunking.limits_for("openai", "whisper-1")) as plan:
        assert plan.duration_s == 7.0
        assert [(p.offset_s, p.duration_s) for p in plan.pieces] == [(0.0, 3.0), (3.0, 3.0), (6.0, 1.0)]
        pieces = [p.read() for p in plan.pieces]
    assert [wav_facts(p.data) for p in pieces] == [(3.0, 1000), (3.0, 1300), (1.0, 1600)]
    monkeypatch.delenv(chunking.MAX_BYTES_ENV)
    with chunking.plan(part, chunking.limits_for("openai", "whisper-1")) as plan:
        assert len(plan.pieces) == 1 and plan.pieces[0].read() is part  # fits: sent untouched
    monkeypatch.setenv(chunking.MAX_BYTES_ENV, "lots")
    with pytest.raises(Exception, match="must be a positive number"):
        chunking.limits_for("openai", "whisper-1")


def test_wav_cuts_move_to_the_pause_before_each_boundary(tmp_path, monkeypatch):
    from tests.media_samples import audio_file, tone

    data = audio_file("wav", 25.0, PAUSES)
    part = Part(kind="audio", data=data, mime_type="audio/wav", source="a.wav")
    monkeypatch.setenv(chunking.MAX_SECONDS_ENV, "10")
    with chunking.plan(part, chunking.limits_for("openai", "whisper-1")) as plan:
        offsets = [p.offset_s for p in plan.pieces]
        assert plan.duration_s == 25.0
    assert offsets[0] == 0.0 and [abs(a - b) < 0.02 for a, b in zip(offsets[1:], CUTS, strict=True)] == [True] * 2
    # Without a pause near the boundary (a steady tone), the cut stays on the boundary.
    steady = Part(kind="audio", data=audio_file("wav", 25.0), mime_type="audio/wav", source="b.wav")
    with chunking.plan(steady, chunking.limits_for("openai", "whisper-1")) as plan:
        assert [p.offset_s for p in plan.pieces] == [0.0, 10.0, 20.0]
    assert len(tone(1.0, 8000)) == 16000
