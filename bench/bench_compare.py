"""`mmcli compare` over four models against the slowest of them alone.

Four fake servers (tests/fakes) answer after 0.5 s (openai), 1.0 s
(anthropic), 1.5 s (gemini) and 2.0 s (perplexity). If compare runs the
models concurrently, its wall time should be close to that of `mmcli chat`
on the slowest model (perplexity:sonar) alone; run one after another it
would be about the sum.

Two measurements, each the median of RUNS runs, compare and chat alternating
in the same run:

- "cold processes": `python -m mmcli ...` timed end to end, as a user sees it.
  compare must import three SDKs where chat on sonar imports one (openai);
  it imports them in parallel worker processes. The target is a ratio <= 1.15.
- "SDKs preloaded": a fresh process per run imports the three provider SDKs
  (openai, anthropic, google-genai) *before* starting the clock, then runs
  mmcli's own entry point. This isolates what compare adds besides imports:
  concurrency and rendering.

Run: python bench/bench_compare.py [runs]
"""

from __future__ import annotations

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

# Imports the SDKs, then times mmcli's entry point; prints the seconds on the last stderr line.
PRELOADED = """
import sys, time
import openai, anthropic, google.genai
started = time.perf_counter()
from mmcli.cli import main
sys.argv = ["mmcli", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
finally:
    sys.stdout.flush()
    print(f"\\nELAPSED {time.perf_counter() - started:.6f}", file=sys.stderr)
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
        "NO_GCE_CHECK": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
    })
    return env


def cold(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mmcli", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mmcli {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def preloaded(args: list[str], env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", PRELOADED, *args], env=env, capture_output=True, text=True)
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    if not last.startswith("ELAPSED ") or "mmcli:" in done.stderr:
        raise SystemExit(f"mmcli {' '.join(args)} failed: {done.stderr.strip()}")
    return float(last.split()[1])


def measure(runner, compare_args: list[str], chat_args: list[str], env: dict[str, str]) -> tuple[float, float]:
    runner(compare_args, env)  # warm the file cache once
    runner(chat_args, env)
    compare_times, chat_times = [], []
    for run in range(RUNS):
        # Alternate the order so a slow spell on the machine hits both alike.
        pair = [(compare_args, compare_times), (chat_args, chat_times)]
        for args, times in pair if run % 2 == 0 else reversed(pair):
            times.append(runner(args, env))
    return statistics.median(compare_times), statistics.median(chat_times)


def main() -> None:
    fakes = start_fakes()
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            env = environment(fakes, data_dir)
            compare_args = ["compare", PROMPT, "--no-cache"] + [a for m in MODELS for a in ("-m", m)]
            chat_args = ["chat", PROMPT, "-m", SLOWEST, "--no-cache"]
            warm_compare, warm_chat = measure(preloaded, compare_args, chat_args, env)
            cold_compare, cold_chat = measure(cold, compare_args, chat_args, env)
    finally:
        for fake in fakes.values():
            fake.stop()
    warm_ratio, cold_ratio = warm_compare / warm_chat, cold_compare / cold_chat
    verdict = "met" if cold_ratio <= TARGET else "MISSED"
    print(f"mmcli compare over {len(MODELS)} models (fake delays {', '.join(f'{v:g}s' for v in DELAYS.values())}) "
          f"vs mmcli chat on {SLOWEST} alone; median of {RUNS} runs each; sum of delays {sum(DELAYS.values()):g}s")
    report([
        ("SDKs preloaded: compare", f"{warm_compare:.2f}s"),
        ("SDKs preloaded: chat (slowest)", f"{warm_chat:.2f}s"),
        ("SDKs preloaded: ratio", f"{warm_ratio:.2f}x"),
        ("cold processes: compare", f"{cold_compare:.2f}s"),
        ("cold processes: chat (slowest)", f"{cold_chat:.2f}s"),
        ("cold processes: ratio", f"{cold_ratio:.2f}x (target <= {TARGET}x: {verdict})"),
    ])


if __name__ == "__main__":
    main()
