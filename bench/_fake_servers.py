"""The fake OpenAI, Anthropic and Gemini servers in a process of their own, for
benchmarks: a server living in the benchmark's own process shares its GIL with
the loop that times the runs, which adds to what is measured.

Prints one JSON line of base URLs, then serves until its stdin closes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, Reply  # noqa: E402


def main() -> None:
    with FakeOpenAI() as openai_fake, FakeAnthropic() as anthropic_fake, FakeGemini() as gemini_fake:
        fakes = {"openai": openai_fake, "anthropic": anthropic_fake, "gemini": gemini_fake}
        for fake in fakes.values():
            fake.default = Reply(text="A short answer of a few words.")
        print(json.dumps({name: fake.base_url for name, fake in fakes.items()}), flush=True)
        sys.stdin.read()  # until the benchmark is done


if __name__ == "__main__":
    main()
