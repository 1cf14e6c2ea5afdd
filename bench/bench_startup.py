"""Start-up cost: `mmcli --help` against `python -c "import typer, rich"`, and
which heavy modules `import mmcli.cli` pulls in (it must pull in no SDK).

Run: python bench/bench_startup.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import report, time_commands  # noqa: E402

HEAVY = ("openai", "anthropic", "google.genai", "PIL", "httpx2", "pydantic")


def heavy_imports() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mmcli.cli"], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return sorted(m for m in HEAVY if m in modules)


def main() -> None:
    times = time_commands(
        {
            "baseline": [sys.executable, "-c", "import typer, rich"],
            "help": [sys.executable, "-m", "mmcli", "--help"],
            "chat_help": [sys.executable, "-m", "mmcli", "chat", "--help"],
        },
        runs=15,
    )
    baseline, help_time, chat_help = times["baseline"], times["help"], times["chat_help"]
    heavy = heavy_imports()
    report(
        [
            ('python -c "import typer, rich"', f"{baseline * 1000:.0f} ms"),
            ("mmcli --help", f"{help_time * 1000:.0f} ms  ({help_time / baseline:.2f}x; target <= 2.5x)"),
            ("mmcli chat --help", f"{chat_help * 1000:.0f} ms  ({chat_help / baseline:.2f}x)"),
            ("heavy modules imported by mmcli.cli", ", ".join(heavy) or "none"),
        ]
    )


if __name__ == "__main__":
    main()
