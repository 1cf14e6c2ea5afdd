"""The REPL's slash commands: one table of name -> handler with its help line.

Adding a command is one decorated function here::

    @command("image", "/image PATH", "Attach an image to your next message.")
    def _image(repl: Repl, arg: str) -> None:
        from . import media
        repl.pending_parts.append(media.load(arg, expect="image"))

A handler gets the Repl and the text after the command name; it returns True
to leave the REPL. It raises MmcliError subclasses for the user's mistakes;
the loop prints their sentence and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from .repl import Repl

Handler = Callable[["Repl", str], "bool | None"]


@dataclass(frozen=True)
class SlashCommand:
    name: str
    usage: str
    help: str
    handler: Handler


COMMANDS: dict[str, SlashCommand] = {}


def command(name: str, usage: str, help: str) -> Callable[[Handler], Handler]:  # noqa: A002 - the help line
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = SlashCommand(name, usage, help, handler)
        return handler

    return register


def dispatch(repl: Repl, line: str) -> bool:
    """Run the slash command on ``line``; True when the REPL should end."""
    import difflib

    name, _, arg = line[1:].strip().partition(" ")
    entry = COMMANDS.get(name.lower())
    if entry is None:
        close = difflib.get_close_matches(name.lower(), list(COMMANDS), n=1)
        hint = f"did you mean /{close[0]}? " if close else ""
        raise UsageError(
            f"Unknown command /{name}; {hint}/help lists the commands "
            "(start a line with // to send a message that begins with /)."
        )
    return bool(entry.handler(repl, arg.strip()))


def _require_arg(arg: str, usage: str) -> str:
    if not arg:
        raise UsageError(f"Give an argument: {usage}.")
    return arg


@command("help", "/help", "List these commands.")
def _help(repl: Repl, arg: str) -> None:
    from .repl_text import BLOCK_QUOTES

    shown = [c for c in COMMANDS.values() if c.name != "quit"]
    width = max(len(c.usage) for c in shown)
    for entry in shown:
        repl.say(f"  {entry.usage.ljust(width)}  {entry.help}")
    repl.say(f"  {BLOCK_QUOTES.ljust(width)}  Start or end a multi-line message.")
    repl.say(f"  {'Alt-Enter'.ljust(width)}  New line in the message (a paste is one message, newlines and all).")
    repl.say(f"  {'Tab'.ljust(width)}  Complete a command, a session after /load, a model after /model, a path.")
    repl.say(f"  {'Up, Ctrl-R'.ljust(width)}  Earlier messages (starting with what is typed); search them.")
    repl.say(f"  {'Ctrl-C'.ljust(width)}  Stop the answer that is streaming, or clear the line.")
    repl.say(f"  {'Ctrl-D'.ljust(width)}  Leave.")


@command("model", "/model NAME", "Switch model; the conversation so far goes to the new model.")
def _model(repl: Repl, arg: str) -> None:
    from .providers import registry

    if not arg:
        repl.say(f"The model is {repl.ref}.")
        return
    ref = registry.parse_model(arg, repl.config)
    registry.provider_settings(ref.provider, repl.config)  # a missing key is reported now, not at the next turn
    repl.set_model(ref)
    repl.dim(f"Now talking to {ref}.")


@command("system", "/system TEXT", "Set the system prompt (/system alone shows it, /system - clears it).")
def _system(repl: Repl, arg: str) -> None:
    if not arg:
        repl.say(f"System prompt: {repl.system}" if repl.system else "There is no system prompt.")
        return
    repl.set_system(None if arg == "-" else arg)
    repl.dim("System prompt cleared." if arg == "-" else "System prompt set.")


@command("image", "/image PATH", "Attach an image (path or URL) to your next message.")
def _image(repl: Repl, arg: str) -> None:
    _attach(repl, _require_arg(arg, "/image PATH"), "image")


@command("audio", "/audio PATH", "Attach an audio file (path or URL) to your next message.")
def _audio(repl: Repl, arg: str) -> None:
    _attach(repl, _require_arg(arg, "/audio PATH"), "audio")


@command("video", "/video PATH", "Attach a video (path or URL) to your next message; image-only models get frames.")
def _video(repl: Repl, arg: str) -> None:
    _attach(repl, _require_arg(arg, "/video PATH"), "video")


def _attach(repl: Repl, arg: str, kind: str) -> None:
    import shlex

    from . import media
    from .providers import registry

    # A path dropped into a terminal arrives quoted or with escaped spaces; an
    # unquoted path with spaces is taken as it is.
    try:
        words = shlex.split(arg)
    except ValueError:
        words = []
    source = words[0] if len(words) == 1 else arg
    if source == "-":
        raise UsageError("In a conversation stdin is the keyboard; give a path or a URL.")
    repl.pending_parts.append(media.load(source, expect=kind))
    count = len(repl.pending_parts)
    waiting = f" ({count} attachments waiting)" if count > 1 else ""
    repl.dim(f"Attached {source}; it goes with your next message{waiting}.")
    if not registry.capabilities(repl.ref).accepts(kind):
        noun = {"image": "images", "video": "video"}.get(kind, "audio")
        repl.note(f"{repl.ref} cannot take {noun}; switch with /model before you send it.")


@command("retry", "/retry", "Ask for the last answer again.")
def _retry(repl: Repl, arg: str) -> None:
    if not repl.retry():
        repl.dim("Nothing to retry yet.")


@command("undo", "/undo", "Remove the last exchange (your message and its answer).")
def _undo(repl: Repl, arg: str) -> None:
    repl.dim("Removed the last exchange." if repl.undo() else "Nothing to undo.")


@command("clear", "/clear", "Start a new session (the current one stays saved).")
def _clear(repl: Repl, arg: str) -> None:
    previous = repl.session
    repl.new_session()
    repl.dim(f"New session. '{previous}' is saved." if previous else "New session.")


@command("save", "/save NAME", "Name (or rename) this session.")
def _save(repl: Repl, arg: str) -> None:
    name = _require_arg(arg, "/save NAME")
    if repl.session is None:
        from .store.sessions import shown_name, valid_name

        name = valid_name(name)
        if repl.store.get(name) is not None:
            raise UsageError(f"A session named '{shown_name(name)}' already exists; pick another name.")
        repl.pending_name = name
        repl.dim(f"This session will be saved as '{name}'.")
        return
    repl.store.rename(repl.session, name)
    repl.session = name.strip()
    repl.dim(f"Saved as '{repl.session}'.")


@command("sessions", "/sessions", "List saved sessions.")
def _sessions(repl: Repl, arg: str) -> None:
    from .session_table import sessions_table

    infos = repl.store.list()
    if not infos:
        repl.dim("No saved sessions yet.")
        return
    repl.console.print(sessions_table(infos, current=repl.session))


@command("load", "/load NAME", "Switch to a saved session (it keeps its model; /model changes it).")
def _load(repl: Repl, arg: str) -> None:
    name = _require_arg(arg, "/load NAME")
    if repl.store.get(name) is None:
        matches = repl.store.close_matches(name)
        hint = f"did you mean {', '.join(matches)}? " if matches else ""
        raise UsageError(f"No session named '{name}'; {hint}/sessions lists them.")
    repl.load(name, flags_win=False)


@command("usage", "/usage", "Tokens and estimated cost of this run's answers.")
def _usage(repl: Repl, arg: str) -> None:
    totals = repl.usage
    if not totals.answers:
        repl.say("No answers yet.")
        return
    noun = "answer" if totals.answers == 1 else "answers"
    repl.say(
        f"{totals.answers} {noun}: {totals.input_tokens:,} input and {totals.output_tokens:,} output tokens."
    )
    if totals.unpriced == totals.answers:
        repl.say("Estimated cost: unknown (no price for this model).")
    else:
        unknown = f" (plus {totals.unpriced} answers with no known price)" if totals.unpriced else ""
        repl.say(f"Estimated cost: ${totals.cost_usd:.6f}{unknown}.")


@command("exit", "/exit", "Leave (Ctrl-D does too).")
def _exit(repl: Repl, arg: str) -> bool:
    return True


COMMANDS["quit"] = SlashCommand("quit", "/quit", "Leave, like /exit.", _exit)
