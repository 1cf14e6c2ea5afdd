"""`mmcli chat -i/-a/--file` end to end: what each provider's fake server
received (decoded back into pictures with Pillow), refusals before any
request, and media re-sent from a session on later turns."""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest

# --- generated media --------------------------------------------------------------------------------


def image_bytes(size: tuple[int, int], fmt: str = "PNG", color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def rotated_jpeg(size: tuple[int, int], orientation: int = 6) -> bytes:
    """A JPEG stored ``size`` wide but tagged to be shown rotated (6: 90 degrees clockwise)."""
    image = Image.new("RGB", size, (10, 120, 240))
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def wav_bytes(frames: int = 1600) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * frames)
    return buffer.getvalue()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames behind an empty ID3 tag.
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x00" + bytes(413)) * 3

PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def data_url_image(url: str) -> tuple[str, Image.Image]:
    """The MIME type and the decoded picture of a ``data:`` URL."""
    header, _, encoded = url.partition(",")
    assert header.startswith("data:") and header.endswith(";base64"), header
    return header[5:-7], Image.open(io.BytesIO(base64.b64decode(encoded)))


def base64_image(encoded: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(encoded)))


def gemini_inline(part: dict) -> tuple[str, bytes]:
    """MIME type and bytes of a Gemini inline-data part, as google-genai writes it
    (``inlineData`` holding ``mime_type`` and URL-safe base64: both spellings the API takes)."""
    inline = part["inlineData"]
    return inline.get("mimeType") or inline["mime_type"], base64.urlsafe_b64decode(inline["data"])


# --- each provider's format -----------------------------------------------------------------------------


def test_openai_gets_a_downscaled_image_url_and_the_prompt(run_mmcli, mmcli_env, fake_openai, tmp_path):
    # 1600x1200: within OpenAI's 2048 px box, but its short side is cut to 768 px.
    photo = write(tmp_path, "photo.png", image_bytes((1600, 1200)))
    fake_openai.queue(Reply(text="A red square."))
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "-i", photo, "What is this?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "A red square.\n"
    [message] = fake_openai.generation_requests[-1].json["messages"]
    assert message["role"] == "user"
    text, image = message["content"]
    assert text == {"type": "text", "text": "What is this?"}
    assert image["type"] == "image_url"
    mime, picture = data_url_image(image["image_url"]["url"])
    assert mime == "image/png"
    assert picture.size == (1024, 768)
    assert picture.getpixel((10, 10)) == (200, 40, 40)


def test_openai_audio_model_gets_input_audio(run_mmcli, mmcli_env, fake_openai, tmp_path):
    clip = write(tmp_path, "question.wav", wav_bytes())
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-audio-preview", "-a", clip, "Answer the question"], mmcli_env)
    assert done.returncode == 0, done.stderr
    [message] = fake_openai.generation_requests[-1].json["messages"]
    audio = message["content"][1]
    assert audio["type"] == "input_audio"
    assert audio["input_audio"]["format"] == "wav"
    assert base64.b64decode(audio["input_audio"]["data"]) == Path(clip).read_bytes()


def test_anthropic_gets_rotated_downscaled_image_and_pdf_blocks(run_mmcli, mmcli_env, fake_anthropic, tmp_path):
    # Stored 3000x2000 with EXIF "rotate 90": upright it is 2000x3000, then
    # Anthropic's 1568 px / 1.2 megapixel budget brings it to 894x1341.
    photo = write(tmp_path, "photo.jpg", rotated_jpeg((3000, 2000)))
    report = write(tmp_path, "report.pdf", PDF)
    done = run_mmcli(
        ["chat", "-m", "anthropic:claude-haiku-4-5", "-i", photo, "--file", report, "Summarise"], mmcli_env
    )
    assert done.returncode == 0, done.stderr
    [message] = fake_anthropic.generation_requests[-1].json["messages"]
    text, image, document = message["content"]
    assert text == {"type": "text", "text": "Summarise"}
    assert image["type"] == "image" and image["source"]["type"] == "base64"
    assert image["source"]["media_type"] == "image/jpeg"
    picture = base64_image(image["source"]["data"])
    assert picture.size == (894, 1341)
    assert picture.getexif().get(0x0112, 1) == 1  # the rotation is applied, not left to the reader
    assert document["type"] == "document"
    assert document["source"]["media_type"] == "application/pdf"
    assert base64.b64decode(document["source"]["data"]) == PDF


def test_gemini_gets_inline_image_and_audio(run_mmcli, mmcli_env, fake_gemini, tmp_path):
    diagram = write(tmp_path, "diagram.png", image_bytes((64, 48)))
    question = write(tmp_path, "question.mp3", MP3)
    done = run_mmcli(
        ["chat", "-m", "gemini:gemini-2.5-flash", "-i", diagram, "-a", question, "Answer the spoken question"],
        mmcli_env,
    )
    assert done.returncode == 0, done.stderr
    [content] = fake_gemini.generation_requests[-1].json["contents"]
    text, image, audio = content["parts"]
    assert text == {"text": "Answer the spoken question"}
    assert gemini_inline(image) == ("image/png", Path(diagram).read_bytes())
    assert gemini_inline(audio) == ("audio/mp3", MP3)  # Gemini's spelling of audio/mpeg


def test_a_pdf_given_with_i_goes_as_a_document(run_mmcli, mmcli_env, fake_anthropic, tmp_path):
    report = write(tmp_path, "report.pdf", PDF)
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "-i", report, "Summarise section 2"], mmcli_env)
    assert done.returncode == 0, done.stderr
    blocks = fake_anthropic.generation_requests[-1].json["messages"][0]["content"]
    assert blocks[1]["type"] == "document" and blocks[1]["source"]["media_type"] == "application/pdf"


# --- refusals ---------------------------------------------------------------------------------------------


def test_audio_to_anthropic_is_refused_before_any_request(run_mmcli, mmcli_env, fake_anthropic, tmp_path):
    clip = write(tmp_path, "question.wav", wav_bytes())
    done = run_mmcli(["chat", "-m", "anthropic:claude-haiku-4-5", "-a", clip, "Answer it"], mmcli_env)
    assert done.returncode == 2
    assert "anthropic:claude-haiku-4-5 cannot take audio" in done.stderr
    assert "gemini:" in done.stderr  # names models that can
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert fake_anthropic.requests == []
    assert done.stdout == ""


def test_image_to_a_text_only_model_is_refused(run_mmcli, mmcli_env, fake_openai, tmp_path):
    photo = write(tmp_path, "photo.png", image_bytes((32, 32)))
    done = run_mmcli(["chat", "-m", "ollama:llama3.2", "-i", photo, "What is this?"], mmcli_env)
    assert done.returncode == 2
    assert "cannot take images" in done.stderr and "such as" in done.stderr
    assert fake_openai.requests == []


def test_unreadable_attachment_is_exit_2_with_the_file_named(run_mmcli, mmcli_env, fake_openai, tmp_path):
    broken = write(tmp_path, "broken.png", image_bytes((64, 64))[:60])
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "-i", broken, "What is this?"], mmcli_env)
    assert done.returncode == 2
    assert "broken.png" in done.stderr and "Traceback" not in done.stderr
    assert fake_openai.requests == []


# --- sessions re-send earlier media ------------------------------------------------------------------------


def test_session_media_is_resent_on_later_turns_and_across_providers(
    run_mmcli, mmcli_env, fake_openai, fake_anthropic, fake_gemini, tmp_path
):
    car = write(tmp_path, "car.png", image_bytes((40, 30), color=(220, 0, 0)))
    car_bytes = Path(car).read_bytes()
    fake_openai.queue(Reply(text="A red car."), Reply(text="It was red."))
    first = run_mmcli(["chat", "-S", "s", "-m", "openai:gpt-4o-mini", "-i", car, "Describe the car"], mmcli_env)
    assert first.returncode == 0, first.stderr
    Path(car).unlink()  # later turns must come from the session, not the file

    second = run_mmcli(["chat", "-S", "s", "what colour was the car?"], mmcli_env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "It was red.\n"
    history = fake_openai.generation_requests[-1].json["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    mime, picture = data_url_image(history[0]["content"][1]["image_url"]["url"])
    assert (mime, picture.size, picture.getpixel((0, 0))) == ("image/png", (40, 30), (220, 0, 0))
    assert history[1]["content"] == "A red car."
    assert history[2]["content"] == "what colour was the car?"

    third = run_mmcli(["chat", "-S", "s", "-m", "anthropic:claude-haiku-4-5", "and the shape?"], mmcli_env)
    assert third.returncode == 0, third.stderr
    blocks = fake_anthropic.generation_requests[-1].json["messages"][0]["content"]
    assert blocks[1]["type"] == "image" and blocks[1]["source"]["media_type"] == "image/png"
    assert base64.b64decode(blocks[1]["source"]["data"]) == car_bytes

    fourth = run_mmcli(["chat", "-S", "s", "-m", "gemini:gemini-2.5-flash", "and the size?"], mmcli_env)
    assert fourth.returncode == 0, fourth.stderr
    contents = fake_gemini.generation_requests[-1].json["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user", "model", "user"]
    assert gemini_inline(contents[0]["parts"][1]) == ("image/png", car_bytes)


# --- the REPL's /image and /audio ----------------------------------------------------------------------------


def test_repl_image_and_audio_attach_to_the_next_turn(spawn_mmcli, mmcli_env, fake_gemini, tmp_path):
    import re

    import pexpect

    prompt = re.escape("gemini:gemini-2.5-flash") + r"(\x1b\[0m)?> "
    diagram = write(tmp_path, "my diagram.png", image_bytes((48, 36)))
    question = write(tmp_path, "question.wav", wav_bytes())
    fake_gemini.queue(Reply(text="It is a square."), Reply(text="Still a square."))
    child = spawn_mmcli(["chat", "-m", "gemini:gemini-2.5-flash", "-S", "pics"], mmcli_env)
    child.expect(prompt)
    child.sendline("/help")
    child.expect(prompt)
    assert "/image PATH" in child.before and "/audio PATH" in child.before
    child.sendline(f"/image '{diagram}'")  # quoted, as a terminal pastes a dropped file
    child.expect("Attached")
    child.expect(prompt)
    child.sendline("/audio " + str(tmp_path / "nope.wav"))
    child.expect("nope.wav does not exist")
    child.expect(prompt)
    child.sendline(f"/audio {question}")
    child.expect(r"2 attachments waiting")
    child.expect(prompt)
    child.sendline("Answer the spoken question")
    child.expect("It is a square.")
    child.expect(prompt)
    child.sendline("And now?")
    child.expect("Still a square.")
    child.expect(prompt)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    first, second = fake_gemini.generation_requests
    [turn] = first.json["contents"]
    assert turn["parts"][0] == {"text": "Answer the spoken question"}
    assert [gemini_inline(p) for p in turn["parts"][1:]] == [
        ("image/png", Path(diagram).read_bytes()),
        ("audio/wav", Path(question).read_bytes()),
    ]
    # The attachments went with that turn only; the next turn re-sends them as history.
    contents = second.json["contents"]
    assert [len(c["parts"]) for c in contents] == [3, 1, 1]
    assert gemini_inline(contents[0]["parts"][1])[1] == Path(diagram).read_bytes()


def test_attachments_over_the_providers_request_limit_are_refused_before_sending(
    run_mmcli, mmcli_env, fake_gemini, tmp_path
):
    big = b"%PDF-1.4\n" + b"0" * (8 * 1024 * 1024) + b"\n%%EOF\n"
    first, second = write(tmp_path, "part1.pdf", big), write(tmp_path, "part2.pdf", big.replace(b"0", b"1"))
    done = run_mmcli(["chat", "-m", "gemini-2.5-flash", "--file", first, "--file", second, "Compare"], mmcli_env)
    assert done.returncode == 2, done.stderr
    assert "add up to" in done.stderr and "part" in done.stderr
    assert fake_gemini.generation_requests == []
