"""One-shot overhead and cache hits, against a local fake OpenAI server that
answers instantly:

- `mmcli chat --no-cache` vs a bare script making the same streamed request
  with the same SDK (what mmcli adds on top of the SDK);
- a cache hit of `mmcli chat` vs the same command with --no-cache, and vs
  `python -c "import typer, rich"`.

Run: python bench/bench_oneshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _stats import report, time_command, time_commands  # noqa: E402

from tests.fakes import FakeOpenAI, Reply  # noqa: E402

BARE_SDK_SCRIPT = """
import openai, sys
client = openai.OpenAI(max_retries=0)
stream = client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}],
    stream=True, stream_options={"include_usage": True})
for chunk in stream:
    for choice in chunk.choices:
        if choice.delta.content:
            sys.stdout.write(choice.delta.content); sys.stdout.flush()
print()
"""


def main() -> None:
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as home:
        fake.default = Reply(text="A short answer of a few words.")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MMCLI_"))},
            "OPENAI_API_KEY": "sk-bench-0123456789",
            "OPENAI_BASE_URL": fake.base_url,
            "MMCLI_DATA_DIR": f"{home}/data",
            "MMCLI_CONFIG_DIR": f"{home}/config",
        }
        mmcli = [sys.executable, "-m", "mmcli", "chat", "-m", "openai:gpt-4o-mini"]
        kwargs = {"env": env, "cwd": home}
        time_command([*mmcli, "Hello"], runs=1, **kwargs)  # fill the cache
        times = time_commands(
            {
                "bare": [sys.executable, "-c", BARE_SDK_SCRIPT],
                "no_cache": [*mmcli, "--no-cache", "Hello"],
                "hit": [*mmcli, "Hello"],
                "baseline": [sys.executable, "-c", "import typer, rich"],
            },
            runs=21,  # SDK imports vary by +-30% run to run here: more runs, steadier medians
            **kwargs,
        )
        bare, no_cache, hit, baseline = (times[k] for k in ("bare", "no_cache", "hit", "baseline"))
    report(
        [
            ("bare openai SDK script", f"{bare * 1000:.0f} ms"),
            ("mmcli chat --no-cache", f"{no_cache * 1000:.0f} ms  ({(no_cache - bare) * 1000:+.0f} ms; target +150)"),
            ("mmcli chat, cache hit", f"{hit * 1000:.0f} ms  ({hit / no_cache:.2f}x the uncached run)"),
            ('python -c "import typer, rich"', f"{baseline * 1000:.0f} ms  (cache hit = {hit / baseline:.2f}x; "
             "target <= 3x)"),
        ]
    )


if __name__ == "__main__":
    main()
