"""Runs the whole bad-input corpus (tests/bad_inputs): for each case, the exit
code from DESIGN.md, exactly one sentence on stderr naming the problem, no
traceback, and a data dir whose earlier session and cache entry survive."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from mmcli.conversation import Message, Part
from mmcli.store.cache import ResponseCache
from mmcli.store.sessions import SessionStore
from tests.bad_inputs.cases import CASES, Case
from tests.bad_inputs.files import make_all
from tests.test_chat import write_config

pytestmark = pytest.mark.in_pytest

SEED_KEY = "0" * 64


def seed_data_dir(data: Path) -> None:
    """A session and a cache entry that no failure may lose or corrupt."""
    with SessionStore(data) as store:
        store.create("keep-me", "openai:gpt-4o-mini", first_prompt="hello")
        store.append("keep-me", Message("user", [Part.of_text("hello")]), model="openai:gpt-4o-mini")
        store.append("keep-me", Message("assistant", [Part.of_text("hi there")]), model="openai:gpt-4o-mini")
    with ResponseCache(data) as cache:
        cache.put(SEED_KEY, {"text": "seeded answer", "provider": "openai", "model": "gpt-4o-mini"})


def assert_data_dir_consistent(data: Path) -> None:
    for name in ("sessions.sqlite3", "cache.sqlite3"):
        with sqlite3.connect(data / name) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with SessionStore(data) as store:
        assert [m.text for m in store.messages("keep-me")] == ["hello", "hi there"]
    with ResponseCache(data) as cache:
        assert cache.get(SEED_KEY)["text"] == "seeded answer"


@pytest.fixture
def media_urls():
    from tests.fakes.media_server import media_server

    with media_server() as served:
        yield served


def substitute(args: list[str], files: dict[str, object]) -> list[str]:
    out = []
    for arg in args:
        for name, path in files.items():
            arg = arg.replace("{" + name + "}", str(path))
        out.append(arg)
    return out


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, request, run_mmcli, mmcli_env, mmcli_cwd, tmp_path):
    if case.needs_non_root and os.geteuid() == 0:
        pytest.skip("root can read any file, so an unreadable file cannot be staged")
    if case.needs_proc and not Path("/proc/self/mem").exists():
        pytest.skip("no /proc on this system")
    files: dict[str, object] = dict(make_all(tmp_path / "files"))
    if any("{http}" in arg for arg in case.args):
        files["http"] = request.getfixturevalue("media_urls")[0]
    env = {k: v for k, v in mmcli_env.items() if k not in case.drop_env}
    env.update(case.env)
    config = write_config(env, case.config)
    if case.config_is_fifo:
        config.unlink()
        os.mkfifo(config)
    if case.dotenv is not None:
        (mmcli_cwd / ".env").write_text(case.dotenv)
    if case.server is not None:
        fake_name, replies = case.server
        request.getfixturevalue(fake_name).queue(*replies)
    data = Path(env["MMCLI_DATA_DIR"])
    seed_data_dir(data)

    done = run_mmcli(substitute(case.args, files), env, input=case.stdin, timeout=90)

    assert done.returncode == case.exit_code, done.stderr
    assert "Traceback" not in done.stderr
    assert case.phrase.lower() in done.stderr.lower(), done.stderr
    assert len(done.stderr) < 2000, "a long input is quoted whole"
    if not case.usage_block:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("mmcli: ") and lines[0].rstrip()[-1] in ".?!", lines[0]
    for secret in ("sk-test-openai-0123456789", "sk-ant-test-0123456789", "AIzaTest0123456789abcdefghijk",
                   "s3cr3t-token"):
        assert secret not in done.stdout + done.stderr
    assert_data_dir_consistent(data)
