"""The session store: round trips with media, names, undo/retry, errors, file modes, concurrency, crashes."""

from __future__ import annotations

import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mmcli.conversation import Message, Part
from mmcli.errors import UsageError
from mmcli.store.cache import ResponseCache
from mmcli.store.sessions import SESSIONS_FILE, SessionStore, auto_name_base

MODEL = "openai:gpt-4o-mini"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x01\x00" * 64


class Clock:
    """Advances a little on every read, so updated_at orders events without sleeping."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> SessionStore:
    with SessionStore(data_dir, clock=Clock()) as opened:
        yield opened


def user(text: str, *media: Part) -> Message:
    return Message("user", [Part.of_text(text), *media])


def assistant(text: str, incomplete: bool = False) -> Message:
    return Message("assistant", [Part.of_text(text)], incomplete=incomplete)


def image(data: bytes = PNG, source: str = "cat.png") -> Part:
    return Part("image", data=data, mime_type="image/png", source=source)


def texts(messages: list[Message]) -> list[str]:
    return [m.text for m in messages]


def media_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / SESSIONS_FILE) as conn:
        return conn.execute("SELECT COUNT(*) FROM media").fetchone()[0]


def test_messages_round_trip_with_text_image_and_audio(store: SessionStore, data_dir: Path) -> None:
    store.create("trip", MODEL, system="Be brief.")
    audio = Part("audio", data=WAV, mime_type="audio/wav", source="memo.wav")
    store.append("trip", user("What is this?", image(), audio), MODEL)
    store.append("trip", assistant("A cat, and a voice memo.", incomplete=True), MODEL)

    first, second = store.messages("trip")
    assert first.role == "user" and second.role == "assistant"
    assert [p.kind for p in first.parts] == ["text", "image", "audio"]
    text, img, aud = first.parts
    assert text.text == "What is this?"
    assert (img.data, img.mime_type, img.source) == (PNG, "image/png", "cat.png")
    assert (aud.data, aud.mime_type, aud.source) == (WAV, "audio/wav", "memo.wav")
    assert img.sha256 == image().sha256
    assert second.text == "A cat, and a voice memo." and second.incomplete
    assert not first.incomplete

    records = store.records("trip")
    assert [r.model for r in records] == [MODEL, MODEL]
    info = store.get("trip")
    assert info is not None and (info.turns, info.system, info.model) == (1, "Be brief.", MODEL)


def test_the_same_image_is_stored_once(store: SessionStore, data_dir: Path) -> None:
    store.create("a", MODEL)
    store.create("b", MODEL)
    store.append("a", user("first", image()), MODEL)
    store.append("a", user("again", image(source="copy-of-cat.png")), MODEL)
    store.append("b", user("elsewhere", image()), MODEL)
    assert media_rows(data_dir) == 1
    store.append("b", user("another", image(PNG + b"!")), MODEL)
    assert media_rows(data_dir) == 2
    again = store.messages("a")[1].parts[1]
    assert again.data == PNG and again.source == "copy-of-cat.png"


def test_media_goes_when_no_message_refers_to_it(store: SessionStore, data_dir: Path) -> None:
    store.create("a", MODEL)
    store.create("b", MODEL)
    store.append("a", user("shared", image()), MODEL)
    store.append("b", user("shared", image()), MODEL)
    store.append("b", user("own", image(b"other bytes")), MODEL)
    store.delete("b")
    assert media_rows(data_dir) == 1  # the shared image stays for session a
    assert store.drop_last_exchange("a")
    assert media_rows(data_dir) == 0


def test_automatic_names_are_readable_and_unique(store: SessionStore) -> None:
    first = store.create(None, MODEL, first_prompt="Explain Python's GIL in simple terms, please")
    date = time.strftime("%Y-%m-%d", time.localtime(first.created_at))
    assert first.name == f"{date}-explain-pythons-gil"
    second = store.create(None, MODEL, first_prompt="explain  python’s GIL!")
    third = store.create(None, MODEL, first_prompt="Explain Python's GIL")
    assert (second.name, third.name) == (f"{date}-explain-pythons-gil-2", f"{date}-explain-pythons-gil-3")
    assert store.create(None, MODEL, first_prompt="").name == f"{date}-chat"
    assert store.create(None, MODEL, first_prompt="???").name == f"{date}-chat-2"


def test_automatic_name_words() -> None:
    now = time.mktime((2026, 11, 25, 12, 0, 0, 0, 0, -1))
    assert auto_name_base("Café au lait: how is it made?", now) == "2026-11-25-cafe-au-lait-how"
    assert auto_name_base("Summarize the  meeting notes for the team", now) == "2026-11-25-summarize-the-meeting-notes"
    assert auto_name_base("日本語で説明して", now) == "2026-11-25-日本語で説明して"


def test_explicit_names_are_checked(store: SessionStore) -> None:
    store.create("trip", MODEL)
    with pytest.raises(UsageError, match="already exists"):
        store.create("trip", MODEL)
    with pytest.raises(UsageError, match="cannot be a session name"):
        store.create("  ", MODEL)
    with pytest.raises(UsageError, match="cannot be a session name"):
        store.create("two\nlines", MODEL)


def test_get_or_create(store: SessionStore) -> None:
    info, created = store.get_or_create("trip", MODEL, "sys")
    assert created and info.name == "trip"
    again, created = store.get_or_create("trip", "other:model")
    assert not created and again.model == MODEL and again.system == "sys"


def test_most_recent_is_the_most_recently_used(store: SessionStore) -> None:
    assert store.most_recent() is None
    store.create("old", MODEL)
    store.create("new", MODEL)
    recent = store.most_recent()
    assert recent is not None and recent.name == "new"
    store.append("old", user("back to this one"), MODEL)
    recent = store.most_recent()
    assert recent is not None and recent.name == "old"
    assert [s.name for s in store.list()] == ["old", "new"]
    store.rename("new", "newer")  # renaming is not using
    assert [s.name for s in store.list()] == ["old", "newer"]


def test_undo_drops_the_last_exchange(store: SessionStore) -> None:
    store.create("s", MODEL)
    assert not store.drop_last_exchange("s")
    for turn in ("one", "two"):
        store.append("s", user(turn), MODEL)
        store.append("s", assistant(f"answer {turn}"), MODEL)
    assert store.drop_last_exchange("s")
    assert texts(store.messages("s")) == ["one", "answer one"]
    store.append("s", user("three"), MODEL)  # a question whose answer never came
    assert store.drop_last_exchange("s")
    assert texts(store.messages("s")) == ["one", "answer one"]
    assert store.get("s").turns == 1  # type: ignore[union-attr]


def test_retry_drops_only_the_last_answer(store: SessionStore) -> None:
    store.create("s", MODEL)
    store.append("s", user("one"), MODEL)
    assert not store.drop_last_answer("s")
    store.append("s", assistant("partial", incomplete=True), MODEL)
    assert store.drop_last_answer("s")
    assert texts(store.messages("s")) == ["one"]
    store.append("s", assistant("full"), MODEL)
    assert texts(store.messages("s")) == ["one", "full"]


def test_set_model_and_system(store: SessionStore) -> None:
    store.create("s", MODEL, system="old")
    store.set_model("s", "anthropic:claude-haiku-4-5")
    store.set_system("s", None)
    info = store.get("s")
    assert info is not None and (info.model, info.system) == ("anthropic:claude-haiku-4-5", None)


def test_rename_and_delete(store: SessionStore) -> None:
    store.create("trip-planning", MODEL)
    store.append("trip-planning", user("hello"), MODEL)
    store.create("work", MODEL)
    store.rename("trip-planning", "japan-trip")
    assert store.get("trip-planning") is None
    assert texts(store.messages("japan-trip")) == ["hello"]
    with pytest.raises(UsageError, match="already exists"):
        store.rename("japan-trip", "work")
    store.delete("japan-trip")
    assert [s.name for s in store.list()] == ["work"]
    store.create("japan-trip", MODEL)  # the name is free again, and starts empty
    assert store.messages("japan-trip") == []


def test_unknown_names_suggest_close_matches(store: SessionStore) -> None:
    for name in ("trip-planning", "work", "2026-11-25-explain-pythons-gil"):
        store.create(name, MODEL)
    with pytest.raises(UsageError) as caught:
        store.messages("trp")
    assert str(caught.value) == "No session named 'trp'. Did you mean: trip-planning?"
    for action in (
        lambda: store.delete("wrk"),
        lambda: store.rename("wrok", "x"),
        lambda: store.append("work ", user("x"), MODEL),
        lambda: store.set_model("Work", MODEL),
    ):
        with pytest.raises(UsageError, match="Did you mean: work"):
            action()
    assert store.close_matches("explain-gil") == ["2026-11-25-explain-pythons-gil"]
    with pytest.raises(UsageError, match="sessions list"):
        store.delete("zzzzzzzz")


def test_files_and_directory_are_private(data_dir: Path) -> None:
    with SessionStore(data_dir) as store:
        store.create("s", MODEL)
        store.append("s", user("hi", image()), MODEL)
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        files = [data_dir / (SESSIONS_FILE + suffix) for suffix in ("", "-wal", "-shm")]
        assert files[1].exists()
        for file in files:
            if file.exists():
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_an_existing_data_dir_is_used_as_it_is(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "data"
    with SessionStore(deep) as store:
        store.create("s", MODEL)
    assert stat.S_IMODE(deep.stat().st_mode) == 0o700
    assert stat.S_IMODE((deep / SESSIONS_FILE).stat().st_mode) == 0o600


# -- several processes --------------------------------------------------------

APPENDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mmcli.conversation import Message, Part
    from mmcli.store.sessions import SessionStore

    data_dir, session, writer, go = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.002)
    store = SessionStore(data_dir)
    store.get_or_create(session, "m")
    for i in range(100):
        store.append(session, Message("user", [Part.of_text(f"{writer} {i}")]), "m")
    store.close()
    print("done")
    """
)


def test_eight_processes_append_to_four_sessions_at_once(tmp_path: Path) -> None:
    data_dir, go = tmp_path / "data", tmp_path / "go"
    writers = [(f"s{n % 4}", f"w{n}") for n in range(8)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(data_dir), session, writer, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for session, writer in writers
    ]
    time.sleep(0.3)  # let every child import and start polling, so the opens really collide
    go.touch()
    outputs = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert "locked" not in out + err
        assert child.returncode == 0, err
        assert out.strip() == "done"
    with SessionStore(data_dir) as store:
        assert len(store.list()) == 4
        for session, writer in writers:
            mine = [m.text for m in store.messages(session) if m.text.startswith(f"{writer} ")]
            assert mine == [f"{writer} {i}" for i in range(100)]
        assert all(len(store.messages(f"s{n}")) == 200 for n in range(4))


CRASHER = textwrap.dedent(
    """
    import itertools, sys
    from pathlib import Path
    from mmcli.conversation import Message, Part
    from mmcli.store.cache import ResponseCache
    from mmcli.store.sessions import SessionStore

    data_dir = Path(sys.argv[1])
    cache, store = ResponseCache(data_dir), SessionStore(data_dir)
    store.create("crash", "m")
    picture = Part("image", data=bytes(range(256)) * 64, mime_type="image/png")
    for i in itertools.count():
        cache.put(f"k{i}", {"answer": "x" * 5000, "n": i})
        print(f"cache {i}", flush=True)
        store.append("crash", Message("user", [Part.of_text(f"m{i}"), picture]), "m")
        print(f"message {i}", flush=True)
    """
)


def test_a_process_killed_mid_write_leaves_both_files_intact(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    reported: list[list[str]] = []
    assert child.stdout is not None
    for line in child.stdout:
        reported.append(line.split())
        if len(reported) >= 300:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    reported += [line.split() for line in child.stdout.read().splitlines()]
    cached = [int(n) for kind, n in reported if kind == "cache"]
    appended = [int(n) for kind, n in reported if kind == "message"]
    assert len(cached) >= 150 and len(appended) >= 149

    for name in ("cache.sqlite3", SESSIONS_FILE):
        with sqlite3.connect(data_dir / name) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with ResponseCache(data_dir) as cache:
        for n in cached:
            assert cache.get(f"k{n}") == {"answer": "x" * 5000, "n": n}
    with SessionStore(data_dir) as store:
        stored = texts(store.messages("crash"))
        assert stored[: len(appended)] == [f"m{n}" for n in appended]
        assert len(stored) - len(appended) <= 1  # at most the write whose line was never printed
