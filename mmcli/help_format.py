"""How mmcli's help and usage lines read: the terminal's full width, examples
never re-wrapped, real placeholders instead of Click's ``<str>``, arguments
without Typer's braces, and a hint to quote a prompt typed as several words.

Every command and group is made from these classes (``cls=`` in cli.py and
the sub-apps), so the rules hold in one place. Only typer is imported: help
must stay as cheap as importing Typer.
"""

from __future__ import annotations

import re
from typing import Any

from typer import _click  # Typer's vendored Click (typer 0.26-0.28 all vendor it)
from typer._click import formatting
from typer._click.exceptions import UsageError
from typer._click.types import FloatParamType, IntParamType
from typer.core import TyperCommand, TyperGroup, TyperOption

# Click caps help at 80 columns unless told otherwise; the formatter takes the
# smaller of this and the real terminal width, so this means "the terminal's".
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 10_000}

# Placeholders for options declared without one, by parameter name (the
# commands whose modules set no metavar of their own).
_METAVARS = {
    "session": "NAME",
    "prompt": "TEXT",
    "concurrency": "N",
    "output": "FILE",
    "language": "CODE",
}
_BRACED = re.compile(r"^\{(.*)\}(\.\.\.)?$")
_EXTRA_ARGUMENTS = re.compile(r"^Got unexpected extra arguments?(?:\(s\))? \((.*)\)$")


def _literal_examples(text: str) -> str:
    r"""Mark every indented paragraph (the examples) with Click's ``\b``: printed as written,
    so a long command line is never broken inside a model name and can be copied whole."""
    paragraphs = text.split("\n\n")
    marked = [
        "\b\n" + p if p.strip() and all(line.startswith("  ") for line in p.splitlines() if line.strip()) else p
        for p in paragraphs
    ]
    return "\n\n".join(marked)


def _format_help_text(command: _click.Command, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
    import inspect

    if not command.help:
        return
    text = inspect.cleandoc(command.help).partition("\f")[0]
    formatter.write_paragraph()
    with formatter.indentation():
        formatter.write_text(_literal_examples(text))


def _usage_pieces(pieces: list[str]) -> list[str]:
    """``{AUDIO}`` reads as a shell brace expansion: a required argument is just ``AUDIO``."""
    out = []
    for piece in pieces:
        match = _BRACED.match(piece)
        out.append(match.group(1) + (match.group(2) or "") if match else piece)
    return out


def _name_placeholders(command: _click.Command) -> None:
    for param in command.params:
        if not isinstance(param, TyperOption) or param.is_flag or param.count or param.metavar is not None:
            continue
        if param.name in _METAVARS:
            param.metavar = _METAVARS[param.name]
        elif isinstance(param.type, IntParamType):
            param.metavar = "N"
        elif isinstance(param.type, FloatParamType):
            param.metavar = "NUMBER"
        else:
            param.metavar = (param.name or "value").upper()


def _quote_hint(error: UsageError, ctx: _click.Context) -> UsageError:
    """`mmcli chat what is the capital of France`: Click's "unexpected extra arguments",
    plus the command line that works."""
    message = error.message
    prompt = ctx.params.get("prompt")
    extra = _EXTRA_ARGUMENTS.match(message)
    if not isinstance(prompt, str) or extra is None:
        return error
    words = f"{prompt} {extra.group(1)}"
    if any(c in words for c in '"$`\\!'):
        import shlex

        quoted = shlex.quote(words)
    else:
        quoted = f'"{words}"'
    return UsageError(f"{message}. Quote a prompt of several words: {ctx.command_path} {quoted}", ctx=ctx)


class TerminalContext(_click.Context):
    """Help and usage laid out for the run's terminal (``terminal.current()``), by Click's own
    rule: COLUMNS, else stdout's terminal, less two columns, at least 50."""

    def make_formatter(self) -> _click.HelpFormatter:
        if self.terminal_width is not None or formatting.FORCED_WIDTH is not None:
            return super().make_formatter()
        from . import terminal

        width = max(min(terminal.current().columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class MmcliCommand(TyperCommand):
    """A command whose help follows the rules in this module's docstring."""

    context_class = TerminalContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_placeholders(self)

    def format_help_text(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_help_text(self, ctx, formatter)

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(super().collect_usage_pieces(ctx))

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as error:
            hinted = _quote_hint(error, ctx)
            if hinted is error:
                raise
            raise hinted from None


class MmcliGroup(TyperGroup):
    """A group (the root app, `sessions`, `cache`) with the same help rules."""

    context_class = TerminalContext

    def format_help_text(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_help_text(self, ctx, formatter)

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(super().collect_usage_pieces(ctx))
