"""Streamed Markdown turned into terminal lines: those that are final, and those still changing.

The aim is that what ends up on the screen is, line for line, what Rich
prints for the whole answer (``Console.print(Markdown(answer))``). Rich
renders a document as its top-level blocks one after another, so a block can
be printed for good as soon as markdown-it (the parser Rich uses) says it is
complete: when a later top-level block has begun in the complete lines
received so far. Only the last block (and the unfinished line) stays live.

Rich puts a blank line between blocks according to the state of its render
loop (``new_line``), which is not simply "always": a table after a rule gets
one, a paragraph after it does not. The stream carries that state from one
committed chunk to the next, so the pieces join exactly as the whole would.

Link reference definitions (``[x]: url``) are kept in markdown-it's ``env``
across chunks, so a later block's ``[text][x]`` resolves as in the whole
document. A reference used before its definition cannot be fixed once the
earlier block is on the screen; LLMs rarely write those.

A block taller than the screen is committed line by line: the lines that no
longer fit in the live region are printed for good. They are final for code
and prose; a list that reaches its 10th item or a table whose columns widen
later can differ from the whole rendering there, which no streaming renderer
can avoid without waiting for the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it.token import Token
    from rich.console import Console, ConsoleOptions
    from rich.segment import Segment

    Line = list[Segment]

_NEWLINES = re.compile(r"\r\n?")


def _parser() -> Any:
    markdown("")  # builds the shared parser once
    return _MARKDOWN_PARSER


_MARKDOWN_TEMPLATE: Any = None
_MARKDOWN_PARSER: Any = None


def markdown(text: str) -> Any:
    """A rich Markdown for ``text`` that reuses one parser.

    rich.markdown.Markdown builds a new MarkdownIt parser per instance, which
    costs more than parsing a typical block; a streamed answer renders
    hundreds of blocks, so build the parser once and copy the template's
    settings (whatever attributes this Rich version sets).
    """
    global _MARKDOWN_TEMPLATE, _MARKDOWN_PARSER
    from rich.markdown import Markdown

    if _MARKDOWN_TEMPLATE is None:
        from markdown_it import MarkdownIt

        _MARKDOWN_TEMPLATE = Markdown("")
        _MARKDOWN_PARSER = MarkdownIt().enable("strikethrough").enable("table")
    return markdown_of_tokens(_MARKDOWN_PARSER.parse(text), text)


def markdown_of_tokens(tokens: list[Any], text: str = "") -> Any:
    """A rich Markdown that renders already parsed markdown-it tokens."""
    from rich.markdown import Markdown

    if _MARKDOWN_TEMPLATE is None:
        markdown("")
    instance = Markdown.__new__(Markdown)
    instance.__dict__.update(_MARKDOWN_TEMPLATE.__dict__)
    instance.markup = text
    instance.parsed = tokens
    return instance


def _flatten(tokens: Iterable[Token]) -> Iterable[Token]:
    """Tokens in the order Rich's Markdown visits them (its ``_flatten_tokens``)."""
    for token in tokens:
        if token.children and not (token.type == "fence" or token.tag == "img"):
            yield from _flatten(token.children)
        else:
            yield token


_INLINE_TYPES = frozenset({"text", "hardbreak", "softbreak", "link_open", "link_close", "html_inline"})


def ends_with_new_line(tokens: list[Token], new_line: bool) -> bool:
    """Rich's ``new_line`` after rendering ``tokens``, starting from ``new_line``.

    Mirrors the branches of ``Markdown.__rich_console__``: inline text and
    styles leave it alone; every element that closes (or is self-closing)
    sets it to its class's ``new_line``.
    """
    from rich.markdown import Markdown, UnknownElement

    elements = Markdown.elements
    inline_tags = Markdown.inlines
    opened: list[bool] = []
    for token in _flatten(tokens):
        kind = token.type
        if kind in _INLINE_TYPES:
            continue
        if token.tag in inline_tags and kind not in ("fence", "code_block"):
            continue
        element_new_line = elements.get(kind, UnknownElement).new_line
        if token.nesting == 1:
            opened.append(element_new_line)
        elif token.nesting == -1:
            new_line = opened.pop() if opened else new_line
        else:
            new_line = element_new_line
    return new_line


def _separator_token() -> Token:
    """A token Rich renders as nothing but after which it puts a blank line before the next block."""
    from markdown_it.token import Token

    return Token("html_block", "", 0, block=True)


def _top_level_starts(tokens: list[Token]) -> list[int]:
    return [i for i, token in enumerate(tokens) if token.level == 0 and token.nesting >= 0 and token.map]


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    return offset


class MarkdownStream:
    """Source text in, lines out: ``advance`` commits what is final, ``close`` the rest.

    Appending costs O(1); ``advance`` parses and renders only the uncommitted
    tail (normally the last block), so its cost does not grow with the answer.
    """

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._tail = ""  # uncommitted source; starts at the first line of a top-level block
        self._env: dict[str, Any] = {}  # markdown-it's env: the link reference definitions so far
        self._new_line = False  # Rich's blank-line state before the next top-level block
        self._printed = 0  # lines of the tail's rendering already committed (a block taller than the screen)
        self._has_text = False
        self._parser = _parser()

    @property
    def has_text(self) -> bool:
        """Whether anything but white space has arrived."""
        if not self._has_text:
            self._has_text = any(piece.strip() for piece in self._pending) or bool(self._tail.strip())
        return self._has_text

    def feed(self, text: str) -> None:
        self._pending.append(text)

    def _take_pending(self) -> str:
        tail = self._tail
        if self._pending:
            tail += "".join(self._pending)
            self._pending.clear()
        if "\r" in tail:
            # markdown-it reads \r and \r\n as line ends; so do the line numbers used here.
            # A trailing \r may be the first half of \r\n, so it waits.
            held = "\r" if tail.endswith("\r") else ""
            tail = _NEWLINES.sub("\n", tail[: len(tail) - len(held)]) + held
        return tail

    def advance(self, console: Console, options: ConsoleOptions, max_live: int) -> tuple[list[Line], list[Line]]:
        """(lines to print for good now, lines to show live), the live ones at most ``max_live``.

        State changes only at the end, so an exception (Ctrl-C) midway leaves
        the stream as it was and nothing is lost or shown twice.
        """
        tail = self._take_pending()
        self._tail = tail
        committed: list[Line] = []
        complete = tail[: tail.rfind("\n") + 1]
        new_line, printed, env = self._new_line, self._printed, self._env
        if complete.strip():
            tokens = self._parser.parse(complete, env)
            starts = _top_level_starts(tokens)
            if len(starts) >= 2:
                last = starts[-1]
                done = tokens[:last]
                lines = self._render(done, new_line, console, options)
                committed = lines[printed:]
                printed = max(0, printed - len(lines))
                new_line = ends_with_new_line(done, new_line)
                tail = tail[_offset_of_line(complete, tokens[last].map[0]) :]  # type: ignore[index]
        # The unfinished line may still define a reference; parse it with a copy of the definitions.
        live_env = {"references": dict(env.get("references", {}))}
        live = self._render(self._parser.parse(tail, live_env), new_line, console, options)[printed:]
        overflow = len(live) - max(1, max_live)
        if overflow > 0:
            committed += live[:overflow]
            live = live[overflow:]
            printed += overflow
        self._tail, self._new_line, self._printed = tail, new_line, printed
        return committed, live

    def close(self, console: Console, options: ConsoleOptions) -> list[Line]:
        """Everything not yet committed, rendered as final; the stream starts afresh."""
        tail = self._take_pending()
        tokens = self._parser.parse(tail, self._env)
        lines = self._render(tokens, self._new_line, console, options)[self._printed :]
        self._tail, self._new_line, self._printed, self._env, self._has_text = "", False, 0, {}, False
        return lines

    @staticmethod
    def _render(tokens: list[Token], new_line: bool, console: Console, options: ConsoleOptions) -> list[Line]:

        if not tokens:
            return []
        if new_line:
            tokens = [_separator_token(), *tokens]
        return console.render_lines(markdown_of_tokens(tokens), options, pad=False)
