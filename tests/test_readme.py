"""The README as a newcomer uses it: the first two commands at the very top, and the
first example block runs, line by line, with exactly the keys it exports (each
provider pointed at its fake server)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media_samples import audio_file
from tests.test_multimodal import image_bytes

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TOP = (
    "```sh\n"
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/mmcli --help\n"
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -n 2 -q\n"
    "```\n"
)
KEY_NAMES = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PERPLEXITY_API_KEY",
             "VERTEX_API_KEY", "MMCLI_COMPAT_API_KEY")


def first_example_block() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [line for line in blocks[1].splitlines() if line.strip()]


def test_the_first_two_commands_open_the_readme():
    assert README.startswith("# mmcli\n\n" + TOP)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TOP.splitlines()[2] in ci  # CI runs the second command, verbatim


def test_the_readme_points_only_at_files_in_the_repository():
    for name in re.findall(r"\b([A-Z][A-Z_]+\.md)\b", README):
        assert list(ROOT.rglob(name)), f"README mentions {name}, which is not in the repository"
    assert "../" + "shared" not in README  # the recordings live in tests/fixtures now


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """The files the examples name, in a git checkout with a change for `git diff`."""
    folder = tmp_path / "examples"
    (folder / "photos").mkdir(parents=True)
    (folder / "diagram.png").write_bytes(image_bytes((64, 48)))
    (folder / "question.mp3").write_bytes(audio_file("mp3"))  # real audio: transcribe decodes it
    (folder / "talk.m4a").write_bytes(audio_file("m4a"))
    for name in ("a.jpg", "b.jpg"):
        (folder / "photos" / name).write_bytes(image_bytes((32, 24), "JPEG"))
    if shutil.which("git"):
        git = ["git", "-C", str(folder), "-c", "user.email=a@b.c", "-c", "user.name=n"]
        subprocess.run([*git, "init", "-q"], check=True)
        (folder / "notes.txt").write_text("one\n")
        subprocess.run([*git, "add", "notes.txt"], check=True)
        subprocess.run([*git, "commit", "-qm", "x"], check=True)
        (folder / "notes.txt").write_text("one\ntwo\n")
    return folder


def test_the_first_example_block_works_with_what_it_exports(
    mmcli_env, example_dir, tmp_path, fake_openai, fake_anthropic, fake_gemini, fake_perplexity
):
    lines = first_example_block()
    assert lines[0].startswith("export ")
    exported = {word.split("=", 1)[0] for word in shlex.split(lines[0])[1:]}
    # Only the keys the block exports; the fake servers stand in for the providers.
    env = {k: v for k, v in mmcli_env.items() if k not in KEY_NAMES}
    env.update({name: mmcli_env.get(name, "test-key-0123456789") for name in exported})
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mmcli").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mmcli "$@"\n')
    (bindir / "mmcli").chmod(0o755)
    env["PATH"] = f"{bindir}:{env['PATH']}"
    fakes = {"openai": fake_openai, "anthropic": fake_anthropic, "gemini": fake_gemini, "perplexity": fake_perplexity}
    ran = 0
    for line in lines[1:]:
        command = line.split("  #", 1)[0].strip()
        if command.startswith("git ") and not shutil.which("git"):
            continue
        before = {name: len(fake.generation_requests) for name, fake in fakes.items()}
        done = subprocess.run(["bash", "-c", command], cwd=example_dir, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        assert "mmcli:" not in done.stderr, f"{command}\n{done.stderr}"
        if "mmcli models" not in command:
            asked = sum(len(fake.generation_requests) - before[name] for name, fake in fakes.items())
            assert asked >= 1, command
        ran += 1
    assert ran >= 8
