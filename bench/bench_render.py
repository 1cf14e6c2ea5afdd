"""Terminal renderer throughput: tokens/s for a long Markdown answer streamed
into a terminal-sized Rich console, at 1,000 and 16,000 tokens.

Measured in the same run, for comparison:
- the floor: Rich printing the whole answer once (no renderer can do less);
- a paced stream: the clock moves 20 ms per token (a 50 tokens/s provider), so
  the live region is redrawn every 5 tokens as in real use; its figure is the
  share of one CPU core the renderer takes while such an answer streams;
- the naive Live(Markdown(whole_text)) approach.

Run: python bench/bench_render.py
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's mmcli, not an installed one
from _stats import RUNS, report  # noqa: E402
from rich.console import Console  # noqa: E402

from mmcli.conversation import ModelRef  # noqa: E402
from mmcli.engine import Answer  # noqa: E402
from mmcli.render import TerminalSink, markdown  # noqa: E402

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


def incremental(pieces: list[str], clock: Callable[[], float] = time.perf_counter) -> float:
    """As fast as the pieces come, redrawing at most 10 times a second of real time.

    A clock of the bench's own leaves out the spinner's timer thread, whose
    wake-ups would only add noise to what is measured: the renderer's work.
    """
    sink = TerminalSink(console(), clock=clock)
    model = ModelRef("bench", "model")
    started = time.perf_counter()
    sink.begin(model)
    for piece in pieces:
        sink.delta(piece)
    sink.finish(Answer(model=model, text="".join(pieces)))
    return len(pieces) / (time.perf_counter() - started)


def whole_once(pieces: list[str]) -> float:
    """The floor: Console.print(Markdown(answer)) once, after the whole answer arrived."""
    text = "".join(pieces)
    target = console()
    started = time.perf_counter()
    target.print(markdown(text))
    return len(pieces) / (time.perf_counter() - started)


def paced(pieces: list[str], seconds_per_token: float = 0.02) -> float:
    """Tokens/s of CPU with the clock moving ``seconds_per_token`` per token (redraws as in real use)."""
    now = 0.0

    def clock() -> float:
        nonlocal now
        now += seconds_per_token / 2  # read twice per token: at the delta and at the redraw
        return now

    return incremental(pieces, clock)


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


def median_rate(measure: Callable[[list[str]], float], pieces: list[str], runs: int = RUNS) -> float:
    rates = sorted(measure(pieces) for _ in range(runs))
    return rates[len(rates) // 2]


def main() -> None:
    small, large = tokens(1_000), tokens(16_000)
    rate_small, rate_large = median_rate(incremental, small), median_rate(incremental, large)
    floor_small, floor_large = median_rate(whole_once, small), median_rate(whole_once, large)
    paced_small, paced_large = median_rate(paced, small, 3), median_rate(paced, large, 3)
    naive_rate = naive(tokens(4_000))
    report(
        [
            ("incremental, 1,000 tokens", f"{rate_small:,.0f} tokens/s"),
            ("incremental, 16,000 tokens", f"{rate_large:,.0f} tokens/s (target >= 20,000)"),
            ("ratio 16k / 1k", f"{rate_large / rate_small:.2f}x (target >= 0.7)"),
            ("floor: the whole answer printed once, 1,000", f"{floor_small:,.0f} tokens/s"),
            ("floor: the whole answer printed once, 16,000", f"{floor_large:,.0f} tokens/s"),
            ("incremental / floor, 16,000", f"{rate_large / floor_large:.2f}x"),
            ("paced 50 tokens/s, 1,000", f"{paced_small:,.0f} tokens/s = {5_000 / paced_small:.1f}% of a core"),
            ("paced 50 tokens/s, 16,000", f"{paced_large:,.0f} tokens/s = {5_000 / paced_large:.1f}% of a core"),
            ("paced ratio 16k / 1k", f"{paced_large / paced_small:.2f}x"),
            ("naive Live(Markdown(all)), first 3 s of 4,000", f"{naive_rate:,.0f} tokens/s"),
        ]
    )


if __name__ == "__main__":
    main()
