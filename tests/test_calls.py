"""Provider calls side by side (mmcli/concurrency.py) and transcription through the
engine's cache and fallbacks: the helper itself in-process, then what a user sees
when compare, analyze-image or transcribe use it (Ctrl-C, fallbacks, the cache)."""

from __future__ import annotations

import _thread
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from mmcli.concurrency import Calls, Cancelled
from tests.fakes import Reply
from tests.test_chat import write_config
from tests.test_multimodal import image_bytes, write
from tests.test_transcribe import uploads, write_wav

WAIT_S = 30.0


# --- the helper ------------------------------------------------------------------------------------


def test_results_keep_the_input_order_while_calls_finish_out_of_order():
    finished: list[int] = []
    lock = threading.Lock()
    gates = [threading.Event() for _ in range(3)]

    def task(index: int):
        def work() -> str:
            # 2 finishes first, then 1, then 0: each waits for the one after it.
            if index < 2:
                assert gates[index + 1].wait(WAIT_S)
            with lock:
                finished.append(index)
            gates[index].set()
            return f"result {index}"

        return work

    calls = Calls(3)
    seen = list(calls.completed([task(i) for i in range(3)]))
    assert finished == [2, 1, 0]
    assert seen == [(2, "result 2"), (1, "result 1"), (0, "result 0")]  # as they finished, with their index
    gates.clear()
    gates.extend(threading.Event() for _ in range(3))
    finished.clear()
    assert Calls(3).ordered([task(i) for i in range(3)]) == ["result 0", "result 1", "result 2"]
    assert finished == [2, 1, 0]


def test_no_more_than_max_workers_calls_run_at_once():
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    calls = Calls(2)
    assert calls.ordered([work] * 8) == [None] * 8
    assert 1 <= peak <= 2
    assert len(calls.threads) == 2


def test_a_failure_is_raised_at_once_and_calls_not_yet_started_never_start():
    started: list[int] = []

    def task(index: int):
        def work() -> int:
            started.append(index)
            if index == 0:
                raise ValueError("piece 0 failed")
            return index

        return work

    calls = Calls(1)
    with pytest.raises(ValueError, match="piece 0 failed"):
        calls.ordered([task(i) for i in range(4)])
    for thread in calls.threads:
        thread.join(WAIT_S)
    assert started == [0]
    assert calls.cancelled


class Recorder:
    """A sink that only counts what reaches it."""

    def __init__(self) -> None:
        self.deltas: list[str] = []

    def delta(self, text: str) -> None:
        self.deltas.append(text)


def test_leaving_the_wait_closes_a_running_stream_at_its_next_event():
    """What the engine does with a provider stream (``with closing(events)``), cut by a cancelled run."""
    next_chunk = threading.Event()
    first_delta = threading.Event()
    stream_closed = threading.Event()
    recorder = Recorder()
    calls = Calls(2)

    def events() -> Iterator[str]:
        try:
            for number in range(1000):
                yield f"chunk {number}"
                first_delta.set()
                assert next_chunk.wait(WAIT_S)
        finally:
            stream_closed.set()

    def streaming() -> None:
        sink = calls.guard(recorder)
        with closing(events()) as stream:
            for text in stream:
                sink.delta(text)

    def quick() -> str:
        assert first_delta.wait(WAIT_S)
        return "quick"

    for index, result in calls.completed([streaming, quick]):
        assert (index, result) == (1, "quick")
        break  # the caller stops waiting (as on Ctrl-C): the run is cancelled
    assert calls.cancelled
    next_chunk.set()  # the stream's next event arrives ...
    assert stream_closed.wait(WAIT_S)  # ... and the stream is closed instead of passed on
    for thread in calls.threads:
        thread.join(WAIT_S)
    assert calls.alive() == []
    assert recorder.deltas == ["chunk 0"]


def test_ctrl_c_reaches_the_waiting_thread_and_nothing_more_starts():
    started: list[int] = []
    interrupted = threading.Event()
    calls = Calls(1)

    def task(index: int):
        def work() -> None:
            started.append(index)
            if index == 0:
                _thread.interrupt_main()  # the user presses Ctrl-C while this call runs
                interrupted.wait(WAIT_S)
                calls.check()

        return work

    with pytest.raises(KeyboardInterrupt):
        for _ in calls.completed([task(i) for i in range(3)]):
            pass
    assert calls.cancelled
    interrupted.set()
    for thread in calls.threads:
        thread.join(WAIT_S)
    assert started == [0]
    with pytest.raises(Cancelled):
        calls.check()


def test_max_workers_must_be_positive():
    with pytest.raises(ValueError):
        Calls(0)


# --- Ctrl-C in the commands ----------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc), but for the warm worker it may
    start, which is meant to outlive it."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if int(fields[1]) == pid and b"mmcli.worker" not in command:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def _read_until(stream, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = stream.read1(4096)
        if not chunk:
            break
        seen += chunk
    return seen


def _connections_close(fake, timeout: float = WAIT_S) -> bool:
    """Whether every connection to ``fake`` is closed within ``timeout`` (a stream still
    being generated for nobody would keep one open)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with fake._lock:
            if not fake._connections:
                return True
        time.sleep(0.05)
    return False


def _popen(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mmcli", *args], env=env, cwd=cwd,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("worker", [True, False], ids=["warm-worker", "in-process"])
def test_ctrl_c_during_compare_keeps_what_arrived_and_leaves_nothing_running(
    mmcli_env, mmcli_cwd, fake_openai, fake_anthropic, worker
):
    if not worker:
        mmcli_env = {**mmcli_env, "MMCLI_NO_WORKER": "1"}
    fake_openai.queue(Reply(text="The quick answer."))
    slow = " ".join(f"word{n}" for n in range(500))
    fake_anthropic.queue(Reply(text=slow, chunk_delay_s=0.05))
    child = _popen(["compare", "Hi", "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5", "--no-cache"], mmcli_env,
                   mmcli_cwd)
    assert child.stdout is not None
    printed = _read_until(child.stdout, b"word5 ")  # the quick answer, then the slow one streaming
    assert b"The quick answer." in printed, printed
    helpers = _children(child.pid)
    child.send_signal(signal.SIGINT)
    rest, stderr = child.communicate(timeout=WAIT_S)
    output = (printed + rest).decode()
    assert child.returncode == 130, stderr
    assert "## openai:gpt-4o-mini" in output and "The quick answer." in output
    assert "## anthropic:claude-haiku-4-5" in output and "word0 word1" in output  # the partial answer is kept
    assert "Interrupted" in stderr.decode() and "Traceback" not in stderr.decode()
    assert not [pid for pid in helpers if _alive(pid)]  # no process of its own outlives it
    assert _connections_close(fake_anthropic)  # the slow stream was closed, not left generating


def test_ctrl_c_during_analyze_image_keeps_the_answers_and_starts_no_more(
    mmcli_env, mmcli_cwd, fake_openai, tmp_path
):
    paths = [write(tmp_path, f"img{n}.png", image_bytes((30, 20 + n))) for n in range(3)]
    late = " ".join(f"late{n}" for n in range(500))
    fake_openai.queue(Reply(text="First picture."), Reply(text=late, chunk_delay_s=0.05))
    child = _popen(["analyze-image", *paths, "-m", "gpt-4o-mini", "--concurrency", "1", "--no-cache"], mmcli_env,
                   mmcli_cwd)
    assert child.stdout is not None
    printed = _read_until(child.stdout, b"First picture.")
    fake_openai.wait_for_requests(2, timeout=WAIT_S)  # the second image's call is in flight
    child.send_signal(signal.SIGINT)
    rest, stderr = child.communicate(timeout=WAIT_S)
    output = (printed + rest).decode()
    assert child.returncode == 130, stderr
    assert f"## {paths[0]}" in output and "First picture." in output
    assert "late" not in output and "Traceback" not in stderr.decode()
    assert _connections_close(fake_openai)
    assert len(fake_openai.generation_requests) == 2  # the third image was never sent


# --- transcription through the engine's cache and fallbacks ----------------------------------------------


def test_a_failing_transcription_falls_back_to_the_next_model_that_can_transcribe(
    run_mmcli, mmcli_env, fake_openai, fake_gemini, mmcli_cwd
):
    write_wav(mmcli_cwd / "memo.wav", 2)
    # A chat model first: it cannot transcribe, so it is skipped with a note, as chat skips one that cannot see.
    write_config(mmcli_env, 'retries = 0\nfallback = ["openai:gpt-4o-mini", "gemini:gemini-2.5-flash"]\n')
    fake_openai.queue(Reply(status=503, error_message="overloaded"))
    fake_gemini.queue(Reply(text="Saved by the fallback."))
    done = run_mmcli(["transcribe", "memo.wav", "-m", "openai:gpt-4o-transcribe", "--json"], mmcli_env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["provider"], document["model"]) == ("gemini", "gemini-2.5-flash")
    assert document["transcript"] == "Saved by the fallback." and document["cached"] is False
    notes = done.stderr.strip().splitlines()
    assert len(notes) == 2, notes
    assert notes[0].startswith("mmcli: Skipping fallback openai:gpt-4o-mini:") and "chat model" in notes[0]
    assert "server error (503)" in notes[1] and "falling back to gemini:gemini-2.5-flash" in notes[1]
    assert len(uploads(fake_openai)) == 1 and len(fake_gemini.generation_requests) == 1

    # The transcript is cached under the model that wrote it.
    again = run_mmcli(["transcribe", "memo.wav", "-m", "gemini:gemini-2.5-flash", "--json"], mmcli_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cached"] is True
    assert len(fake_gemini.generation_requests) == 1


def test_a_refused_transcription_does_not_fall_back(run_mmcli, mmcli_env, fake_openai, fake_gemini, mmcli_cwd):
    write_wav(mmcli_cwd / "memo.wav", 2)
    write_config(mmcli_env, 'retries = 0\nfallback = ["gemini:gemini-2.5-flash"]\n')
    fake_openai.queue(Reply(status=400, error_message="Audio file is too short"))
    done = run_mmcli(["transcribe", "memo.wav", "-m", "whisper-1"], mmcli_env)
    assert done.returncode == 1
    assert "refused the request (400)" in done.stderr and "falling back" not in done.stderr
    assert fake_gemini.generation_requests == []


def test_gemini_subtitles_come_from_the_cache_on_a_second_run(run_mmcli, mmcli_env, fake_gemini, mmcli_cwd):
    write_wav(mmcli_cwd / "talk.wav", 3)
    segments = {"language": "en", "segments": [{"start": 0, "end": 2.5, "text": "Hello there."}]}
    fake_gemini.queue(Reply(text=json.dumps(segments)))
    args = ["transcribe", "talk.wav", "-m", "gemini:gemini-2.5-flash", "-f", "srt"]
    first = run_mmcli(args, mmcli_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n"
    second = run_mmcli([*args, "--json"], mmcli_env)
    assert second.returncode == 0, second.stderr
    document = json.loads(second.stdout)
    assert document["cached"] is True and document["transcript"] == first.stdout
    assert len(fake_gemini.generation_requests) == 1  # the fake received one request in all


def test_a_fallback_leaves_out_a_temperature_it_cannot_take(run_mmcli, mmcli_env, fake_openai, fake_gemini, mmcli_cwd):
    write_wav(mmcli_cwd / "memo.wav", 2)
    write_config(mmcli_env, 'retries = 0\nfallback = ["openai:whisper-1"]\n')
    fake_gemini.queue(Reply(status=500, error_message="internal"))
    fake_openai.queue(Reply(text="From whisper."))
    done = run_mmcli(["transcribe", "memo.wav", "-m", "gemini:gemini-2.5-flash", "-t", "1.5"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "From whisper.\n"), done.stderr
    assert "falling back to openai:whisper-1" in done.stderr
    assert "Leaving out -t 1.5 for openai:whisper-1" in done.stderr
    [upload] = uploads(fake_openai)
    assert "temperature" not in upload.form
    assert fake_gemini.generation_requests[0].json["generationConfig"]["temperature"] == 1.5
