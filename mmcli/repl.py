"""The interactive conversation: bare ``mmcli chat`` in a terminal.

One ``Repl`` holds the conversation (model, system prompt, messages) and the
session it is stored in. Every line is either a slash command (the table in
``repl_commands``) or a user turn, answered through ``engine.answer`` with the
terminal renderer and never the cache. Each message is written to the session
store as soon as it exists, so a crash or a closed terminal loses at most the
answer that was streaming.

Ctrl-C while an answer streams stops that answer (what arrived is kept, marked
incomplete) and returns to the prompt; at the prompt it clears the line.
Ctrl-D or ``/exit`` leaves. Line editing (``repl_input``, prompt_toolkit) is
loaded only here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .conversation import Message, ModelRef, Part
from .errors import EXIT_INTERRUPTED, Interrupted, MmcliError, Terminated, UsageError, report
from .repl_text import message_of, open_block

if TYPE_CHECKING:
    from .config import Config
    from .engine import Answer
    from .repl_input import LineReader
    from .request_options import Flags, RequestOptions

HISTORY_FILE = "repl_history"
HISTORY_LENGTH = 1000
# Resuming shows this many of the last exchanges, each message cut to a few lines.
RECAP_EXCHANGES = 3
RECAP_LINES = 4
RECAP_CHARS = 300
@dataclass
class UsageTotals:
    """Tokens and estimated cost of the answers in this run (``/usage``)."""

    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # answers whose cost is unknown (no token counts, or no price for the model)

    def add(self, answer: Answer) -> None:
        self.answers += 1
        self.input_tokens += answer.input_tokens or 0
        self.output_tokens += answer.output_tokens or 0
        cost = answer.cost_usd
        if cost is None:
            self.unpriced += 1
        else:
            self.cost_usd += cost


class Repl:
    def __init__(self, config: Config, flags: Flags | None = None) -> None:
        from . import render
        from .request_options import Flags
        from .store.sessions import SessionStore

        self.config = config
        self.console = render.terminal_console()
        self.notes = render.stderr_console()
        self.store = SessionStore(config.data_dir)
        # The command line's -m, -s, -t ... (and role); they win over a session resumed at the start.
        self.flags = flags or Flags()
        # Set by open(): the options of this conversation (model, system prompt, temperature ...).
        self.options: RequestOptions | None = None
        self.history: list[Message] = []
        # The stored session's name; None until the first turn creates it.
        self.session: str | None = None
        # A name chosen (-S NAME or /save NAME) for a session not stored yet.
        self.pending_name: str | None = None
        # Attachments for the next user turn (/image, /audio add to it).
        self.pending_parts: list[Part] = []
        self.usage = UsageTotals()
        self._told_about_context = False
        self._reader: LineReader | None = None

    @property
    def ref(self) -> ModelRef:
        return self.options.model if self.options is not None else ModelRef("", "")

    @property
    def system(self) -> str | None:
        return self.options.system if self.options is not None else None

    # -- sessions ---------------------------------------------------------------

    def open(self, session: str | None, continue_: bool) -> None:
        """Resume the session -S names (or start it) or, with -c, the most recent one."""
        from .request_options import options_for

        if session:
            info = self.store.get(session)
            if info is not None:
                self.load(info.name)
                return
            self.pending_name = session
        elif continue_:
            info = self.store.most_recent()
            if info is None:
                raise UsageError('There is no session to continue yet; start one with mmcli chat -S NAME "...".')
            self.load(info.name)
            return
        self.options = options_for(self.config, self.flags)

    def load(self, name: str, *, flags_win: bool = True) -> None:
        """Switch to a stored session: its messages, model, system prompt and options; then show where it left off.

        When the REPL starts on a session (-S NAME, -c), a -m, -s or -t given on the
        command line wins over what the session stored, and is stored as the
        session's new setting. ``/load`` (flags_win=False) keeps the session's own.
        """
        from .request_options import Flags, options_for

        info = self.store.require(name)
        history = self.store.messages(name)
        # /load: only what is not about the conversation (fallbacks, timeout) comes from the command line.
        flags = self.flags if flags_win else Flags(fallback=self.flags.fallback, timeout=self.flags.timeout)
        options = options_for(self.config, flags, info)
        if flags.asked_model and str(options.model) != info.model:
            self.store.set_model(name, str(options.model))
        if flags.asked_system is not None and options.system != info.system:
            self.store.set_system(name, options.system)
        kept = {**info.options, **options.kept()}
        if kept != info.options:
            self.store.set_options(name, kept)
        self.session, self.pending_name = name, None
        self.history, self.options = history, options
        self._told_about_context = False
        self.recap(info.turns)

    def recap(self, turns: int) -> None:
        """The last few exchanges, dimmed, so the user sees where the conversation stands."""
        noun = "turn" if turns == 1 else "turns"
        self.dim(f"Resumed session '{self.session}' ({self.ref}, {turns} {noun}).")
        start = len(self.history)
        users_seen = 0
        while start > 0 and users_seen < RECAP_EXCHANGES:
            start -= 1
            if self.history[start].role == "user":
                users_seen += 1
        if start > 0:
            self.dim("…")
        for message in self.history[start:]:
            label = "you" if message.role == "user" else "assistant"
            text = _shortened(message.prompt_text)  # fragments (-f) are named below, not recapped
            media = [p.source or p.kind for p in message.parts if p.is_media or p.is_fragment]
            if media:
                text += f" [{', '.join(media)}]"
            if message.incomplete:
                text += " [interrupted]"
            self.dim(f"{label}: {text}")
        self.console.print()

    def ensure_session(self, first_prompt: str) -> str:
        """The stored session's name, creating it (named or automatically) on the first turn."""
        if self.session is None:
            assert self.options is not None
            info = self.store.create(
                self.pending_name, str(self.ref), system=self.system, first_prompt=first_prompt,
                options=self.options.kept(),
            )
            self.session, self.pending_name = info.name, None
        return self.session

    def new_session(self) -> None:
        """Forget the conversation (it stays stored); the next turn starts a new session."""
        self.session = self.pending_name = None
        self.history = []
        self.pending_parts = []
        self._told_about_context = False

    # -- turns ------------------------------------------------------------------

    def ask(self, text: str) -> None:
        """One user turn: stored, then answered."""
        from .providers import registry

        parts = ([Part.of_text(text)] if text else []) + self.pending_parts
        turn = Message(role="user", parts=parts)
        # Refuse input the model cannot take before anything is stored. Earlier
        # turns' media it cannot take are left out of the request instead.
        registry.check_accepts(self.ref, turn.media_kinds())
        name = self.ensure_session(text)
        self.store.append(name, turn, model=str(self.ref))
        self.history.append(turn)
        self.pending_parts = []
        self.answer()

    def answer(self) -> None:
        """Answer the conversation as it stands (its last message is a user turn)."""
        from . import engine
        from .render import TerminalSink
        from .request_options import build_request

        assert self.options is not None
        request = build_request(self.options, self.history, notify=self._context_note)
        sink = TerminalSink(self.console, notes=self.notes)
        try:
            result = engine.answer(
                request, self.config, sink, fallbacks=self.options.fallbacks, use_cache=False, notify=self.note
            )
        except KeyboardInterrupt as exc:
            # Ctrl-C outside the provider's stream (while connecting, or while the renderer started).
            partial = engine.Answer(model=self.ref, incomplete=True)
            _quietly(sink.abort, partial)
            if isinstance(exc, Terminated):
                raise  # SIGTERM/SIGHUP end the REPL (143/129); Ctrl-C only this answer
            self.dim("[interrupted]")
            return
        except MmcliError as exc:
            partial = getattr(exc, "answer", None)
            if partial is not None and partial.text:
                self.keep(partial)
            if isinstance(exc, Interrupted) and exc.exit_code != EXIT_INTERRUPTED:
                raise  # SIGTERM/SIGHUP: what arrived is kept, then the REPL ends with the signal's code
            if isinstance(exc, Interrupted):
                if partial is None or not partial.text:
                    self.dim("[interrupted]")
                return
            report(exc.message)
            if partial is None or not partial.text:
                self.dim("(/retry asks again)")
            return
        self.keep(result)

    def keep(self, result: Answer) -> None:
        """Store an answer (marked incomplete when cut short) and count its usage."""
        reply = Message(
            role="assistant", parts=[Part.of_text(result.text)], incomplete=result.incomplete,
            finish_reason=result.finish_reason,
        )
        if self.session is not None:
            self.store.append(self.session, reply, model=str(result.model))
        self.history.append(reply)
        if not result.incomplete:
            self.usage.add(result)

    def retry(self) -> bool:
        """Drop the last answer (if any) and answer the last user turn again. False when there is none."""
        last_user = max((i for i, m in enumerate(self.history) if m.role == "user"), default=None)
        if last_user is None:
            return False
        if last_user < len(self.history) - 1:
            if self.session is not None:
                self.store.drop_last_answer(self.session)
            del self.history[last_user + 1 :]
        self.answer()
        return True

    def undo(self) -> bool:
        """Drop the last user turn and its answers. False when there is none."""
        last_user = max((i for i, m in enumerate(self.history) if m.role == "user"), default=None)
        if last_user is None:
            return False
        if self.session is not None:
            self.store.drop_last_exchange(self.session)
        del self.history[last_user:]
        return True

    def set_model(self, ref: ModelRef) -> None:
        from .request_options import with_model

        assert self.options is not None
        self.options = with_model(self.options, ref)
        self._told_about_context = False
        if self.session is not None:
            self.store.set_model(self.session, str(ref))

    def set_system(self, system: str | None) -> None:
        from dataclasses import replace

        assert self.options is not None
        self.options = replace(self.options, system=system)
        if self.session is not None:
            self.store.set_system(self.session, system)

    # -- output -----------------------------------------------------------------

    def dim(self, text: str) -> None:
        self.console.print(text, style="dim", markup=False, highlight=False)

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def note(self, text: str) -> None:
        self.notes.print(text, style="dim", markup=False, highlight=False)

    def _context_note(self, text: str) -> None:
        if not self._told_about_context:
            self._told_about_context = True
            self.note(text)

    # -- input ------------------------------------------------------------------

    def read(self) -> str:
        """One message: a line, a paste, or a block between two \"\"\" lines."""
        if self._reader is not None:
            return self._reader.read()
        return self._read_plain()

    def _read_plain(self) -> str:
        """Without line editing (stdin is not a terminal): lines, and \"\"\" blocks."""
        text = input(f"{self.ref}> ")
        while open_block(text):
            try:
                text += "\n" + input("... ")
            except EOFError:
                break  # Ctrl-D ends the block like a closing """
        return message_of(text)

    def setup_line_editing(self) -> None:
        """prompt_toolkit line editing, when both ends are a terminal (imported only now: it is slow)."""
        from . import terminal

        if not (terminal.current().stdin_isatty and terminal.current().stdout_isatty):
            return
        from .repl_input import LineReader, ReplCompleter

        completer = ReplCompleter(self._session_names, self._model_names)
        self._reader = LineReader(
            self.history_path(), HISTORY_LENGTH, completer, lambda: str(self.ref), colour=not self.console.no_color
        )

    def _session_names(self) -> list[str]:
        return [info.name for info in self.store.list()]

    def _model_names(self) -> list[str]:
        from .providers import registry

        names = [f"{provider}:{model}" for provider, entry in registry.catalogue().items() for model in entry["models"]]
        return sorted(self.config.aliases) + names

    def history_path(self) -> Path:
        return Path(self.config.data_dir) / HISTORY_FILE

    def save_line_history(self) -> None:
        if self._reader is None:
            return
        try:
            self._reader.close()
        except OSError as exc:
            self.note(f"The input history was not saved: {exc.strerror or exc}.")

    # -- the loop ---------------------------------------------------------------

    def run(self) -> None:
        from .repl_commands import dispatch

        self.dim(f"mmcli chat with {self.ref}. /help lists commands; Ctrl-D or /exit leaves.")
        while True:
            try:
                line = self.read()
            except Terminated:
                raise
            except KeyboardInterrupt:
                # Ctrl-C at the prompt clears the line, as in a shell (prompt_toolkit has moved to a new line).
                if self._reader is None:
                    sys.stdout.write("\n")
                continue
            except EOFError:
                if self._reader is None:
                    sys.stdout.write("\n")
                break
            if not line.strip() and not self.pending_parts:
                continue
            try:
                if line.startswith("/") and not line.startswith("//"):
                    if dispatch(self, line):
                        break
                else:
                    self.ask(line[1:] if line.startswith("//") else line)
            except MmcliError as exc:
                if isinstance(exc, Interrupted) and exc.exit_code != EXIT_INTERRUPTED:
                    raise
                report(exc.message)
            except Terminated:
                raise
            except KeyboardInterrupt:
                self.dim("[interrupted]")

    def close(self) -> None:
        self.save_line_history()
        if self.session is not None:
            self.dim(f"Session '{self.session}' is saved; mmcli chat -S {_shell_word(self.session)} resumes it.")
        try:
            self.console.show_cursor(True)
        finally:
            self.store.close()


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _shortened(text: str) -> str:
    lines = text.strip().splitlines()
    cut = len(lines) > RECAP_LINES
    text = "\n".join(lines[:RECAP_LINES])
    if len(text) > RECAP_CHARS:
        text, cut = text[:RECAP_CHARS].rstrip(), True
    return text + (" …" if cut else "")


def _quietly(action: Any, *args: Any) -> None:
    try:
        action(*args)
    except Exception:  # tidying the screen must not hide what the user pressed Ctrl-C for
        pass


def run_repl(
    config: Config, flags: Flags | None = None, *, session: str | None = None, continue_: bool = False
) -> None:
    """The interactive conversation; returns when the user leaves (Ctrl-D, /exit)."""
    repl = Repl(config, flags)
    try:
        repl.open(session, continue_)
        repl.setup_line_editing()
        repl.run()
    finally:
        repl.close()
