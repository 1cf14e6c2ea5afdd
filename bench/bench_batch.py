"""`mmcli batch` local overhead, against a fake OpenAI batch API on 127.0.0.1:

- `mmcli batch submit` of 10,000 small requests vs a bare script that writes
  the same JSONL with the openai SDK's own client and uploads and creates the
  batch (the same bytes go over the same loopback socket, so the difference
  is mmcli's local work: reading and checking every line, building each
  request with the chat code, spooling, the job store);
- peak memory (max RSS) of both, and of a 1,000-request submit: streaming
  keeps it flat as the job grows;
- `mmcli batch wait` collecting the 10,000 answers from the provider into the
  job store, then `mmcli batch results -o` writing them in input order, and
  the memory of each.

Run: python bench/bench_batch.py [--requests 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _stats import report  # noqa: E402

from tests.fakes.openai_batch import FakeOpenAIBatch  # noqa: E402

BARE_SDK_SCRIPT = """
import json, sys, tempfile, openai
client = openai.OpenAI(max_retries=0)
requests = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as spool:
    for n, line in enumerate(requests, start=1):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": line["prompt"]}]}
        spool.write((json.dumps({"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": body}) + "\\n").encode())
    spool.flush()
    with open(spool.name, "rb") as stream:
        uploaded = client.files.create(file=("in.jsonl", stream, "application/jsonl"), purpose="batch")
client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
"""

# Runs one command and prints its wall time and peak RSS: RUSAGE_CHILDREN covers only it.
MEASURE_SCRIPT = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - started
if done.returncode:
    sys.exit(done.stderr.decode())
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one run of ``argv``."""
    out = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT, *argv], env=env, cwd=cwd, capture_output=True,
                         text=True, check=True)
    seconds, kilobytes = out.stdout.split()
    return float(seconds), int(kilobytes) / 1024


def write_requests(path: Path, count: int) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for n in range(count):
            stream.write(json.dumps({"id": f"q{n}", "prompt": f"Question number {n}: one word, please."}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    count = options.requests
    with FakeOpenAIBatch() as fake, tempfile.TemporaryDirectory() as home:
        fake.batches.plan.polls_before_end = 0
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MMCLI_"))},
            "OPENAI_API_KEY": "sk-bench-0123456789",
            "OPENAI_BASE_URL": fake.base_url,
            "MMCLI_DATA_DIR": f"{home}/data",
            "MMCLI_CONFIG_DIR": f"{home}/config",
            "MMCLI_BATCH_POLL_S": "0.01",
            "PYTHONPATH": str(ROOT),
        }
        big, small = Path(home) / "big.jsonl", Path(home) / "small.jsonl"
        write_requests(big, count)
        write_requests(small, count // 10)
        mmcli = [sys.executable, "-m", "mmcli", "batch"]
        submit = [*mmcli, "submit", str(big), "-m", "openai:gpt-4o-mini"]
        bare = [sys.executable, "-c", BARE_SDK_SCRIPT, str(big)]
        samples: dict[str, list[tuple[float, float]]] = {"mmcli": [], "bare": []}
        for _ in range(options.runs):  # taking turns, so a change in load hits both alike
            samples["mmcli"].append(measure(submit, env, home))
            samples["bare"].append(measure(bare, env, home))
        small_run = measure([*mmcli, "submit", str(small), "-m", "openai:gpt-4o-mini"], env, home)
        job = "1"  # the first big submit
        wait_run = measure([*mmcli, "wait", job], env, home)  # downloads and stores the answers
        target = Path(home) / "answers.jsonl"
        results_run = measure([*mmcli, "results", job, "-o", str(target)], env, home)
        lines = sum(1 for _ in open(target, encoding="utf-8"))
        first = json.loads(open(target, encoding="utf-8").readline())
        assert lines == count and first["id"] == "q0", (lines, first["id"])
    mmcli_s = statistics.median(s for s, _ in samples["mmcli"])
    bare_s = statistics.median(s for s, _ in samples["bare"])
    mmcli_mb = max(m for _, m in samples["mmcli"])
    bare_mb = max(m for _, m in samples["bare"])
    report([
        (f"bare SDK script, {count:,} requests", f"{bare_s:.2f} s, peak {bare_mb:.0f} MB"),
        (f"mmcli batch submit, {count:,} requests",
         f"{mmcli_s:.2f} s ({mmcli_s - bare_s:+.2f} s local overhead, {mmcli_s / bare_s:.2f}x), "
         f"peak {mmcli_mb:.0f} MB"),
        (f"mmcli batch submit, {count // 10:,} requests", f"{small_run[0]:.2f} s, peak {small_run[1]:.0f} MB "
         f"({mmcli_mb / small_run[1]:.2f}x the memory for 10x the requests)"),
        (f"mmcli batch wait (collects {count:,} answers)", f"{wait_run[0]:.2f} s, peak {wait_run[1]:.0f} MB"),
        (f"mmcli batch results -o, {count:,} answers", f"{results_run[0]:.2f} s, peak {results_run[1]:.0f} MB"),
    ])


if __name__ == "__main__":
    main()
