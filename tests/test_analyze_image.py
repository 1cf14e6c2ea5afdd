"""`mmcli analyze-image` end to end against the fake servers: one image
streamed, batches (JSON Lines, Markdown headings, a corrupt file among good
ones), --together, stdin, a URL, the cache, and the progress bar in a pty."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.fakes import Reply
from tests.test_multimodal import base64_image, data_url_image, image_bytes, write

pytestmark = pytest.mark.in_pytest

JSON_KEYS = {
    "model", "provider", "answer", "input_tokens", "output_tokens", "ttft_s", "total_s",
    "cost_usd", "cached", "citations", "session", "path", "error", "finish_reason",
}


def sent_images(fake_openai) -> list[tuple[str, tuple[int, int]]]:
    """MIME type and size of every image the OpenAI fake received, request by request."""
    found = []
    for request in fake_openai.generation_requests:
        for part in request.json["messages"][-1]["content"]:
            if part["type"] == "image_url":
                mime, picture = data_url_image(part["image_url"]["url"])
                found.append((mime, picture.size))
    return found


def test_one_image_default_prompt_streams_and_is_cached(run_mmcli, mmcli_env, fake_openai, tmp_path):
    photo = write(tmp_path, "photo.jpg", image_bytes((120, 80), "JPEG"))
    fake_openai.queue(Reply(text="A red rectangle on nothing at all."))
    args = ["analyze-image", photo, "-m", "openai:gpt-4o-mini", "-s", "Be brief.", "--max-tokens", "40"]
    done = run_mmcli(args, mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "A red rectangle on nothing at all.\n"
    body = fake_openai.generation_requests[-1].json
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_completion_tokens"] == 40
    text, image = body["messages"][1]["content"]
    assert text == {"type": "text", "text": "Describe this image in detail."}
    mime, picture = data_url_image(image["image_url"]["url"])
    assert (mime, picture.size) == ("image/jpeg", (120, 80))

    again = run_mmcli([*args, "--json"], mmcli_env)
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert set(document) == JSON_KEYS
    assert document["cached"] is True and document["answer"] == "A red rectangle on nothing at all."
    assert document["path"] == photo and document["error"] is None
    assert len(fake_openai.generation_requests) == 1  # the second answer came from the cache


def test_batch_with_a_corrupt_file_goes_on_and_exits_1(run_mmcli, mmcli_env, fake_openai, tmp_path):
    good = [write(tmp_path, f"good{n}.png", image_bytes((50 + n, 40))) for n in (1, 2)]
    corrupt = write(tmp_path, "corrupt.jpg", image_bytes((60, 40), "JPEG")[:300])
    fake_openai.default = Reply(text="Looks fine.")
    done = run_mmcli(
        ["analyze-image", good[0], corrupt, good[1], "-m", "gpt-4o-mini", "--json", "--no-cache"], mmcli_env
    )
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 3 and all(set(line) == JSON_KEYS for line in lines)
    by_path = {line["path"]: line for line in lines}
    assert by_path[corrupt]["answer"] is None and "corrupt.jpg" in by_path[corrupt]["error"]
    for path in good:
        assert by_path[path]["answer"] == "Looks fine." and by_path[path]["error"] is None
    assert "corrupt.jpg" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "mmcli: 2 of 3 images described; 1 failed."
    assert "Traceback" not in done.stderr
    assert sorted(sent_images(fake_openai)) == [("image/png", (51, 40)), ("image/png", (52, 40))]


def test_batch_in_a_pipe_prints_headings_in_input_order(run_mmcli, mmcli_env, fake_anthropic, tmp_path):
    paths = [write(tmp_path, f"img{n}.png", image_bytes((30, 20 + n))) for n in range(3)]
    # The first request to arrive is answered last; the output keeps the input order anyway.
    fake_anthropic.queue(Reply(text="Slow answer.", delay_s=1.0))
    fake_anthropic.default = Reply(text="Quick answer.")
    done = run_mmcli(["analyze-image", *paths, "-m", "claude-haiku-4-5", "-P", "Name the shape."], mmcli_env)
    assert done.returncode == 0, done.stderr
    headings = [line for line in done.stdout.splitlines() if line.startswith("## ")]
    assert headings == [f"## {path}" for path in paths]
    assert done.stdout.count("Quick answer.") == 2 and done.stdout.count("Slow answer.") == 1
    assert "\x1b[" not in done.stdout and done.stderr == ""
    requests = fake_anthropic.generation_requests
    assert len(requests) == 3
    heights = set()
    for request in requests:
        [message] = request.json["messages"]
        assert message["content"][0] == {"type": "text", "text": "Name the shape."}
        heights.add(base64_image(message["content"][1]["source"]["data"]).size[1])
    assert heights == {20, 21, 22}  # each image went in its own request


def test_every_image_unreadable_is_exit_2_without_requests(run_mmcli, mmcli_env, fake_openai, tmp_path):
    text_file = write(tmp_path, "notes.png", b"just some text, not a picture\n")
    done = run_mmcli(["analyze-image", text_file, str(tmp_path / "missing.jpg"), "-m", "gpt-4o-mini"], mmcli_env)
    assert done.returncode == 2
    assert "notes.png" in done.stderr and "missing.jpg does not exist" in done.stderr
    assert "0 of 2 images described; 2 failed" in done.stderr
    assert fake_openai.requests == [] and done.stdout == ""


def test_together_sends_every_image_in_one_request(run_mmcli, mmcli_env, fake_gemini, tmp_path):
    before = write(tmp_path, "before.png", image_bytes((40, 40), color=(255, 0, 0)))
    after = write(tmp_path, "after.jpg", image_bytes((40, 40), "JPEG", color=(0, 0, 255)))
    fake_gemini.queue(Reply(text="It turned blue."))
    done = run_mmcli(
        ["analyze-image", before, after, "--together", "-P", "What changed?", "-m", "gemini-2.5-flash", "--json"],
        mmcli_env,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["answer"] == "It turned blue." and document["paths"] == [before, after]
    [request] = fake_gemini.generation_requests
    [content] = request.json["contents"]
    parts = content["parts"]
    assert parts[0] == {"text": "What changed?"}
    assert [p["inlineData"].get("mimeType") or p["inlineData"]["mime_type"] for p in parts[1:]] == [
        "image/png",
        "image/jpeg",
    ]


def test_image_from_stdin(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="A cat, probably."))
    data = image_bytes((33, 22), "WEBP")
    done = run_mmcli(["analyze-image", "-", "-m", "gpt-4o-mini"], mmcli_env, input=data)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "A cat, probably.\n"
    assert sent_images(fake_openai) == [("image/webp", (33, 22))]


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "chart.png").write_bytes(image_bytes((70, 50)))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_image_from_a_url(run_mmcli, mmcli_env, fake_anthropic, image_server):
    fake_anthropic.queue(Reply(text="A bar chart."))
    done = run_mmcli(["analyze-image", f"{image_server}/chart.png", "-m", "anthropic:claude-sonnet-4-5"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "A bar chart.\n"
    block = fake_anthropic.generation_requests[-1].json["messages"][0]["content"][1]
    assert block["source"]["media_type"] == "image/png"
    assert base64_image(block["source"]["data"]).size == (70, 50)

    missing = run_mmcli(["analyze-image", f"{image_server}/nope.png", "-m", "claude-sonnet-4-5"], mmcli_env)
    assert missing.returncode == 2 and "404" in missing.stderr


def test_text_only_model_is_refused_before_anything_is_read(run_mmcli, mmcli_env, fake_openai, tmp_path):
    photo = write(tmp_path, "photo.png", image_bytes((20, 20)))
    done = run_mmcli(["analyze-image", photo, "-m", "ollama:llama3.2"], mmcli_env)
    assert done.returncode == 2
    assert "ollama:llama3.2 cannot take images; use a model that can, such as" in done.stderr
    assert fake_openai.requests == []


def test_progress_and_rendered_answers_in_a_terminal(spawn_mmcli, mmcli_env, fake_openai, tmp_path):
    paths = [write(tmp_path, f"pic{n}.png", image_bytes((20, 20))) for n in range(2)]
    fake_openai.default = Reply(text="A **bold** square.", chunk_delay_s=0.05)
    child = spawn_mmcli(["analyze-image", *paths, "-m", "gpt-4o-mini"], mmcli_env)
    child.expect("Analysing images")  # the progress bar, on stderr
    child.expect("pic0.png")
    child.expect(r"A \x1b\[1mbold\x1b\[0m square")  # rendered Markdown: bold, not asterisks
    child.expect("pic1.png")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "**bold**" not in child.before
    assert len(fake_openai.generation_requests) == 2
