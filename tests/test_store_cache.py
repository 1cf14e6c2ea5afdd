"""The response cache: keys, expiry, LRU eviction, counters, secrets, and several writers at once."""

from __future__ import annotations

import copy
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mmcli.conversation import Message, ModelRef, Part, Request
from mmcli.store import db
from mmcli.store.cache import CACHE_FILE, ResponseCache, cache_key

DAY = 86400.0


class Clock:
    """A clock the test moves by hand, so expiry and LRU order never depend on timing."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def answer(text: str = "Paris.", **extra: object) -> dict[str, object]:
    return {
        "answer": text,
        "model": "gpt-4o-mini",
        "provider": "openai",
        "usage": {"input_tokens": 12, "output_tokens": 3},
        "citations": [],
        **extra,
    }


def raw_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / CACHE_FILE) as conn:
        return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


def test_put_then_get_returns_the_answer_and_counts_hits_and_misses(data_dir: Path) -> None:
    with ResponseCache(data_dir) as cache:
        assert cache.get("k1") is None
        cache.put("k1", answer(citations=["https://example.org"]))
        assert cache.get("k1") == answer(citations=["https://example.org"])
        stats = cache.stats()
    assert stats["entries"] == 1
    assert stats["hits"] == 1 and stats["misses"] == 1
    assert stats["size_bytes"] > 0
    assert stats["path"] == str(data_dir / "cache.sqlite3")


def test_a_second_put_replaces_the_answer(data_dir: Path) -> None:
    with ResponseCache(data_dir) as cache:
        cache.put("k", answer("old"))
        cache.put("k", answer("new"))
        assert cache.get("k") == answer("new")
        assert cache.stats()["entries"] == 1


def test_entries_expire_after_ttl_and_are_purged(data_dir: Path, clock: Clock) -> None:
    with ResponseCache(data_dir, ttl_days=1, clock=clock) as cache:
        cache.put("old", answer("old"))
        clock.advance(0.5 * DAY)
        assert cache.get("old") == answer("old")  # still fresh; using it does not extend its life
        clock.advance(0.6 * DAY)
        assert cache.get("old") is None
        assert cache.stats()["entries"] == 0
        assert raw_count(data_dir) == 1  # ignored on read, still on disk until a put purges it
        cache.put("new", answer("new"))
        assert raw_count(data_dir) == 1
        assert cache.get("new") == answer("new")


def test_least_recently_used_entries_are_evicted_beyond_max_mb(data_dir: Path, clock: Clock) -> None:
    body = "x" * 3000
    # Room for three entries of ~3 KB, not four.
    with ResponseCache(data_dir, max_mb=10_000 / (1024 * 1024), clock=clock) as cache:
        for key in ("a", "b", "c"):
            cache.put(key, answer(body))
            clock.advance(1)
        assert cache.get("a") is not None  # a is now the most recently used
        clock.advance(1)
        cache.put("d", answer(body))
        present = {key for key in "abcd" if cache.get(key) is not None}
        assert present == {"a", "c", "d"}
        assert cache.stats()["size_bytes"] <= 10_000


def test_an_answer_larger_than_the_cap_is_not_kept(data_dir: Path) -> None:
    with ResponseCache(data_dir, max_mb=1000 / (1024 * 1024)) as cache:
        cache.put("big", answer("y" * 5000))
        assert cache.get("big") is None


def test_stats_counters_persist_across_instances(data_dir: Path) -> None:
    with ResponseCache(data_dir) as cache:
        cache.put("k", answer())
        cache.get("k")
        cache.get("nope")
    with ResponseCache(data_dir) as cache:
        cache.get("k")
        stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["entries"]) == (2, 1, 1)
    assert stats["oldest_created_at"] is not None


def test_clear_everything_or_only_old_entries(data_dir: Path, clock: Clock) -> None:
    with ResponseCache(data_dir, clock=clock) as cache:
        cache.put("old1", answer())
        cache.put("old2", answer())
        clock.advance(3600)
        cache.put("new", answer())
        assert cache.clear(older_than_s=1800) == 2
        assert cache.get("old1") is None and cache.get("new") is not None
        assert cache.clear() == 1
        stats = cache.stats()
        assert stats["entries"] == 0 and stats["oldest_created_at"] is None
        assert cache.clear() == 0


def test_clear_gives_space_back_to_the_file_system(data_dir: Path) -> None:
    with ResponseCache(data_dir) as cache:
        for i in range(40):
            cache.put(f"k{i}", answer(os.urandom(20_000).hex()))
        before = cache.stats()["file_bytes"]
        cache.clear()
        assert cache.stats()["file_bytes"] < before / 4


def test_refuses_to_store_an_answer_containing_an_api_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-0123456789abcdefSECRET"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with ResponseCache(data_dir) as cache:
        leaked = answer(usage={"headers": [f"Authorization: Bearer {secret}"]})
        assert cache.put("k", leaked) is False
        assert cache.get("k") is None
        assert cache.stats()["entries"] == 0
        assert cache.put("k2", answer()) is True
    for file in data_dir.iterdir():
        assert secret.encode() not in file.read_bytes()


def test_a_damaged_blob_reads_as_a_miss_and_is_dropped(data_dir: Path) -> None:
    with ResponseCache(data_dir) as cache:
        cache.put("k", answer())
        with sqlite3.connect(data_dir / CACHE_FILE) as raw:
            raw.execute("UPDATE entries SET value = x'00ff00'")
        assert cache.get("k") is None
        assert raw_count(data_dir) == 0


def test_the_shelf_sits_on_the_sqlite_mapping(data_dir: Path) -> None:
    import shelve

    with ResponseCache(data_dir) as cache:
        cache.put("k", answer())
        shelf = cache._shelf
        assert isinstance(shelf, shelve.Shelf)
        assert "k" in shelf and list(shelf.keys()) == ["k"] and len(shelf) == 1
        del shelf["k"]
        assert cache.get("k") is None


def test_cache_files_are_private(data_dir: Path) -> None:
    with ResponseCache(data_dir) as cache:
        cache.put("k", answer())
        files = [data_dir / name for name in ("cache.sqlite3", "cache.sqlite3-wal", "cache.sqlite3-shm")]
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert files[1].exists()
        for file in files:
            if file.exists():
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


# -- keys ---------------------------------------------------------------------


def base_request(image: bytes = b"\x89PNG\r\n\x1a\n-pixels-") -> Request:
    return Request(
        model=ModelRef("openai", "gpt-4o-mini"),
        messages=[
            Message(
                "user",
                [Part.of_text("What is in this picture?"), Part("image", data=image, mime_type="image/png")],
            ),
            Message("assistant", [Part.of_text("A cat.")]),
            Message("user", [Part.of_text("What colour?")]),
        ],
        system="Be brief.",
        temperature=0.2,
        max_tokens=100,
        options={"top_p": 0.9, "seed": 1},
    )


def test_the_key_is_stable_and_ignores_option_order() -> None:
    first = base_request()
    second = base_request()
    second.options = {"seed": 1, "top_p": 0.9}
    assert cache_key(first.cache_identity()) == cache_key(second.cache_identity())
    assert len(cache_key(first.cache_identity())) == 64


@pytest.mark.parametrize(
    "change",
    [
        lambda i: i.update(provider="anthropic"),
        lambda i: i.update(model="gpt-4o"),
        lambda i: i.update(system="Be verbose."),
        lambda i: i.update(system=None),
        lambda i: i.update(temperature=0.3),
        lambda i: i.update(max_tokens=101),
        lambda i: i["options"].update(seed=2),
        lambda i: i["options"].update(stop=["\n"]),
        lambda i: i["messages"][0].update(role="assistant"),
        lambda i: i["messages"][0]["parts"][0].update(text="What is in this picture"),
        lambda i: i["messages"][0]["parts"][1].update(mime_type="image/jpeg"),
        lambda i: i["messages"][0]["parts"][1].update(kind="document"),
        lambda i: i["messages"].pop(),
        # One hex digit of the media hash.
        lambda i: i["messages"][0]["parts"][1].update(
            sha256=i["messages"][0]["parts"][1]["sha256"][:-1]
            + ("0" if i["messages"][0]["parts"][1]["sha256"][-1] != "0" else "1")
        ),
    ],
)
def test_any_change_to_the_identity_changes_the_key(change) -> None:
    identity = base_request().cache_identity()
    changed = copy.deepcopy(identity)
    change(changed)
    assert changed != identity
    assert cache_key(changed) != cache_key(identity)


def test_one_byte_of_an_image_changes_the_key() -> None:
    image = bytearray(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100)
    original = cache_key(base_request(bytes(image)).cache_identity())
    image[-1] ^= 1
    assert cache_key(base_request(bytes(image)).cache_identity()) != original


# -- several processes --------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from mmcli.store.cache import ResponseCache

    data_dir, writer, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.002)
    cache = ResponseCache(data_dir)
    for i in range(200):
        cache.put(f"{writer}-{i}", {"answer": f"answer {writer} {i}", "model": "m"})
    cache.close()
    print("done")
    """
)


def test_eight_processes_write_at_once_into_a_fresh_cache(tmp_path: Path) -> None:
    data_dir, go = tmp_path / "data", tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data_dir), f"w{n}", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    time.sleep(0.3)  # let every child import and start polling, so the opens really collide
    go.touch()
    outputs = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert "locked" not in out + err
        assert child.returncode == 0, err
        assert out.strip() == "done"
    with ResponseCache(data_dir) as cache:
        assert cache.stats()["entries"] == 1600
        for n in range(8):
            for i in (0, 99, 199):
                assert cache.get(f"w{n}-{i}") == {"answer": f"answer w{n} {i}", "model": "m"}


def test_a_file_that_stays_locked_becomes_a_sentence_not_a_sqlite_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.05)
    monkeypatch.setattr(db, "SETUP_DEADLINE_S", 0.2)
    with ResponseCache(data_dir) as cache:
        cache.put("k", answer())
        holder = sqlite3.connect(data_dir / CACHE_FILE, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(db.StoreError) as caught:
                with ResponseCache(data_dir) as other:
                    other.put("k2", answer())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    message = str(caught.value)
    assert "another mmcli process" in message and "database is locked" not in message


def test_opening_retries_while_the_new_file_is_held_by_another_process(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a tiny busy timeout SQLite gives up at once, as it does for the WAL
    # switch; only the retry loop in db.connect gets the store open.
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.01)
    data_dir.mkdir()
    holder = sqlite3.connect(data_dir / CACHE_FILE, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def let_go() -> None:
        holder.execute("ROLLBACK")
        released.set()

    release = threading.Timer(0.3, let_go)
    release.start()
    try:
        with ResponseCache(data_dir) as cache:
            # Ordering, not the clock: the store opened only after the holder let go.
            assert released.is_set()
            cache.put("k", answer())
            assert cache.get("k") == answer()
    finally:
        release.join()
        holder.close()


def test_a_file_that_is_not_a_database_is_reported_in_a_sentence(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / CACHE_FILE).write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(db.StoreError, match="is damaged .* move it aside"):
        ResponseCache(data_dir)
