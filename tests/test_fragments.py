"""`-f/--fragment PATH|URL|-`: text context from files, directories and web pages, as the
provider receives it, as the session keeps it (once, by hash), and in the cache key."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from tests.fakes import Reply
from tests.fakes.page_server import page_server
from tests.test_multimodal import PDF, write

pytestmark = pytest.mark.in_pytest


def framed(source: str, text: str) -> str:
    return f'<fragment source="{source}">\n{text.rstrip()}\n</fragment>\n\n'


def media_rows(env: dict[str, str]) -> list[tuple[str, bytes]]:
    with sqlite3.connect(Path(env["MMCLI_DATA_DIR"]) / "sessions.sqlite3") as conn:
        return [(mime, bytes(data)) for mime, data in conn.execute("SELECT mime_type, data FROM media")]


def test_a_text_file_goes_ahead_of_the_prompt_and_is_stored_once(run_mmcli, mmcli_env, fake_openai, tmp_path):
    notes = write(tmp_path, "notes.txt", b"The deploy runs at 04:00 UTC.\n")
    fake_openai.queue(Reply(text="At four."), Reply(text="Yes."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "ops", "-f", notes, "When does it deploy?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "At four.\n"
    body = fake_openai.generation_requests[-1].json
    assert body["messages"] == [
        {"role": "user", "content": framed(notes, "The deploy runs at 04:00 UTC.") + "When does it deploy?"}
    ]
    # The same file on the next turn: sent again with the history, stored once.
    again = run_mmcli(["chat", "-S", "ops", "-f", notes, "Every day?"], mmcli_env)
    assert again.returncode == 0, again.stderr
    history = fake_openai.generation_requests[-1].json["messages"]
    assert history[0]["content"].startswith('<fragment source="') and history[2]["content"].endswith("Every day?")
    rows = media_rows(mmcli_env)
    assert rows == [("text/plain", framed(notes, "The deploy runs at 04:00 UTC.").encode())]

    shown = json.loads(run_mmcli(["sessions", "show", "ops", "--json"], mmcli_env).stdout)
    first = shown["messages"][0]
    assert first["text"] == "When does it deploy?"
    assert [f["source"] for f in first["fragments"]] == [notes]
    exported = run_mmcli(["sessions", "export", "ops"], mmcli_env).stdout
    assert f"[fragment: {notes}" in exported and "04:00" not in exported


def test_a_directory_honours_gitignore_and_skips_binaries_and_hidden_files(
    run_mmcli, mmcli_env, fake_anthropic, tmp_path
):
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    (project / "build").mkdir()
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("*.log\nbuild/\n")
    (project / "src" / ".gitignore").write_text("!keep.log\n")
    (project / "README.md").write_text("# Demo\n")
    (project / "src" / "app.py").write_text("print('hi')\n")
    (project / "src" / "deep" / "util.py").write_text("X = 1\n")
    (project / "src" / "keep.log").write_text("kept despite *.log\n")
    (project / "debug.log").write_text("ignored\n")
    (project / "build" / "out.txt").write_text("ignored dir\n")
    (project / ".env").write_text("SECRET=1\n")
    (project / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    fake_anthropic.queue(Reply(text="A demo."))
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "-f", str(project), "What is this?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    content = fake_anthropic.generation_requests[-1].json["messages"][0]["content"]
    text = content if isinstance(content, str) else "".join(b["text"] for b in content)
    sources = [line.split('"')[1] for line in text.splitlines() if line.startswith("<fragment source=")]
    assert sources == [f"{project}/README.md", f"{project}/src/app.py", f"{project}/src/deep/util.py",
                       f"{project}/src/keep.log"]
    assert text.endswith("</fragment>\n\nWhat is this?")
    assert "SECRET" not in text and "ignored" not in text
    assert done.stderr == f"mmcli: {project}: 4 text files, 44 B (skipped 1 binary, 1 ignored by .gitignore).\n"


def test_a_web_page_is_read_as_text_and_a_pdf_url_goes_as_a_document(run_mmcli, mmcli_env, fake_anthropic):
    page = (b"<!doctype html><html><head><title>Release notes</title><script>track()</script>"
            b"<style>p{}</style></head><body><nav>Home | Blog</nav><main><h2>Version 2</h2>"
            b"<p>Adds <a href='/retry'>retries</a>.</p><ul><li>faster</li></ul></main>"
            b"<footer>(c) 2026</footer></body></html>")
    pages = {"/notes.html": ("text/html; charset=utf-8", page), "/spec.pdf": ("application/pdf", PDF),
             "/plain": ("text/plain", b"just text")}
    fake_anthropic.queue(Reply(text="Retries."))
    with page_server(pages) as (base, paths):
        done = run_mmcli(
            ["chat", "-m", "claude-haiku-4-5", "-S", "web", "-f", f"{base}/notes.html?token=s3cr3t",
             "-f", f"{base}/spec.pdf", "-f", f"{base}/plain", "What changed?"],
            mmcli_env,
        )
        assert done.returncode == 0, done.stderr
        assert paths == ["/notes.html?token=s3cr3t", "/spec.pdf", "/plain"]
    blocks = fake_anthropic.generation_requests[-1].json["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["text", "document", "text", "text"]  # in the order given
    assert blocks[0]["text"] == framed(
        f"{base}/notes.html", "# Release notes\n\n## Version 2\n\nAdds [retries](/retry).\n\n- faster"
    )
    assert base64.b64decode(blocks[1]["source"]["data"]) == PDF
    assert blocks[2]["text"] == framed(f"{base}/plain", "just text")
    assert blocks[3]["text"] == "What changed?"
    exported = run_mmcli(["sessions", "export", "web", "--format", "json"], mmcli_env).stdout
    assert "s3cr3t" not in exported and f"{base}/notes.html" in exported


def test_fragment_from_stdin_and_in_the_cache_key(run_mmcli, mmcli_env, fake_openai, tmp_path):
    fake_openai.queue(Reply(text="One."), Reply(text="Two."))
    first = run_mmcli(["chat", "-m", "gpt-4o-mini", "-f", "-", "Summarise"], mmcli_env, input="alpha text\n")
    assert first.returncode == 0, first.stderr
    assert fake_openai.generation_requests[-1].json["messages"][0]["content"] == framed("stdin", "alpha text") + (
        "Summarise"
    )
    again = run_mmcli(["chat", "-m", "gpt-4o-mini", "-f", "-", "Summarise", "--json"], mmcli_env, input="alpha text\n")
    assert json.loads(again.stdout)["cached"] is True and len(fake_openai.generation_requests) == 1
    other = run_mmcli(["chat", "-m", "gpt-4o-mini", "-f", "-", "Summarise"], mmcli_env, input="beta text\n")
    assert other.stdout == "Two.\n" and len(fake_openai.generation_requests) == 2


def test_analyze_image_and_compare_take_fragments(
    run_mmcli, run_mmcli_subprocess, mmcli_env, fake_openai, fake_anthropic, tmp_path
):
    from tests.fakes.media_server import png_bytes

    notes = write(tmp_path, "plan.md", b"Expect a green square.\n")
    image = write(tmp_path, "shot.png", png_bytes())
    fake_openai.queue(Reply(text="Matches."))
    done = run_mmcli(["analyze-image", image, "-f", notes, "-P", "Does it match?", "-m", "gpt-4o-mini"], mmcli_env)
    assert done.returncode == 0, done.stderr
    parts = fake_openai.generation_requests[-1].json["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "text", "image_url"]
    assert parts[0]["text"] == framed(notes, "Expect a green square.") and parts[1]["text"] == "Does it match?"

    fake_openai.queue(Reply(text="A."))
    fake_anthropic.queue(Reply(text="B."))
    # compare forks: a process of its own, not the pytest process
    done = run_mmcli_subprocess(
        ["compare", "-f", notes, "Short?", "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5", "--json"], mmcli_env)
    assert done.returncode == 0, done.stderr
    expected = framed(notes, "Expect a green square.") + "Short?"
    assert fake_openai.generation_requests[-1].json["messages"][0]["content"] == expected
    assert fake_anthropic.generation_requests[-1].json["messages"][0]["content"] == expected


def test_bad_fragments_and_text_given_to_file_are_one_sentence(run_mmcli, mmcli_env, fake_openai, tmp_path):
    notes = write(tmp_path, "notes.txt", b"plain words\n")
    binary = write(tmp_path, "blob.bin", b"\x00\x01\x02binary")
    (tmp_path / "empty").mkdir()
    cases = {
        ("--file", notes): f"add text files as context with -f {notes}",
        ("-f", str(tmp_path / "missing.txt")): "does not exist",
        ("-f", binary): "is not text",
        ("-f", str(tmp_path / "empty")): "holds no text files",
    }
    for (flag, value), expected in cases.items():
        done = run_mmcli(["chat", "-m", "gpt-4o-mini", flag, value, "Hi"], mmcli_env)
        assert done.returncode == 2, (flag, value, done.stderr)
        assert done.stderr.startswith("mmcli: ") and expected in done.stderr and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1
    big = tmp_path / "big"
    big.mkdir()
    for index in range(6):  # each under the 1 MB a directory's file may be, together over 5 MB
        (big / f"part{index}.txt").write_text("word " * 180_000)
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-f", str(big), "Hi"], mmcli_env)
    assert done.returncode == 2 and done.stderr == (
        f"mmcli: {big} holds more than 5.0 MB or 2000 files of text; "
        "give a smaller directory or the files themselves.\n"
    )
    with page_server({}) as (base, _):
        done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-f", f"{base}/gone.html", "Hi"], mmcli_env)
    assert done.returncode == 2 and "HTTP 404" in done.stderr
    assert fake_openai.generation_requests == []


def test_an_api_key_in_a_fragment_is_sent_but_never_stored(run_mmcli, mmcli_env, fake_openai, tmp_path):
    key = mmcli_env["OPENAI_API_KEY"]
    config = write(tmp_path, "settings.ini", f"token = {key}\n".encode())
    fake_openai.queue(Reply(text="Rotate it."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "keys", "-f", config, "Is this safe?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert key in fake_openai.generation_requests[-1].json["messages"][0]["content"]  # what the user chose to send
    stored = media_rows(mmcli_env)
    assert stored == [("text/plain", framed(config, "token = ***").encode())]
    for file in Path(mmcli_env["MMCLI_DATA_DIR"]).glob("sessions.sqlite3*"):  # the WAL too
        assert key.encode() not in file.read_bytes()
