"""Files and disks: the directories mmcli creates are private whatever the umask;
files written on request (`-o`) write through special files, keep an existing
file's mode and appear whole; a full or read-only data dir costs neither the
answer nor the saved sessions, and the data dir is intact afterwards.

The full disk is a real one: a 2 MB tmpfs filled to the last block (this needs
root, as CI has; elsewhere those tests are skipped). The read-only data dir is
a read-only remount of such a tmpfs for root, a chmod for anyone else.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcli.output_file import open_output
from tests.fakes import Reply
from tests.test_bad_inputs import assert_data_dir_consistent, seed_data_dir

CHAT = ["chat", "-m", "openai:gpt-4o-mini"]


def run(  # type: ignore[no-untyped-def]
    args: list[str], env: dict[str, str], cwd: Path, *, umask: int = 0o022, stdin=None, timeout: float = 60
):
    """mmcli as a subprocess under a given umask."""
    done = subprocess.run(
        [sys.executable, "-m", "mmcli", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        capture_output=True,
        timeout=timeout,
        umask=umask,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mmcli: ") and lines[0].rstrip()[-1] in ".?!", lines[0]
    assert "Traceback" not in stderr
    return lines[0]


# --- directories ------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def test_every_directory_mmcli_creates_is_private(umask, mmcli_env, mmcli_cwd, tmp_path, fake_openai):
    top = tmp_path / "new"
    data = top / "parents" / "of" / "data"
    env = {**mmcli_env, "MMCLI_DATA_DIR": str(data)}

    done = run([*CHAT, "Hi"], env, mmcli_cwd, umask=umask)

    assert done.returncode == 0, done.stderr
    for folder in (top, top / "parents", top / "parents" / "of", data):
        assert mode(folder) == 0o700, (folder, oct(mode(folder)))
    files = sorted(p.name for p in data.iterdir())
    # On Python 3.12+ closing a store leaves SQLite's -wal and -shm files (no checkpoint on close): private too.
    assert [name for name in files if not name.endswith(("-wal", "-shm"))] == ["cache.sqlite3", "sessions.sqlite3"]
    assert all(mode(data / name) == 0o600 for name in files), [(name, oct(mode(data / name))) for name in files]


def test_an_existing_data_dir_keeps_its_mode(mmcli_env, mmcli_cwd, tmp_path, fake_openai):
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    data.chmod(0o750)
    done = run([*CHAT, "Hi"], {**mmcli_env, "MMCLI_DATA_DIR": str(data)}, mmcli_cwd)
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o750  # the user's own choice: mmcli only sets the mode of what it creates


# --- files written on request ---------------------------------------------------------------------------


@pytest.fixture
def seeded(mmcli_env) -> dict[str, str]:
    seed_data_dir(Path(mmcli_env["MMCLI_DATA_DIR"]))
    return mmcli_env


def export(env: dict[str, str], cwd: Path, target: str, *, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return run(["sessions", "export", "keep-me", "--format", "json", "-o", target], env, cwd, umask=umask)


def expected_export(env: dict[str, str], cwd: Path) -> str:
    done = run(["sessions", "export", "keep-me", "--format", "json"], env, cwd)
    assert done.returncode == 0, done.stderr
    assert '"hi there"' in done.stdout
    return done.stdout


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_a_new_file_is_private_and_whole(umask, seeded, mmcli_cwd):
    (mmcli_cwd / "out").mkdir()
    done = export(seeded, mmcli_cwd, "out/trip.json", umask=umask)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (mmcli_cwd / "out" / "trip.json").read_text(encoding="utf-8") == expected_export(seeded, mmcli_cwd)
    assert mode(mmcli_cwd / "out" / "trip.json") == 0o600
    assert os.listdir(mmcli_cwd / "out") == ["trip.json"]  # no temporary file left behind


@pytest.mark.parametrize("existing_mode", [0o600, 0o644, 0o640])
def test_an_existing_file_keeps_its_mode(existing_mode, seeded, mmcli_cwd):
    target = mmcli_cwd / "trip.json"
    target.write_text("old contents, much longer than nothing " * 100)
    target.chmod(existing_mode)
    done = export(seeded, mmcli_cwd, "trip.json", umask=0o022)
    assert done.returncode == 0, done.stderr
    assert target.read_text(encoding="utf-8") == expected_export(seeded, mmcli_cwd)
    assert mode(target) == existing_mode


def test_a_symlink_is_written_through(seeded, mmcli_cwd):
    real = mmcli_cwd / "archive" / "trip.json"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o640)
    (mmcli_cwd / "link.json").symlink_to(real)
    done = export(seeded, mmcli_cwd, "link.json")
    assert done.returncode == 0, done.stderr
    assert (mmcli_cwd / "link.json").is_symlink()
    assert real.read_text(encoding="utf-8") == expected_export(seeded, mmcli_cwd)
    assert mode(real) == 0o640


def test_a_fifo_is_written_through_not_replaced(seeded, mmcli_cwd):
    fifo = mmcli_cwd / "pipe.json"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    done = export(seeded, mmcli_cwd, "pipe.json")
    reader.join(timeout=30)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received == [expected_export(seeded, mmcli_cwd).encode("utf-8")]


def test_dev_stdout_and_dev_null_are_written_not_replaced(seeded, mmcli_cwd):
    done = export(seeded, mmcli_cwd, "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_export(seeded, mmcli_cwd)
    done = export(seeded, mmcli_cwd, "/dev/null")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dev_stdout_appends_where_the_shell_said(seeded, mmcli_cwd):
    log = mmcli_cwd / "log.txt"
    log.write_text("earlier line\n")
    with open(log, "ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "mmcli", "sessions", "export", "keep-me", "--format", "json", "-o", "/dev/stdout"],
            env=seeded, cwd=mmcli_cwd, stdout=out, stderr=subprocess.PIPE, timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert log.read_text() == "earlier line\n" + expected_export(seeded, mmcli_cwd)


@pytest.mark.parametrize(
    ("target", "phrase"),
    [("nowhere/trip.json", "does not exist"), (".", "is a folder"), ("", "file name is empty")],
)
def test_unwritable_targets_are_refused(target, phrase, seeded, mmcli_cwd):
    done = export(seeded, mmcli_cwd, target)
    assert done.returncode == 2
    assert phrase in one_sentence(done.stderr)


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("the old contents")
    target.chmod(0o640)
    with pytest.raises(RuntimeError), open_output(str(target)) as stream:
        stream.write("half of the new")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "the old contents"
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_transcribe_output_keeps_mode_and_symlink(mmcli_env, mmcli_cwd, fake_openai):
    from tests.test_transcribe import write_wav

    write_wav(mmcli_cwd / "call.wav", 1)
    real = mmcli_cwd / "call.txt"
    real.write_text("old")
    real.chmod(0o600)
    (mmcli_cwd / "latest.txt").symlink_to(real)
    fake_openai.queue(Reply(text="Guten Tag."))
    done = run(["transcribe", "call.wav", "-m", "whisper-1", "-o", "latest.txt"], mmcli_env, mmcli_cwd, umask=0o022)
    assert done.returncode == 0, done.stderr
    assert (mmcli_cwd / "latest.txt").is_symlink()
    assert real.read_text() == "Guten Tag.\n"
    assert mode(real) == 0o600


# --- stdin ----------------------------------------------------------------------------------------------


def test_endless_stdin_is_refused_at_the_cap(mmcli_env, mmcli_cwd, fake_openai):
    with open("/dev/zero", "rb") as zero:
        done = run([*CHAT, "hi"], mmcli_env, mmcli_cwd, stdin=zero)
    assert done.returncode == 2
    assert "more than 20 MB" in one_sentence(done.stderr)
    assert fake_openai.requests == []


# --- full and read-only disks ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free block of ``disk``; returns the file to delete to free them again."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 4096)
    assert os.statvfs(disk).f_bavail == 0
    return filler


def sent_texts(fake) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["content"] for m in fake.requests[-1].json["messages"]]


def test_full_disk_costs_neither_the_answer_nor_what_was_saved(small_disk, mmcli_env, mmcli_cwd, fake_openai):
    data = small_disk / "data"
    env = {**mmcli_env, "MMCLI_DATA_DIR": str(data)}
    seed_data_dir(data)
    filler = fill(small_disk)

    # A one-shot: the answer, then one sentence saying the disk is full.
    fake_openai.queue(Reply(text="Forty-two."))
    done = run([*CHAT, "What is the answer?"], env, mmcli_cwd)
    assert done.returncode == 1
    assert done.stdout.startswith("Forty-two.")
    sentence = one_sentence(done.stderr)
    assert "the disk is full" in sentence and "I/O" not in sentence

    # A new named session: the request still goes out (nothing fails before it), the answer comes first.
    fake_openai.queue(Reply(text="Hello, new session."))
    done = run([*CHAT, "-S", "brand-new", "Hi"], env, mmcli_cwd)
    assert done.returncode == 1
    assert done.stdout.startswith("Hello, new session.")
    assert "the disk is full" in one_sentence(done.stderr)

    # Resuming a saved session: its history is read and sent.
    fake_openai.queue(Reply(text="Still here."))
    done = run([*CHAT, "-S", "keep-me", "And now?"], env, mmcli_cwd)
    assert done.returncode == 1
    assert done.stdout.startswith("Still here.")
    assert "the disk is full" in one_sentence(done.stderr)
    assert sent_texts(fake_openai)[-3:] == ["hello", "hi there", "And now?"]
    assert len(fake_openai.requests) == 3

    # Everything saved can still be read.
    assert_readable(env, mmcli_cwd)

    filler.unlink()
    assert_data_dir_consistent(data)
    done = run(["sessions", "list", "--json"], env, mmcli_cwd)
    assert [s["name"] for s in json.loads(done.stdout)] == ["keep-me"]  # nothing half-written


def assert_readable(env: dict[str, str], cwd: Path) -> None:
    done = run(["sessions", "list"], env, cwd)
    assert done.returncode == 0, done.stderr
    assert "keep-me" in done.stdout
    for args in (["sessions", "show", "keep-me"], ["sessions", "export", "keep-me", "--format", "md"]):
        done = run(args, env, cwd)
        assert done.returncode == 0, done.stderr
        assert "hi there" in done.stdout
    done = run(["cache", "stats", "--json"], env, cwd)
    assert done.returncode == 0, done.stderr
    assert '"entries": 1' in done.stdout


@contextlib.contextmanager
def read_only(folder: Path, mount: Path | None) -> Iterator[None]:
    """``folder`` unwritable: a read-only remount for root (who ignores modes), a chmod for anyone else."""
    if mount is not None:
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    else:
        folder.chmod(0o500)
    try:
        yield
    finally:
        if mount is not None:
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        else:
            folder.chmod(0o700)


@pytest.fixture
def data_dir_and_mount(request, tmp_path) -> tuple[Path, Path | None]:
    if os.geteuid() == 0:
        disk = request.getfixturevalue("small_disk")
        return disk / "data", disk
    return tmp_path / "ro-data", None


def test_read_only_data_dir_can_be_read_and_says_why_it_cannot_save(
    data_dir_and_mount, mmcli_env, mmcli_cwd, fake_openai
):
    data, mount = data_dir_and_mount
    env = {**mmcli_env, "MMCLI_DATA_DIR": str(data)}
    seed_data_dir(data)
    with read_only(data, mount):
        assert_readable(env, mmcli_cwd)
        fake_openai.queue(Reply(text="Read-only answer."))
        done = run([*CHAT, "-S", "keep-me", "And now?"], env, mmcli_cwd)
        assert done.returncode == 1
        assert done.stdout.startswith("Read-only answer.")
        sentence = one_sentence(done.stderr)
        assert "read-only" in sentence or "permission denied" in sentence
        done = run(["cache", "clear"], env, mmcli_cwd)
        assert done.returncode == 1
        one_sentence(done.stderr)
    assert_data_dir_consistent(data)


def test_a_read_only_disk_without_a_data_dir_lists_nothing(small_disk, mmcli_env, mmcli_cwd, fake_openai):
    env = {**mmcli_env, "MMCLI_DATA_DIR": str(small_disk / "never" / "made")}
    with read_only(small_disk, small_disk):
        done = run(["sessions", "list", "--json"], env, mmcli_cwd)
        assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
        done = run([*CHAT, "Hi"], env, mmcli_cwd)
        assert done.returncode == 1
        assert done.stdout.startswith("Hello from the fake")
        assert "read-only" in one_sentence(done.stderr)
