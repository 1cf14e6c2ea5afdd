"""Terminal renderer throughput: tokens/s for a long Markdown answer streamed as
fast as possible into a terminal-sized Rich console, at 1,000 and 16,000
tokens, against the naive Live(Markdown(whole_text)) approach for reference.

Run: python bench/bench_render.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import RUNS, report  # noqa: E402
from rich.console import Console  # noqa: E402

from mmcli.conversation import ModelRef  # noqa: E402
from mmcli.engine import Answer  # noqa: E402
from mmcli.render import TerminalSink  # noqa: E402

SECTION = """## Section {n}

Some prose with **bold**, *italics* and `inline code`, long enough to wrap across the
terminal once or twice so that the renderer has real paragraphs to lay out.

- first item with a [link](https://example.org/{n})
- second item
  - nested item

```python
def function_{n}(value):
    # a comment
    return value * {n}
```

1. numbered
2. list

"""


def tokens(count: int) -> list[str]:
    """Roughly one token per word-or-punctuation, as providers stream them."""
    text = ""
    n = 0
    while text.count(" ") + text.count("\n") < count:
        text += SECTION.format(n=n)
        n += 1
    pieces: list[str] = []
    word = ""
    for ch in text:
        word += ch
        if ch in " \n":
            pieces.append(word)
            word = ""
        if len(pieces) >= count:
            break
    return pieces


def console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100, height=40, color_system="truecolor")


def incremental(pieces: list[str]) -> float:
    sink = TerminalSink(console())
    model = ModelRef("bench", "model")
    started = time.perf_counter()
    sink.begin(model)
    for piece in pieces:
        sink.delta(piece)
    sink.finish(Answer(model=model, text="".join(pieces)))
    return len(pieces) / (time.perf_counter() - started)


def naive(pieces: list[str], budget_s: float = 3.0) -> float:
    """Live(Markdown(whole_text)) updated per token; stops after budget_s."""
    from rich.live import Live
    from rich.markdown import Markdown

    text = ""
    started = time.perf_counter()
    done = 0
    with Live(console=console(), refresh_per_second=10) as live:
        for piece in pieces:
            text += piece
            live.update(Markdown(text))
            done += 1
            if time.perf_counter() - started > budget_s:
                break
    return done / (time.perf_counter() - started)


def median_rate(pieces: list[str]) -> float:
    rates = sorted(incremental(pieces) for _ in range(RUNS))
    return rates[len(rates) // 2]


def main() -> None:
    small, large = tokens(1_000), tokens(16_000)
    rate_small, rate_large = median_rate(small), median_rate(large)
    naive_rate = naive(tokens(4_000))
    report(
        [
            ("incremental, 1,000 tokens", f"{rate_small:,.0f} tokens/s"),
            ("incremental, 16,000 tokens", f"{rate_large:,.0f} tokens/s"),
            ("ratio 16k / 1k", f"{rate_large / rate_small:.2f}x (target >= 0.7)"),
            ("naive Live(Markdown(all)), first 3 s of 4,000", f"{naive_rate:,.0f} tokens/s"),
        ]
    )


if __name__ == "__main__":
    main()
