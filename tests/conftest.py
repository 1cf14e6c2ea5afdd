"""Shared pytest fixtures: fake provider servers and ways to run mmcli against them.

The fakes themselves live in ``tests/fakes``; this file only wires them into
pytest and builds the isolated environment every mmcli subprocess runs in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Test modules import ``tests.fakes``; bare ``pytest`` puts only tests/ on sys.path.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakePerplexity, FakeServer  # noqa: E402

# Variables that would let the developer's or CI's own setup leak into a test:
# real keys and endpoints, SDK tuning, colour forcing, proxies.
_SCRUBBED_PREFIXES = (
    "OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_", "PERPLEXITY_", "PPLX_", "VERTEX_",
    "MMCLI_", "OLLAMA_", "AZURE_OPENAI_", "CLOUDSDK_", "GCLOUD_", "XDG_",
)
_SCRUBBED_NAMES = {
    "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
    "COLUMNS", "LINES", "CLOUD_ML_REGION", "AWS_BEARER_TOKEN_BEDROCK",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
}

TEST_KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789",
    "GOOGLE_API_KEY": "AIzaTest0123456789abcdefghijk",
    "PERPLEXITY_API_KEY": "pplx-test0123456789ab",
    "VERTEX_API_KEY": "vertex-test-key-0123",
    "MMCLI_COMPAT_API_KEY": "compat-test-key",
}


def _started(fake: FakeServer) -> Iterator[FakeServer]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    yield from _started(FakeOpenAI())  # type: ignore[misc]


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    yield from _started(FakeAnthropic())  # type: ignore[misc]


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    yield from _started(FakeGemini())  # type: ignore[misc]


@pytest.fixture
def fake_perplexity() -> Iterator[FakePerplexity]:
    yield from _started(FakePerplexity())  # type: ignore[misc]


def scrubbed_environ() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name not in _SCRUBBED_NAMES and not name.startswith(_SCRUBBED_PREFIXES)
    }


@pytest.fixture
def mmcli_env(
    request: pytest.FixtureRequest,
    suite_worker: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    fake_gemini: FakeGemini,
    fake_perplexity: FakePerplexity,
) -> dict[str, str]:
    """The environment of an mmcli run: every provider keyed and pointed at its fake."""
    home = tmp_path / "home"
    home.mkdir()
    env = scrubbed_environ()
    env.update(TEST_KEYS)
    env.update({
        "MMCLI_DATA_DIR": str(tmp_path / "data"),
        "MMCLI_CONFIG_DIR": str(tmp_path / "config"),
        "HOME": str(home),
        "OPENAI_BASE_URL": fake_openai.base_url,
        "ANTHROPIC_BASE_URL": fake_anthropic.base_url,
        "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url,
        "GOOGLE_VERTEX_BASE_URL": fake_gemini.root,
        "PERPLEXITY_BASE_URL": fake_perplexity.base_url,
        "OLLAMA_HOST": fake_openai.root,
        "MMCLI_COMPAT_BASE_URL": fake_openai.base_url,
        "COLUMNS": "100",
        "TERM": "xterm-256color",
        "PYTHONUNBUFFERED": "1",
        # Without ADC, google-auth would probe the GCE metadata server for seconds.
        "NO_GCE_CHECK": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        # Run the working tree's mmcli even where it is not installed.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    })
    if request.node.get_closest_marker("in_process"):
        env["MMCLI_NO_WORKER"] = "1"
    else:
        env["MMCLI_RUNTIME_DIR"] = str(suite_worker)
    return env


@pytest.fixture(scope="session")
def suite_worker() -> Iterator[Path]:
    """The runtime dir of this test process's warm worker, which most tests' calls go through,
    as a user's calls do (the worker is on by default): the first call answers in-process and
    starts it; each call brings its own environment, so every test's fakes and keys apply.
    Tests marked ``in_process`` run with MMCLI_NO_WORKER=1; tests/test_worker.py uses workers
    of its own. The worker is stopped when the session ends."""
    import shutil
    import tempfile

    from mmcli.worker import client

    # Short: a Unix socket path must stay under ~100 bytes, which pytest's tmp_path can exceed.
    runtime = Path(tempfile.mkdtemp(prefix="mmsuite-"))
    yield runtime
    client.stop(runtime / "worker.sock", timeout=10.0)
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def mmcli_cwd(tmp_path: Path) -> Path:
    """An empty working directory, so no stray ``.env`` is read."""
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return cwd


RunMmcli = Callable[..., "subprocess.CompletedProcess[str]"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "in_pytest: run_mmcli runs mmcli inside the pytest process (run_mmcli_inproc), not as a subprocess"
    )


@pytest.fixture
def run_mmcli(request: pytest.FixtureRequest, mmcli_cwd: Path) -> RunMmcli:
    """``run(args, env, input=None, timeout=60, cwd=None)``: mmcli as a subprocess, pipes on all ends;
    in this process instead (``run_mmcli_inproc``, same result) for tests marked ``in_pytest``."""
    if request.node.get_closest_marker("in_pytest"):
        return _inproc_runner(mmcli_cwd)
    return _subprocess_runner(mmcli_cwd)


@pytest.fixture
def run_mmcli_subprocess(mmcli_cwd: Path) -> RunMmcli:
    """mmcli as a subprocess whatever the test's marks: signals, a closed stdout, descriptor 0."""
    return _subprocess_runner(mmcli_cwd)


@pytest.fixture
def run_mmcli_inproc(mmcli_cwd: Path) -> RunMmcli:
    """``run(args, env, input=None, timeout=60, cwd=None, stdin_isatty=False, stdout_isatty=False,
    stderr_isatty=False, size=None)``: mmcli inside this process (tests/inproc.py), with the
    terminal the test describes; the same CompletedProcess as ``run_mmcli``."""
    return _inproc_runner(mmcli_cwd)


def _inproc_runner(mmcli_cwd: Path) -> RunMmcli:
    from tests.inproc import run_inproc

    def run(
        args: list[str],
        env: dict[str, str],
        input: str | bytes | None = None,  # noqa: A002 - mirrors subprocess.run
        timeout: float = 60,
        cwd: str | os.PathLike[str] | None = None,
        **terminal: Any,
    ) -> subprocess.CompletedProcess[str]:
        return run_inproc(args, env, input=input, timeout=timeout, cwd=cwd or mmcli_cwd, **terminal)

    return run


def _subprocess_runner(mmcli_cwd: Path) -> RunMmcli:
    def run(
        args: list[str],
        env: dict[str, str],
        input: str | bytes | None = None,  # noqa: A002 - mirrors subprocess.run
        timeout: float = 60,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        data = input.encode("utf-8") if isinstance(input, str) else input
        done = subprocess.run(
            [sys.executable, "-m", "mmcli", *args],
            env=env,
            input=data,
            stdin=subprocess.DEVNULL if data is None else None,
            capture_output=True,
            timeout=timeout,
            cwd=cwd or mmcli_cwd,
        )
        return subprocess.CompletedProcess(
            done.args,
            done.returncode,
            done.stdout.decode("utf-8", errors="replace"),
            done.stderr.decode("utf-8", errors="replace"),
        )

    return run


SpawnMmcli = Callable[..., pexpect.spawn]


@pytest.fixture
def spawn_mmcli(mmcli_cwd: Path) -> Iterator[SpawnMmcli]:
    """``spawn(args, env, dimensions=(40, 100), timeout=30, cwd=None)``: mmcli in a real pty."""
    children: list[pexpect.spawn] = []

    def spawn(
        args: list[str],
        env: dict[str, str],
        dimensions: tuple[int, int] = (40, 100),
        timeout: float = 30,
        cwd: str | os.PathLike[str] | None = None,
    ) -> pexpect.spawn:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "mmcli", *args],
            env=env,
            cwd=str(cwd or mmcli_cwd),
            dimensions=dimensions,
            timeout=timeout,
            encoding="utf-8",
            codec_errors="replace",
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        if child.isalive():
            child.close(force=True)
        else:
            child.close()
