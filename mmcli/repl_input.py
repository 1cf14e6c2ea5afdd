"""Reading the REPL's messages with prompt_toolkit: editing, history, completion, paste.

- A bracketed paste (what terminals send for pasted text) lands in the line
  as it is, newlines included, and Enter sends it as one message.
- Alt-Enter starts a new line; so does Enter inside a message opened with
  a line starting with \"\"\" until the closing \"\"\".
- Up/Down walk the history (by prefix when something is typed), Ctrl-R
  searches it; it is kept in the data dir, private, without any line that
  holds an API key.
- Tab completes slash commands, session names after /load, model names
  after /model and paths after /image, /audio and /video.

This module is imported only when the REPL starts: prompt_toolkit takes a
while to import, and nothing else needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application.current import get_app
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings

from .private_dirs import make_private_dirs
from .repl_commands import COMMANDS
from .repl_text import message_of, open_block

if TYPE_CHECKING:
    from prompt_toolkit.key_binding import KeyPressEvent


class ReplCompleter(Completer):
    """Completes what follows a slash: the command, then its argument."""

    def __init__(self, session_names: Callable[[], list[str]], model_names: Callable[[], list[str]]) -> None:
        self.session_names = session_names
        self.model_names = model_names
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or text.startswith("//") or "\n" in text:
            return
        name, space, arg = text[1:].partition(" ")
        if not space:
            for command in COMMANDS.values():
                if command.name.startswith(name.lower()):
                    takes_arg = " " in command.usage
                    yield Completion(
                        f"/{command.name}{' ' if takes_arg else ''}", -len(text), display=f"/{command.name}",
                        display_meta=command.help,
                    )
            return
        name = name.lower()
        if name == "load":
            yield from _words(self.session_names(), arg)
        elif name == "model":
            yield from _words(self.model_names(), arg)
        elif name in ("image", "audio", "video"):
            yield from self.paths.get_completions(Document(arg, len(arg)), complete_event)


def _words(candidates: Iterable[str], typed: str) -> Iterator[Completion]:
    """Candidates that start with what was typed, or whose part after a ``provider:`` does."""
    for word in candidates:
        if word.startswith(typed) or word.partition(":")[2].startswith(typed):
            yield Completion(word, -len(typed))


class ReplHistory(FileHistory):
    """The input history file, private to its owner, never holding a line with an API key.

    Older versions wrote one line per entry (readline's format); such a file is read as that.
    """

    def __init__(self, path: Path, length: int) -> None:
        super().__init__(str(path))
        self.path = path
        self.length = length

    def load_history_strings(self) -> Iterable[str]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        if text and not text.startswith(("#", "+", "\n")):
            entries = text.splitlines()
        else:
            entries = _file_history_entries(text)
        return list(reversed(entries[-self.length :]))  # prompt_toolkit wants the newest first

    def store_string(self, string: str) -> None:
        if _has_secret(string):
            return
        try:
            make_private_dirs(self.path.parent)
            # Created private: the history holds everything typed.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as file:
                file.write("\n# mmcli\n" + "".join(f"+{line}\n" for line in string.split("\n")))
        except OSError:
            pass  # a history that cannot be written is not worth interrupting the conversation

    def compact(self) -> None:
        """Rewrite the file with the newest ``length`` entries, in prompt_toolkit's format, mode 0600."""
        entries = [entry for entry in reversed(list(self.load_history_strings())) if not _has_secret(entry)]
        body = "".join("\n# mmcli\n" + "".join(f"+{line}\n" for line in entry.split("\n")) for entry in entries)
        make_private_dirs(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(body)
        os.chmod(self.path, 0o600)


def _file_history_entries(text: str) -> list[str]:
    """Entries of a prompt_toolkit history file: ``+``-prefixed lines, entries split by ``#`` lines."""
    entries: list[str] = []
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("+"):
            lines.append(line[1:])
        elif lines:
            entries.append("\n".join(lines))
            lines = []
    if lines:
        entries.append("\n".join(lines))
    return entries


def _has_secret(text: str) -> bool:
    from .errors import redact

    return redact(text) != text


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _new_line(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("enter", filter=Condition(lambda: open_block(get_app().current_buffer.text)))
    def _block_goes_on(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class LineReader:
    """One prompt_toolkit session for the whole REPL run (so history and completion carry over)."""

    def __init__(
        self,
        history_path: Path,
        history_length: int,
        completer: Completer,
        prompt: Callable[[], str],
        *,
        colour: bool,
    ) -> None:
        self.history = ReplHistory(history_path, history_length)
        self._prompt = prompt
        self._colour = colour
        self.session: PromptSession[str] = PromptSession(
            history=self.history,
            completer=completer,
            complete_while_typing=False,
            enable_history_search=True,
            key_bindings=key_bindings(),
            prompt_continuation=self._continuation,
            reserve_space_for_menu=4,
        )
        # A terminal that does not answer cursor position requests works fine; no need to say so.
        self.session.app.renderer.cpr_not_supported_callback = None

    def _message(self) -> FormattedText:
        """The prompt: the model's name, bold (and cyan). Once a message is sent, the prompt it
        was typed after is redrawn dim, so the screen shows which prompts are still waiting."""
        name = self._prompt()
        style = "bold ansicyan" if self._colour else "bold"
        if get_app().is_done:
            return FormattedText([(style, name), ("dim", "> ")])
        # One style for the whole prompt, trailing space included, so it is drawn as typed.
        return FormattedText([(style, f"{name}> ")])

    def _continuation(self, width: int, line_number: int, wrap_count: int) -> Any:
        """What goes before the 2nd, 3rd... line of a message: "..." under the prompt's ">"."""
        return "" if wrap_count else "... ".rjust(width)

    def read(self) -> str:
        """One message (raises EOFError on Ctrl-D, KeyboardInterrupt on Ctrl-C)."""
        return message_of(self.session.prompt(self._message))

    def close(self) -> None:
        self.history.compact()
