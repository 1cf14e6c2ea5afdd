"""`mmcli compare` over four models against the slowest of them alone, and
what forking processes to load SDKs in parallel still buys.

Four fake servers (tests/fakes) answer after 0.5 s (openai), 1.0 s
(anthropic), 1.5 s (gemini) and 2.0 s (perplexity). If compare runs the
models concurrently, its wall time should be close to that of `mmcli chat`
on the slowest model (perplexity:sonar) alone; run one after another it
would be about the sum.

Every figure is a whole process (`python -c ...` running mmcli's entry point),
timed end to end as a user sees it, the median of RUNS runs, the variants
interleaved (their order rotating every run) so that a slow spell on a shared
machine hits them all alike:

- "cold": MMCLI_NO_WORKER=1, so the process imports every SDK it calls itself;
- "warm": a warm worker (its own runtime dir) already runs; the process
  imports no SDK and the worker makes the calls;
- "fork" / "no fork": only for a build whose compare still forks SDK-loading
  processes (before this bench's commit; run this script over an older
  ``mmcli/``): compare as it was, and the same with the forking switched off
  (`MMCLI_BENCH_FORK=0` patches ``compare._can_fork`` in the bench process,
  not in mmcli). Those figures are in README (compare, "How fast"): the
  forking bought nothing, cold or warm, so it went.

Run: python bench/bench_compare.py [runs]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _stats import report  # noqa: E402

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakePerplexity, Reply  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 9
TARGET = 1.15
ANSWER = "A conflict-free replicated data type merges concurrent edits without coordination. " * 8
DELAYS = {"openai": 0.5, "anthropic": 1.0, "gemini": 1.5, "perplexity": 2.0}
MODELS = ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "gemini:gemini-2.5-flash", "perplexity:sonar"]
SLOWEST = "perplexity:sonar"
PROMPT = "Explain CRDTs in 5 sentences"

# mmcli's entry point, with compare's SDK-loading processes off when MMCLI_BENCH_FORK=0.
ENTRY = """
import os, sys
if os.environ.get("MMCLI_BENCH_FORK") == "0":
    import mmcli.commands.compare as compare
    for name in ("can_fork", "_can_fork"):
        if hasattr(compare, name):
            setattr(compare, name, lambda: False)
from mmcli.cli import main
sys.argv = ["mmcli", *sys.argv[1:]]
main()
"""


def start_fakes() -> dict[str, object]:
    fakes = {
        "openai": FakeOpenAI(), "anthropic": FakeAnthropic(), "gemini": FakeGemini(), "perplexity": FakePerplexity()
    }
    for provider, fake in fakes.items():
        fake.default = Reply(text=ANSWER, delay_s=DELAYS[provider])
        fake.start()
    return fakes


def environment(fakes: dict, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_",
                                                                    "PERPLEXITY_", "VERTEX_", "MMCLI_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # timings with compiled bytecode, as users run
    env.update({
        "OPENAI_API_KEY": "sk-bench-openai-0123456789",
        "ANTHROPIC_API_KEY": "sk-ant-bench-0123456789",
        "GOOGLE_API_KEY": "AIzaBench0123456789abcdefghijk",
        "PERPLEXITY_API_KEY": "pplx-bench0123456789ab",
        "OPENAI_BASE_URL": fakes["openai"].base_url,
        "ANTHROPIC_BASE_URL": fakes["anthropic"].base_url,
        "GOOGLE_GEMINI_BASE_URL": fakes["gemini"].base_url,
        "PERPLEXITY_BASE_URL": fakes["perplexity"].base_url,
        "MMCLI_DATA_DIR": os.path.join(data_dir, "data"),
        "MMCLI_CONFIG_DIR": os.path.join(data_dir, "config"),
        "MMCLI_RUNTIME_DIR": os.path.join(data_dir, "run"),
        "NO_GCE_CHECK": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
    })
    return env


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mmcli {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def start_worker(env: dict[str, str]) -> None:
    """The first call answers in-process and starts the worker; wait until it answers."""
    timed(["chat", "hello", "-m", "openai:gpt-4o-mini", "--no-cache"], env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = subprocess.run([sys.executable, "-m", "mmcli", "worker", "status", "--json"], env=env,
                                capture_output=True, text=True)
        if status.returncode == 0 and json.loads(status.stdout).get("running"):
            return
        time.sleep(0.5)
    raise SystemExit("The warm worker did not start.")


def stop_worker(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "mmcli", "worker", "stop"], env=env, capture_output=True, text=True)


def main() -> None:
    fakes = start_fakes()
    compare_args = ["compare", PROMPT, "--no-cache"] + [a for m in MODELS for a in ("-m", m)]
    chat_args = ["chat", PROMPT, "-m", SLOWEST, "--no-cache"]
    times: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            base = environment(fakes, data_dir)
            cold = {**base, "MMCLI_NO_WORKER": "1"}
            forks = ["fork", "no fork"] if _builds_fork() else [""]
            variants = {}
            for mode, env in (("cold", cold), ("warm", base)):
                variants[f"{mode}: chat (slowest alone)"] = (chat_args, env)
                for fork in forks:
                    switched = {**env, "MMCLI_BENCH_FORK": "0"} if fork == "no fork" else env
                    variants[_name(mode, fork)] = (compare_args, switched)
            start_worker(base)
            try:
                for args, env in variants.values():  # warm the file cache once
                    timed(args, env)
                names = list(variants)
                for run in range(RUNS):
                    shift = run % len(names)
                    for name in names[shift:] + names[:shift]:
                        args, env = variants[name]
                        times.setdefault(name, []).append(timed(args, env))
            finally:
                stop_worker(base)
    finally:
        for fake in fakes.values():
            fake.stop()
    medians = {name: statistics.median(samples) for name, samples in times.items()}
    print(f"mmcli compare over {len(MODELS)} models (fake delays {', '.join(f'{v:g}s' for v in DELAYS.values())}) "
          f"vs mmcli chat on {SLOWEST} alone; median of {RUNS} interleaved runs each")
    rows = [(name, f"{value:.2f}s") for name, value in medians.items()]
    for mode in ("cold", "warm"):
        chat = medians[f"{mode}: chat (slowest alone)"]
        for fork in forks:
            ratio = medians[_name(mode, fork)] / chat
            verdict = f" (target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'})"
            rows.append((_name(mode, fork).replace(": compare", ": compare/chat"), f"{ratio:.2f}x{verdict}"))
    report(rows)


def _name(mode: str, fork: str) -> str:
    return f"{mode}: compare" + (f", {fork}" if fork else "")


def _builds_fork() -> bool:
    """Whether the mmcli measured still forks processes in compare."""
    import mmcli.commands.compare as compare

    return hasattr(compare, "_can_fork")


if __name__ == "__main__":
    main()
