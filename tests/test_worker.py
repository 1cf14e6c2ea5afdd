"""The warm worker (mmcli/worker): the same answers through it as in-process,
and its safety properties.

Part one re-runs key end-to-end tests of other modules (imported below, so
pytest collects them here too) with ``mmcli_env`` overridden: the worker on,
a warm worker already serving this module's private runtime dir, and a check
after each test that the worker did make its provider calls. Part two tests
what only the worker has: its socket's privacy, keys never on disk, restarts
on a version change, the off switches, a stale socket, Ctrl-C, idle exit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcli.worker import client, protocol
from tests.conftest import REPO_ROOT, TEST_KEYS
from tests.fakes import Reply

# --- the same behaviour through the worker (collected here with the worker on) --------------------
from tests.test_analyze_image import test_batch_in_a_pipe_prints_headings_in_input_order  # noqa: F401
from tests.test_cache_and_fallback import (  # noqa: F401
    test_fallback_answers_when_the_primary_fails,
    test_fallbacks_from_config_are_tried_in_order,
    test_no_fallback_on_bad_input,
)
from tests.test_chat import (  # noqa: F401
    test_anthropic_gets_system_and_temperature_in_its_own_format,
    test_dotenv_in_cwd_is_read_but_never_overrides_the_environment,
    test_gemini_streams_with_alt_sse_and_system_instruction,
    test_json_is_one_document_with_citations_and_usage,
    test_openai_streams_raw_text_and_sends_the_whole_request,
    test_rejected_key_exits_3_and_never_prints_the_key,
    test_server_error_after_retries_exits_1,
    test_stream_cut_keeps_what_arrived_and_exits_1,
    test_vertex_express_mode_uses_the_vertex_path,
    test_vertex_project_mode_uses_application_default_credentials,
)
from tests.test_compare import (  # noqa: F401
    test_one_failing_model_leaves_the_others_complete,
    test_requests_run_at_the_same_time,
)
from tests.test_endings import (  # noqa: F401
    test_an_answer_cut_at_the_token_limit_is_told_kept_and_not_cached,
    test_anthropic_pause_turn_is_continued_with_the_turn_so_far,
    test_gemini_safety_block_is_told_and_exits_1,
    test_openai_refusal_is_printed_and_exits_1,
)
from tests.test_fidelity import test_debug_traceback_is_redacted_and_keeps_the_exit_code  # noqa: F401
from tests.test_repl import (  # noqa: F401
    test_a_conversation_sends_the_full_history_every_turn,
    test_ctrl_c_stops_the_answer_keeps_what_arrived_and_the_repl_goes_on,
    test_model_switch_sends_the_history_to_the_new_provider_in_its_format,
)
from tests.test_signals import test_sigterm_and_sighup_in_a_pipe_keep_question_and_partial  # noqa: F401
from tests.test_transcribe import (  # noqa: F401
    test_a_rejected_key_exits_3,
    test_default_model_streams_text_and_sends_every_option,
    test_gemini_large_audio_goes_through_the_resumable_file_upload,
    test_gemini_srt_from_structured_segments,
    test_gemini_text_from_stdin_streams,
    test_long_wav_is_split_and_the_srt_joined_with_shifted_times,
    test_long_wav_json_wrapped_with_model_duration_and_usage,
    write_wav,
)

pytestmark = pytest.mark.worker


@pytest.fixture(name="wav")
def _wav(mmcli_cwd: Path) -> Path:
    """test_transcribe's three-second recording, for its tests re-run here and the worker's own."""
    return write_wav(mmcli_cwd / "call.wav", 3)

WORKER_START_TIMEOUT_S = 180  # it imports three SDKs; a loaded CI machine is slow at that


def _runtime_dir() -> Path:
    # Short: a Unix socket path must stay under ~100 bytes, which pytest's tmp_path can exceed.
    return Path(tempfile.mkdtemp(prefix="mmw-"))


def _worker_environ(env: dict[str, str], runtime: Path) -> dict[str, str]:
    env = {k: v for k, v in env.items() if k != "MMCLI_NO_WORKER"}
    env["MMCLI_RUNTIME_DIR"] = str(runtime)
    return env


def _status(runtime: Path) -> dict | None:
    return client.status(runtime / "worker.sock", timeout=5.0)


def _wait_for_worker(runtime: Path, timeout: float = WORKER_START_TIMEOUT_S, not_pid: int | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _status(runtime)
        if info is not None and info["pid"] != not_pid:
            return info
        time.sleep(0.1)
    raise AssertionError(f"no worker answered in {runtime} within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # our own child (a worker started by the test itself) may be a zombie
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _stop_worker(runtime: Path) -> None:
    """Teardown: no worker outlives its test (or module)."""
    info = _status(runtime)
    client.stop(runtime / "worker.sock", timeout=5.0)
    if info is not None:
        deadline = time.monotonic() + 10
        while _alive(info["pid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(info["pid"]):
            os.kill(info["pid"], signal.SIGKILL)
    shutil.rmtree(runtime, ignore_errors=True)


def _start_worker(env: dict[str, str], runtime: Path, *extra: str) -> dict:
    environ = {**_worker_environ(env, runtime), "PYTHONPATH": str(REPO_ROOT)}
    for key in TEST_KEYS:  # as the client starts it: no key in the worker's own environment
        environ.pop(key, None)
    subprocess.Popen(
        [sys.executable, "-m", "mmcli.worker", *extra], env=environ, cwd=runtime,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    return _wait_for_worker(runtime)


@pytest.fixture(scope="module")
def shared_worker() -> Iterator[Path]:
    """One warm worker for the re-run tests: each call brings its own environment, so fakes may change."""
    runtime = _runtime_dir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MMCLI_", "OPENAI_", "ANTHROPIC_"))}
    _start_worker(base, runtime)
    yield runtime
    _stop_worker(runtime)


@pytest.fixture
def mmcli_env(mmcli_env: dict[str, str], shared_worker: Path, request: pytest.FixtureRequest) -> Iterator[dict]:
    """conftest's environment with the worker on; the re-run tests must be served by it."""
    env = _worker_environ(mmcli_env, shared_worker)
    if request.function.__module__ == request.module.__name__:
        yield env
        return
    before = _status(shared_worker)["served"]
    yield env
    after = _status(shared_worker)
    assert after is not None, "the shared worker died during the test"
    assert after["served"] - 1 > before, "the test's provider calls did not go through the worker"


@pytest.fixture
def own_worker(mmcli_env: dict[str, str]) -> Iterator[tuple[dict[str, str], Path]]:
    """A private runtime dir (and so its own worker) for tests that start, stop or replace one."""
    runtime = _runtime_dir()
    yield _worker_environ(mmcli_env, runtime), runtime
    _stop_worker(runtime)


def _through_worker(env: dict[str, str], runtime: Path) -> dict:
    """Warm a worker the way a user does: the first call answers in-process and starts one."""
    return _wait_for_worker(runtime) if _status(runtime) else _start_worker(env, runtime)


# --- what only the worker path has -----------------------------------------------------------------


def test_a_warm_worker_serves_every_provider_and_the_client_imports_no_sdk(run_mmcli, mmcli_env, fake_openai,
                                                                           fake_anthropic, fake_gemini):
    fake_openai.queue(Reply(text="From OpenAI."))
    fake_anthropic.queue(Reply(text="From Claude."))
    fake_gemini.queue(Reply(text="From Gemini."))
    for model, answer in (("gpt-4o-mini", "From OpenAI."), ("claude-haiku-4-5", "From Claude."),
                          ("gemini-2.5-flash", "From Gemini.")):
        done = run_mmcli(["chat", "-m", model, "Hi"], mmcli_env)
        assert (done.returncode, done.stdout, done.stderr) == (0, answer + "\n", "")
    # The same call with -X importtime: the mmcli process loads no SDK at all.
    fake_openai.queue(Reply(text="Again."))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mmcli", "chat", "--no-cache", "-m", "gpt-4o-mini", "Hi"],
        env=mmcli_env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stdout) == (0, "Again.\n")
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "mmcli.engine" in modules  # the listing is real
    heavy = {m for m in modules if m.split(".")[0] in ("openai", "anthropic", "httpx", "httpx2", "PIL", "pydantic")}
    assert not heavy and "google.genai" not in modules, sorted(heavy)


def test_transcribe_through_a_warm_worker_imports_no_sdk(mmcli_env, mmcli_cwd, fake_openai, wav):
    """Transcription's provider calls go through the worker too: the mmcli process loads no SDK."""
    fake_openai.queue(Reply(text="Through the worker."))
    served = _status(Path(mmcli_env["MMCLI_RUNTIME_DIR"]))["served"]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mmcli", "transcribe", "-m", "whisper-1", "call.wav"],
        env=mmcli_env, cwd=mmcli_cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stdout) == (0, "Through the worker.\n"), done.stderr
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "mmcli.transcription.job" in modules  # the listing is real
    heavy = {m for m in modules if m.split(".")[0] in ("openai", "anthropic", "httpx", "httpx2", "pydantic")}
    assert not heavy and "google.genai" not in modules, sorted(heavy)
    assert _status(Path(mmcli_env["MMCLI_RUNTIME_DIR"]))["served"] >= served + 2  # the call, and this status


def test_usage_and_cost_are_the_same_as_in_process(run_mmcli, mmcli_env, fake_anthropic):
    fake_anthropic.queue(Reply(text="Counted.", usage=(1200, 34)), Reply(text="Counted.", usage=(1200, 34)))
    through = json.loads(run_mmcli(["chat", "--no-cache", "-m", "claude-haiku-4-5", "--json", "Q"], mmcli_env).stdout)
    local = json.loads(run_mmcli(["chat", "--no-cache", "-m", "claude-haiku-4-5", "--json", "Q"],
                                 {**mmcli_env, "MMCLI_NO_WORKER": "1"}).stdout)
    for field in ("answer", "input_tokens", "output_tokens", "cost_usd", "finish_reason", "error", "model"):
        assert through[field] == local[field], field
    assert (through["input_tokens"], through["output_tokens"]) == (1200, 34)


def test_images_travel_as_raw_bytes_and_the_provider_gets_the_same_request(run_mmcli, mmcli_env, fake_openai,
                                                                           tmp_path):
    from PIL import Image

    image = tmp_path / "noise.png"
    Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)).save(image)  # ~270 KB: many socket reads
    fake_openai.queue(Reply(text="Noise."), Reply(text="Noise."))
    args = ["chat", "--no-cache", "-m", "gpt-4o-mini", "-i", str(image), "What is it?"]
    through = run_mmcli(args, mmcli_env)
    local = run_mmcli(args, {**mmcli_env, "MMCLI_NO_WORKER": "1"})
    assert (through.returncode, through.stdout) == (local.returncode, local.stdout) == (0, "Noise.\n")
    sent = [r.json for r in fake_openai.generation_requests]
    assert sent[0] == sent[1]
    assert "image_url" in json.dumps(sent[0])


def _peer_closed(conn: socket.socket) -> bool:
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize("command", [
    ["chat", "--no-cache", "-m", "gpt-4o-mini", "Wait"],
    ["transcribe", "--no-cache", "-m", "whisper-1", "call.wav"],
], ids=["chat", "transcribe"])
def test_ctrl_c_closes_the_provider_connection_at_once(mmcli_env, mmcli_cwd, fake_openai, shared_worker, wav,
                                                       command):
    """The fake never answers: only the worker's watch on its caller can end the provider call."""
    fake_openai.queue(Reply(hang=True))
    served = _status(shared_worker)["served"]
    child = subprocess.Popen(
        [sys.executable, "-m", "mmcli", *command],
        env=mmcli_env, cwd=mmcli_cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    fake_openai.wait_for_requests(1, timeout=60)
    connections = list(fake_openai._connections)
    assert connections and not any(_peer_closed(c) for c in connections)  # the call is in flight
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 130 and b"Interrupted" in stderr and b"Traceback" not in stderr, stderr
    deadline = time.monotonic() + 15
    while not all(_peer_closed(c) for c in connections) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_peer_closed(c) for c in connections), "the provider call went on after Ctrl-C"
    assert _status(shared_worker)["served"] > served + 1  # it was the worker's child that made the call


def test_a_worker_killed_mid_answer_is_an_interrupted_answer_not_a_second_request(
    run_mmcli, mmcli_env, mmcli_cwd, fake_openai, own_worker
):
    env, runtime = own_worker
    info = _start_worker(env, runtime)
    words = " ".join(f"word{n}" for n in range(300))
    fake_openai.queue(Reply(text=words, chunk_delay_s=0.1))
    child = subprocess.Popen(
        [sys.executable, "-m", "mmcli", "chat", "--no-cache", "-S", "cut", "-m", "gpt-4o-mini", "Count"],
        env=env, cwd=mmcli_cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    seen = b""
    while b"word2 " not in seen:
        chunk = child.stdout.read1(4096)
        assert chunk, child.stderr.read()
        seen += chunk
    # Kill the worker and every call it is making (its process group: the session it leads).
    os.killpg(info["pid"], signal.SIGKILL)
    rest, stderr = child.communicate(timeout=30)
    assert child.returncode == 1, stderr
    assert b"The mmcli worker stopped mid-answer" in stderr
    assert len(fake_openai.generation_requests) == 1  # never asked twice
    assert (seen + rest).decode().startswith("word0 word1 word2")


def test_another_user_cannot_talk_to_the_worker(mmcli_env, own_worker, fake_openai):
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user")
    env, runtime = own_worker
    info = _start_worker(env, runtime)
    # Open the directory and the socket to everyone, as a careless setup might: the peer check still holds.
    os.chmod(runtime, 0o755)
    os.chmod(runtime / "worker.sock", 0o777)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child becomes "nobody" and knocks
        outcome = b"error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            knock = socket.socket(socket.AF_UNIX)
            knock.settimeout(20)
            knock.connect(str(runtime / "worker.sock"))
            outcome = b"connected"
            try:
                protocol.send(knock, {"t": "status"})
                outcome = b"closed" if knock.recv(100) == b"" else b"answered"
            except ConnectionError:  # reset: the worker closed without reading what was sent
                outcome = b"closed"
        except BaseException as exc:  # noqa: BLE001
            outcome = f"error {exc!r}".encode()
        finally:
            os.write(write_end, outcome)
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    outcome = os.read(read_end, 1000)
    os.close(read_end)
    assert outcome == b"closed"  # connected (the socket is open to all), then dropped without a word
    assert _status(runtime)["pid"] == info["pid"]  # and the worker serves its own user as before


def test_a_runtime_dir_owned_by_another_user_is_never_used(run_mmcli, mmcli_env, fake_openai, tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to create another user's directory")
    runtime = Path(tempfile.mkdtemp(prefix="mmw-"))
    try:
        os.chown(runtime, 65534, 65534)
        fake_openai.queue(Reply(text="In-process."))
        done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], _worker_environ(mmcli_env, runtime))
        assert (done.returncode, done.stdout, done.stderr) == (0, "In-process.\n", "")
        assert os.listdir(runtime) == []  # no socket, no lock: nothing of ours in someone else's directory
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_keys_never_reach_disk_or_the_workers_environment(run_mmcli, mmcli_env, fake_openai, fake_anthropic,
                                                          own_worker):
    env, runtime = own_worker
    fake_openai.queue(Reply(text="First, in-process."))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "One"], env).returncode == 0
    info = _wait_for_worker(runtime)  # the first call started it
    fake_openai.queue(Reply(text="Second, through the worker."))
    fake_anthropic.queue(Reply(text="Third."))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "Two"], env).stdout == "Second, through the worker.\n"
    assert run_mmcli(["chat", "-m", "claude-haiku-4-5", "Three"], env).stdout == "Third.\n"
    assert _status(runtime)["served"] >= 2
    assert fake_anthropic.generation_requests[-1].api_key == TEST_KEYS["ANTHROPIC_API_KEY"]
    secrets = [v.encode() for v in TEST_KEYS.values()]
    for root in (runtime, Path(env["MMCLI_DATA_DIR"])):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(s in data for s in secrets), path
    assert sorted(p.name for p in runtime.iterdir()) == ["worker.lock", "worker.sock"]
    for view in ("environ", "cmdline"):
        data = Path(f"/proc/{info['pid']}/{view}").read_bytes()
        assert not any(s in data for s in secrets), view


def test_a_changed_key_takes_effect_at_once(run_mmcli, mmcli_env, fake_openai, shared_worker):
    fake_openai.queue(Reply(text="One."), Reply(text="Two."))
    run_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"], mmcli_env)
    other = {**mmcli_env, "OPENAI_API_KEY": "sk-another-key-9876543210"}
    assert run_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"], other).stdout == "Two.\n"
    keys = [r.api_key for r in fake_openai.generation_requests]
    assert keys == [TEST_KEYS["OPENAI_API_KEY"], "sk-another-key-9876543210"]


@pytest.mark.parametrize("change", ["version", "edit"])
def test_a_version_change_replaces_the_worker(run_mmcli, mmcli_env, fake_openai, own_worker, tmp_path, change):
    """An upgrade, or an edit of a checkout under the same version (which only the worker's
    child sees, by the files' stamps), makes the next call answer in-process and start a new worker."""
    env, runtime = own_worker
    # An installed copy of mmcli that can be "upgraded" under the running worker.
    site = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "mmcli", site / "mmcli", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**env, "PYTHONPATH": str(site)}
    fake_openai.queue(Reply(text="Old."), Reply(text="Old, warm."))
    assert run_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"], env).stdout == "Old.\n"
    old = _wait_for_worker(runtime)
    assert old["versions"]["mmcli"] != "9.9.9"
    assert run_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"], env).stdout == "Old, warm.\n"
    assert _status(runtime)["served"] >= 1
    if change == "version":
        init = site / "mmcli" / "__init__.py"
        init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9+was-'))
    else:
        engine = site / "mmcli" / "engine.py"
        engine.write_text(engine.read_text() + "\n# edited\n")
    fake_openai.queue(Reply(text="New."))
    done = run_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"], env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "New.\n", "")  # answered in-process meanwhile
    new = _wait_for_worker(runtime, not_pid=old["pid"])
    assert new["versions"]["mmcli"].startswith("9.9.9") == (change == "version")
    deadline = time.monotonic() + 10
    while _alive(old["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(old["pid"])
    status = json.loads(run_mmcli(["worker", "status", "--json"], env).stdout)
    assert (status["running"], status["current"], status["pid"]) == (True, True, new["pid"])


@pytest.mark.parametrize("switch", ["environment", "config"])
def test_turning_it_off_restores_the_in_process_path(run_mmcli, mmcli_env, fake_openai, switch, tmp_path):
    runtime = tmp_path / "run"
    env = _worker_environ(mmcli_env, runtime)
    if switch == "environment":
        env["MMCLI_NO_WORKER"] = "1"
    else:
        config = Path(env["MMCLI_CONFIG_DIR"]) / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("worker = false\n")
    fake_openai.queue(Reply(text="Local one."), Reply(text="Local two."))
    for answer in ("Local one.", "Local two."):
        done = run_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"], env)
        assert (done.returncode, done.stdout, done.stderr) == (0, answer + "\n", "")
    assert not runtime.exists()  # nothing started, nothing created
    status = json.loads(run_mmcli(["worker", "status", "--json"], env).stdout)
    assert (status["running"], status["enabled"]) == (False, False)


def test_a_dead_workers_socket_file_is_cleaned_up(run_mmcli, mmcli_env, fake_openai, own_worker):
    env, runtime = own_worker
    runtime.mkdir(mode=0o700, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(runtime / "worker.sock"))  # bound, never listening, then gone: what a killed worker leaves
    stale.close()
    fake_openai.queue(Reply(text="Still answered."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], {**env, "MMCLI_DEBUG": "1"})
    assert (done.returncode, done.stdout) == (0, "Still answered.\n"), done.stderr
    assert "worker: no worker is running; answering in-process" in done.stderr  # the note, under MMCLI_DEBUG only
    assert _wait_for_worker(runtime)["pid"]  # and a live worker took the place of the dead one


def test_the_first_call_is_not_delayed_and_is_silent(run_mmcli, mmcli_env, fake_openai, own_worker):
    env, runtime = own_worker
    fake_openai.queue(Reply(text="Right away."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Right away.\n", "")
    assert len(fake_openai.generation_requests) == 1
    _wait_for_worker(runtime)  # started in the background by that call
    assert (runtime.stat().st_mode & 0o777) == 0o700
    assert ((runtime / "worker.sock").stat().st_mode & 0o777) == 0o600


def test_status_and_stop(run_mmcli, mmcli_env, own_worker):
    env, runtime = own_worker
    done = run_mmcli(["worker", "status"], env)
    assert done.returncode == 0 and done.stdout.splitlines()[0].split() == ["running", "no"]
    assert run_mmcli(["worker", "stop"], env).stdout == "No mmcli worker is running.\n"
    info = _start_worker(env, runtime)
    rows = dict(line.split(None, 1) for line in run_mmcli(["worker", "status"], env).stdout.splitlines())
    assert (rows["running"], rows["pid"], rows["socket"]) == ("yes", str(info["pid"]), str(runtime / "worker.sock"))
    assert "openai " in rows["versions"] and rows["enabled"] == "yes"
    status = json.loads(run_mmcli(["worker", "status", "--json"], env).stdout)
    assert (status["running"], status["current"], status["pid"]) == (True, True, info["pid"])
    assert status["versions"]["mmcli"] and status["uptime_s"] >= 0
    done = run_mmcli(["worker", "stop"], env)
    assert (done.returncode, done.stdout) == (0, f"Stopped the mmcli worker (pid {info['pid']}).\n")
    assert not (runtime / "worker.sock").exists()
    deadline = time.monotonic() + 10
    while _alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(info["pid"])


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads a process's children from /proc")
def test_a_spare_child_waits_ready_and_a_killed_one_is_replaced(run_mmcli, mmcli_env, own_worker, fake_openai):
    env, runtime = own_worker
    info = _start_worker(env, runtime)
    deadline = time.monotonic() + 30
    while len(_children(info["pid"])) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the status calls that found the worker have ended and been reaped
    spares = _children(info["pid"])
    assert len(spares) == 1, "one spare child waits for the next call"
    os.kill(spares.pop(), signal.SIGKILL)  # a spare lost before any call: the worker forks another
    fake_openai.queue(Reply(text="Served."))
    served = _wait_for_worker(runtime)["served"]  # answered by the replacement spare, or nothing would
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], env)
    assert (done.returncode, done.stdout) == (0, "Served.\n")
    after = _status(runtime)
    assert after["pid"] == info["pid"] and after["served"] == served + 2  # the call and this status
    deadline = time.monotonic() + 10
    while after["active"] and time.monotonic() < deadline:  # until the worker has reaped the call's child
        after = _status(runtime)
    assert after["active"] == 0  # status calls themselves are never counted as provider calls


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads a process's children from /proc")
def test_no_spare_is_forked_during_a_call_but_a_second_caller_is_served_at_once(
    mmcli_env, mmcli_cwd, own_worker, fake_openai
):
    """Forking and rehearsing a spare takes a core: not while a call runs (nor while its caller
    stores the answer); a caller arriving meanwhile still gets a child of the worker at once."""
    env, runtime = own_worker
    info = _start_worker(env, runtime)
    deadline = time.monotonic() + 30
    while len(_children(info["pid"])) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    fake_openai.queue(Reply(text="Slow.", delay_s=3.0), Reply(text="Quick."))

    def one_shot(question: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "mmcli", "chat", "--no-cache", "-m", "gpt-4o-mini", question],
                                env=env, cwd=mmcli_cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    slow = one_shot("Slow?")
    deadline = time.monotonic() + 30
    while not fake_openai.generation_requests and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the spare's "accepted" has long been read: a spare forked for it would exist by now
    assert len(_children(info["pid"])) == 1, "only the call's child while the call runs"
    quick = one_shot("Quick?")
    assert quick.communicate(timeout=60)[0] == "Quick.\n"
    assert len(fake_openai.generation_requests) == 2 and slow.poll() is None  # served while the slow one ran
    assert slow.communicate(timeout=60) == ("Slow.\n", "")
    assert _status(runtime)["served"] >= 2
    deadline = time.monotonic() + 10
    while len(_children(info["pid"])) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_children(info["pid"])) == 1, "after the calls, one spare waits again"


def test_an_offer_a_cache_hit_makes_needless_reaches_no_provider(run_mmcli, mmcli_env, own_worker, fake_openai):
    """The worker readies each one-shot's call ahead; a cache hit withdraws it before any request leaves."""
    env, runtime = own_worker
    _start_worker(env, runtime)
    fake_openai.queue(Reply(text="Once."))
    first = run_mmcli(["chat", "-m", "gpt-4o-mini", "Same question"], env)
    served = _status(runtime)["served"]
    again = run_mmcli(["chat", "-m", "gpt-4o-mini", "Same question"], env)
    assert (first.stdout, again.stdout, again.returncode) == ("Once.\n", "Once.\n", 0)
    assert len(fake_openai.generation_requests) == 1  # the second was offered to the worker, then withdrawn
    status = _status(runtime)
    assert status["served"] == served + 2  # the withdrawn offer reached the worker (and this status)
    deadline = time.monotonic() + 10
    while status["active"] and time.monotonic() < deadline:
        status = _status(runtime)
    assert status["active"] == 0  # its child let it go rather than waiting on


def _other_name_of_this_python() -> Path | None:
    here = Path(sys.executable)
    for name in ("python3", "python"):
        other = here.with_name(name)
        if name != here.name and other.exists() and other.resolve() == here.resolve():
            return other
    return None


@pytest.mark.skipif(_other_name_of_this_python() is None, reason="this Python has one name only")
def test_the_script_and_python_m_share_one_worker(mmcli_env, mmcli_cwd, own_worker, fake_openai):
    """`mmcli` runs `.venv/bin/python3`, `python -m mmcli` often `.venv/bin/python`: the same
    interpreter under two names must not make each other's worker look outdated."""
    env, runtime = own_worker
    info = _start_worker(env, runtime)
    alias = _other_name_of_this_python()
    fake_openai.queue(Reply(text="One."), Reply(text="Two."))
    for python, question in ((str(alias), "One?"), (sys.executable, "Two?")):
        done = subprocess.run([python, "-m", "mmcli", "chat", "-m", "gpt-4o-mini", question], env=env,
                              cwd=mmcli_cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
    status = _status(runtime)
    assert status is not None and status["pid"] == info["pid"]  # neither call told the worker to go
    assert _alive(info["pid"])


def test_the_worker_exits_when_idle(run_mmcli, mmcli_env, own_worker):
    env, runtime = own_worker
    info = _start_worker(env, runtime, "--idle-minutes", "0.02")  # about a second
    deadline = time.monotonic() + 30
    while _alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(info["pid"])
    assert not (runtime / "worker.sock").exists()


@pytest.mark.parametrize(
    ("line", "phrase"),
    [("worker = \"yes\"", "'worker' must be true or false"),
     ("worker_idle_minutes = 0", "'worker_idle_minutes' must be a positive number")],
)
def test_bad_worker_settings_are_config_errors(run_mmcli, mmcli_env, line, phrase):
    config = Path(mmcli_env["MMCLI_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(line + "\n")
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env)
    assert done.returncode == 3 and phrase in done.stderr and "Traceback" not in done.stderr


def test_errors_cross_the_socket_as_the_same_class():
    from mmcli import errors

    for exc in (errors.AuthenticationFailed("x rejected the API key (401): check X."),
                errors.ProviderError("refused (400).", retryable_elsewhere=False),
                errors.StreamInterrupted("broke."), errors.Interrupted("Interrupted.", exit_code=143)):
        back = protocol.error_from_wire(protocol.error_to_wire(exc))
        assert type(back) is type(exc) and back.message == exc.message
        assert back.exit_code == exc.exit_code
        assert getattr(back, "retryable_elsewhere", None) == getattr(exc, "retryable_elsewhere", None)
    odd = protocol.error_from_wire(protocol.error_to_wire(KeyError("boom")))
    assert type(odd).__name__ == "KeyError" and not isinstance(odd, errors.MmcliError)
