"""`-v/--video` end to end, through the real SDKs against the fakes: Gemini gets
the video itself (inline, or through the Files API when large), Vertex only
inline, and image-only models get sampled frames with their timestamps.
What each fake received is checked, and sessions keep the video once."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.transcription import file_store
from tests.media_samples import video_file

pytestmark = pytest.mark.in_pytest


@pytest.fixture
def clip(mmcli_cwd: Path) -> Path:
    path = mmcli_cwd / "clip.mp4"
    path.write_bytes(video_file("mp4", seconds=3.0))  # red channel = 40 x the second
    return path


def red_of(jpeg: bytes) -> int:
    with Image.open(io.BytesIO(jpeg)) as image:
        return round(image.convert("RGB").getpixel((8, 8))[0] / 40)


def field(mapping: dict, name: str) -> object:
    """google-genai sends a dict part's keys as given (snake_case) and typed parts in camelCase."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return mapping.get(name, mapping.get(snake))


def openai_content(fake) -> list[dict]:
    [request] = fake.generation_requests
    return request.json["messages"][-1]["content"]


def test_gemini_gets_the_video_itself_inline(run_mmcli, mmcli_env, fake_gemini, clip):
    done = run_mmcli(["chat", "-m", "gemini-2.5-flash", "-v", "clip.mp4", "What happens?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    [request] = fake_gemini.generation_requests
    parts = request.json["contents"][0]["parts"]
    assert parts[0] == {"text": "What happens?"}
    inline = parts[1]["inlineData"]
    assert field(inline, "mimeType") == "video/mp4"
    assert base64.urlsafe_b64decode(inline["data"]) == clip.read_bytes()


def test_gemini_gets_a_large_video_through_the_files_api(run_mmcli, mmcli_env, fake_gemini, clip):
    env = {**mmcli_env, "MMCLI_VIDEO_INLINE_MAX_BYTES": "1000"}
    done = run_mmcli(["chat", "-m", "gemini-2.5-flash", "-v", "clip.mp4", "What happens?"], env)
    assert done.returncode == 0, done.stderr
    start, transfer = [r for r in fake_gemini.requests if r.path.startswith("/upload/")]
    assert start.headers["x-goog-upload-header-content-type"] == "video/mp4"
    assert transfer.body == clip.read_bytes()
    [request] = fake_gemini.generation_requests
    file_part = request.json["contents"][0]["parts"][1]["fileData"]
    assert field(file_part, "fileUri").endswith("/files/file1") and field(file_part, "mimeType") == "video/mp4"
    assert "inlineData" not in json.dumps(request.json)
    assert list(file_store(fake_gemini).files) == ["file1"]


def test_vertex_takes_video_inline_only_and_refuses_beyond(run_mmcli, mmcli_env, fake_gemini, clip):
    done = run_mmcli(["chat", "-m", "vertex:gemini-2.5-flash", "-v", "clip.mp4", "What happens?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    [request] = fake_gemini.generation_requests
    assert field(request.json["contents"][0]["parts"][1]["inlineData"], "mimeType") == "video/mp4"
    env = {**mmcli_env, "MMCLI_VIDEO_INLINE_MAX_BYTES": "1000"}
    done = run_mmcli(["chat", "-m", "vertex:gemini-2.5-flash", "-v", "clip.mp4", "Again?"], env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Vertex AI takes inline" in done.stderr and "clip.mp4" in done.stderr
    assert len(fake_gemini.generation_requests) == 1 and not fake_gemini.requests[1:]


def test_openai_gets_timestamped_frames(run_mmcli, mmcli_env, fake_openai, clip):
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "-v", "clip.mp4", "What happens?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    content = openai_content(fake_openai)
    assert content[0] == {"type": "text", "text": "What happens?"}
    assert "clip.mp4: 3 frames, one every 1 s" in content[1]["text"]
    stamps = [c["text"] for c in content[2::2]]
    images = [c["image_url"]["url"] for c in content[3::2]]
    assert stamps == ["[0:00]", "[0:01]", "[0:02]"]
    assert all(url.startswith("data:image/jpeg;base64,") for url in images)
    # Each frame shows its own second of the clip.
    assert [red_of(base64.b64decode(url.split(",", 1)[1])) for url in images] == [0, 1, 2]


def test_fps_and_max_frames_change_the_sampling(run_mmcli, mmcli_env, fake_openai, clip):
    args = ["chat", "-m", "gpt-4o-mini", "-v", "clip.mp4", "--fps", "2", "--max-frames", "4", "What happens?"]
    done = run_mmcli(args, mmcli_env)
    assert done.returncode == 0, done.stderr
    content = openai_content(fake_openai)
    assert [c["text"] for c in content[2::2]] == ["[0:00]", "[0:00.8]", "[0:01.5]", "[0:02.3]"]


def test_anthropic_gets_frames_as_image_blocks(run_mmcli, mmcli_env, fake_anthropic, clip):
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "-v", "clip.mp4", "--max-frames", "2", "What?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    [request] = fake_anthropic.generation_requests
    blocks = request.json["messages"][-1]["content"]
    images = [b for b in blocks if b["type"] == "image"]
    assert [b["source"]["media_type"] for b in images] == ["image/jpeg", "image/jpeg"]
    assert [b["text"] for b in blocks if b["type"] == "text"][-2:] == ["[0:00]", "[0:01.5]"]


def test_compare_sends_each_model_its_own_form(run_mmcli_subprocess, mmcli_env, fake_openai, fake_gemini, clip):
    args = ["compare", "What happens?", "-v", "clip.mp4", "-m", "gemini-2.5-flash", "-m", "gpt-4o-mini", "--json"]
    # compare forks: a process of its own, not the pytest process
    done = run_mmcli_subprocess(args, mmcli_env)
    assert done.returncode == 0, done.stderr
    assert [r["status"] for r in json.loads(done.stdout)["results"]] == ["ok", "ok"]
    [gemini] = fake_gemini.generation_requests
    assert field(gemini.json["contents"][0]["parts"][1]["inlineData"], "mimeType") == "video/mp4"
    assert sum(c["type"] == "image_url" for c in openai_content(fake_openai)) == 3


def test_a_session_keeps_the_video_once_and_resends_it(run_mmcli, mmcli_env, fake_openai, clip):
    first = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "film", "-v", "clip.mp4", "What happens?"], mmcli_env)
    assert first.returncode == 0, first.stderr
    again = run_mmcli(["chat", "-S", "film", "And then?"], mmcli_env)
    assert again.returncode == 0, again.stderr
    second = fake_openai.generation_requests[1].json["messages"]
    assert sum(c["type"] == "image_url" for c in second[0]["content"]) == 3  # the first turn's frames again
    with sqlite3.connect(Path(mmcli_env["MMCLI_DATA_DIR"]) / "sessions.sqlite3") as db:
        stored = db.execute("SELECT mime_type, length(data) FROM media").fetchall()
    assert stored == [("video/mp4", clip.stat().st_size)]  # the video, once; frames are never stored
    shown = run_mmcli(["sessions", "show", "film"], mmcli_env)
    assert "video: clip.mp4" in shown.stdout


def test_a_model_without_vision_is_refused_before_any_request(run_mmcli, mmcli_env, fake_openai, clip):
    done = run_mmcli(["chat", "-m", "openai:o3-mini", "-v", "clip.mp4", "What?"], mmcli_env)
    assert done.returncode == 2 and "cannot take video" in done.stderr and done.stderr.count("\n") == 1
    assert not fake_openai.requests


def test_repl_video_attaches_to_the_next_turn(spawn_mmcli, mmcli_env, fake_openai, clip):
    import re

    import pexpect

    prompt = re.escape("openai:gpt-4o-mini") + r"(\x1b\[0m)?> "
    child = spawn_mmcli(["chat", "-m", "openai:gpt-4o-mini"], mmcli_env)
    child.expect(prompt)
    child.sendline(f"/video '{clip}'")
    child.expect("Attached")
    child.expect(prompt)
    child.sendline("What happens?")
    child.expect("Hello from the fake OpenAI")
    child.expect(prompt)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    content = openai_content(fake_openai)
    assert [c["text"] for c in content if c["type"] == "text"][-3:] == ["[0:00]", "[0:01]", "[0:02]"]


# --- what a cache hit and --help never import -----------------------------------------------------------------


def shadowing(env: dict[str, str], tmp_path: Path, *modules: str) -> dict[str, str]:
    """``env`` with broken stand-ins for ``modules`` first on the path: importing one fails the run."""
    shadow = tmp_path / "shadow"
    for module in modules:
        (shadow / module).mkdir(parents=True, exist_ok=True)
        (shadow / module / "__init__.py").write_text(f"raise ImportError('{module} was imported')\n")
    return {**env, "PYTHONPATH": f"{shadow}:{env['PYTHONPATH']}"}


def test_help_and_cache_hits_import_neither_pyav_nor_pillow(run_mmcli, mmcli_env, fake_openai, mmcli_cwd, tmp_path):
    from tests.media_samples import audio_file

    (mmcli_cwd / "photo.png").write_bytes(_png())
    (mmcli_cwd / "memo.m4a").write_bytes(audio_file("m4a", 1.0))
    first = run_mmcli(["chat", "-m", "gpt-4o-mini", "-i", "photo.png", "Describe"], mmcli_env)
    assert first.returncode == 0, first.stderr
    assert run_mmcli(["transcribe", "memo.m4a", "-m", "whisper-1"], mmcli_env).returncode == 0
    env = shadowing(mmcli_env, tmp_path, "av", "PIL", "pillow_heif")
    assert run_mmcli(["--help"], env).returncode == 0
    again = run_mmcli(["chat", "-m", "gpt-4o-mini", "-i", "photo.png", "Describe", "--json"], env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cached"] is True
    heard = run_mmcli(["transcribe", "memo.m4a", "-m", "whisper-1", "--json"], env)
    assert heard.returncode == 0, heard.stderr
    assert json.loads(heard.stdout)["cached"] is True


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()
