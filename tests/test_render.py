"""The incremental renderer prints the same document as rendering the whole
answer at once, whatever the token boundaries."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mmcli.conversation import ModelRef
from mmcli.engine import Answer
from mmcli.render import BlockSplitter, TerminalSink, markdown

DOCUMENT = (
    "# Title\n\nFirst paragraph with **bold** and `code`.\n\nSecond paragraph.\n\n"
    "- a\n- b\n  - nested\n\n1. one\n2. two\n\n```python\ndef f():\n\n    return 1\n```\n\n"
    "> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nEnd."
)


def render_whole(text: str) -> str:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(markdown(text))
    return console.file.getvalue()


def render_streamed(pieces: list[str]) -> str:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    sink = TerminalSink(console)
    model = ModelRef("test", "model")
    sink.begin(model)
    for piece in pieces:
        sink.delta(piece)
    sink.finish(Answer(model=model, text="".join(pieces)))
    return console.file.getvalue()


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_streamed_rendering_equals_the_whole_document(size):
    pieces = [DOCUMENT[i : i + size] for i in range(0, len(DOCUMENT), size)]
    assert render_streamed(pieces) == render_whole(DOCUMENT)


def test_a_blank_line_inside_a_code_fence_does_not_end_the_block():
    splitter = BlockSplitter()
    blocks = splitter.feed("```\nline one\n\nline two\n```\n\nafter\n")
    assert blocks == ["```\nline one\n\nline two\n```\n\n"]
    assert splitter.flush() == "after\n"
