"""`mmcli sessions list|show|export|rename|delete`: the saved conversations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..completion import complete_export_formats, complete_models, complete_sessions
from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup
from ..session_table import ago as _ago
from ..session_table import sessions_table

if TYPE_CHECKING:
    from ..store.sessions import SessionInfo, SessionStore, StoredMessage

app = typer.Typer(
    name="sessions",
    cls=MmcliGroup,
    help=(
        "List, search, show, export, rename and delete saved conversations "
        "(mmcli chat -S NAME and the interactive chat save them).\n\n"
        "Examples:\n\n"
        "  mmcli sessions list\n\n"
        "  mmcli sessions list --model gpt-4o --since 7d\n\n"
        "  mmcli sessions search \"rate limit\"\n\n"
        "  mmcli sessions show trip-planning\n\n"
        "  mmcli sessions export trip-planning --format md > trip.md\n\n"
        "  mmcli sessions rename trip-planning japan-2027\n\n"
        "  mmcli sessions delete japan-2027"
    ),
    no_args_is_help=True,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        help="The session's name (see mmcli sessions list).", metavar="NAME", autocompletion=complete_sessions
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON document instead of the table.")]


def _open_store() -> SessionStore:
    from .. import config as config_module
    from ..store.sessions import SessionStore

    return SessionStore(config_module.load().data_dir)


def _iso(timestamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def info_json(info: SessionInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "model": info.model,
        "system": info.system,
        "turns": info.turns,
        "created_at": _iso(info.created_at),
        "last_used": _iso(info.updated_at),
    }


def message_json(record: StoredMessage) -> dict[str, Any]:
    message = record.message
    return {
        "role": message.role,
        "text": message.prompt_text,
        "attachments": [
            {"kind": p.kind, "mime_type": p.mime_type, "source": p.source, "sha256": p.sha256, "bytes": len(p.data)}
            for p in message.parts
            if p.is_media
        ],
        "fragments": [
            {"source": p.source, "sha256": p.sha256, "chars": len(p.text)} for p in message.parts if p.is_fragment
        ],
        "model": record.model,
        "incomplete": message.incomplete,
        "finish_reason": message.finish_reason,
        "created_at": _iso(record.created_at),
    }


def session_json(info: SessionInfo, records: list[StoredMessage]) -> dict[str, Any]:
    return {**info_json(info), "messages": [message_json(r) for r in records]}


# How `sessions show|export` mark an answer that did not end normally (DESIGN.md, "How an answer ends").
ENDING_NOTES = {
    "length": "answer cut at the token limit",
    "refusal": "the model refused",
    "blocked": "answer blocked by the provider's filter",
    "error": "answer broken off: the stream failed",
    "interrupted": "answer interrupted",
}


def keep_lines(text: str) -> str:
    """Markdown joins a paragraph's lines into one; a message's own line breaks are part of what
    was said, so each becomes a hard break (two trailing spaces). Code fences keep theirs anyway."""
    lines = text.split("\n")
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not fenced and line.strip() and following.strip() and not line.endswith(("  ", "\\")):
            lines[index] = line + "  "
    return "\n".join(lines)


def session_markdown(info: SessionInfo, records: list[StoredMessage], *, hard_breaks: bool = False) -> str:
    """A session as a Markdown document: a heading per message, attachments named.

    ``hard_breaks`` keeps every line of a message when the document is rendered (`sessions show`).
    """
    lines = [f"# {info.name}", "", f"- model: {info.model}", f"- created: {_iso(info.created_at)}"]
    lines.append(f"- last used: {_iso(info.updated_at)}")
    if info.system:
        lines.append(f"- system prompt: {info.system}")
    lines.append("")
    for record in records:
        message = record.message
        heading = "User" if message.role == "user" else f"Assistant ({record.model})" if record.model else "Assistant"
        lines += [f"## {heading}", ""]
        for part in message.parts:
            if part.is_fragment:
                lines += [f"*[fragment: {part.source} ({len(part.text)} characters)]*", ""]
        if message.prompt_text:
            body = message.prompt_text.rstrip("\n")
            lines += [keep_lines(body) if hard_breaks else body, ""]
        for part in message.parts:
            if part.is_media:
                lines += [f"*[{part.kind}: {part.source or part.sha256[:12]} ({part.mime_type})]*", ""]
        if message.incomplete:
            lines += [f"*({ENDING_NOTES.get(message.finish_reason or '', 'answer interrupted')})*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


@app.command("list", cls=MmcliCommand)
@exits_cleanly
def list_sessions(
    json_output: JsonFlag = False,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "-m", "--model", metavar="MODEL", autocompletion=complete_models,
            help="Only sessions that used this model (provider:model, a bare name or an alias); repeatable.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="WHEN", help="Only sessions used since: an age (7d, 12h, 30m) or a date "
                     "(2026-11-01, 2026-11-01T09:00)."),
    ] = None,
) -> None:
    """Saved sessions, most recently used first: name, model, turns, last used.

    In a pipe, one session per line with tab-separated fields (name, model, turns,
    last used in ISO 8601) and no header.

    Examples:

      mmcli sessions list

      mmcli sessions list --model gpt-4o --since 7d

      mmcli sessions list --since 2026-11-01 | cut -f1

      mmcli sessions list --json | jq -r '.[].name'
    """
    from .common import print_json

    cutoff = parse_since(since) if since is not None else None
    models = _model_names(model) if model else []
    with _open_store() as store:
        infos = store.list(models=models, since=cutoff)
    if json_output:
        print_json([info_json(i) for i in infos])
        return
    if not infos:
        if model or since:
            typer.echo("No saved session matches; run mmcli sessions list without filters to see them all.", err=True)
        else:
            typer.echo('No saved sessions yet; start one with mmcli chat -S NAME "..." or mmcli chat.', err=True)
        return
    from ..tables import print_records, records_wanted

    if records_wanted():
        print_records((i.name, i.model, i.turns, _iso(i.updated_at)) for i in infos)
        return
    from ..render import terminal_console

    terminal_console().print(sessions_table(infos))


def parse_since(text: str) -> float:
    """`--since`: an age before now (`7d`, `12h`) or an ISO date or time (local time unless it says)."""
    import datetime
    import time

    from ..errors import UsageError
    from .cache import parse_age

    value = text.strip()
    if value[:1].isdigit() and value[-1:].lower() in "smhdw" and "-" not in value:
        return time.time() - parse_age(value)
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"'{text}' is neither an age nor a date; use an age such as 7d or 12h, or a date such as 2026-11-01."
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive date or time is the user's local time
    return moment.timestamp()


def _model_names(specs: list[str]) -> list[str]:
    """What sessions store for each -m: the resolved provider:model (aliases and bare names
    resolved as chat would), and the text as given, so an unknown or retired model still matches."""
    from .. import config as config_module
    from ..errors import MmcliError
    from ..providers import registry

    config = config_module.load()
    names: list[str] = []
    for spec in specs:
        names.append(spec)
        try:
            names.append(str(registry.parse_model(spec, config)))
        except MmcliError:
            pass
    return names


@app.command("search", cls=MmcliCommand)
@exits_cleanly
def search(
    query: Annotated[str, typer.Argument(help="Words to find; FTS5 syntax works too (\"a phrase\", a OR b, pre*).",
                                         metavar="QUERY")],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document (a list of matches).")] = False,
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, metavar="N", help="Most matches shown (default 20).")]
    = 20,
) -> None:
    """Search every saved prompt and answer, best matches first.

    Each match shows its session, the message's number and role, when it was
    said, and the text around the words found (highlighted in a terminal).
    In a pipe, one match per line with tab-separated fields (session, message
    number, role, model, time in ISO 8601, snippet) and no header. Fragments
    (-f) and attachments are not searched, only what was typed and answered.

    Examples:

      mmcli sessions search "rate limit"

      mmcli sessions search 'gil OR mutex' -n 5

      mmcli sessions search '"exact phrase"' --json | jq -r '.[].session'

      mmcli sessions search kubernetes | cut -f1 | sort -u
    """
    from ..errors import UsageError
    from ..store.sessions import HIT_END, HIT_START
    from .common import print_json

    if not query.strip():
        raise UsageError('The search is empty; give words to find, e.g. mmcli sessions search "rate limit".')
    with _open_store() as store:
        hits = store.search(query, limit=limit)

    def plain(snippet: str) -> str:
        return snippet.replace(HIT_START, "").replace(HIT_END, "")

    if json_output:
        print_json([
            {"session": h.session, "message": h.seq, "role": h.role, "model": h.model,
             "created_at": _iso(h.created_at), "snippet": plain(h.snippet)}
            for h in hits
        ])
        return
    if not hits:
        typer.echo(f"No saved prompt or answer matches '{query}'.", err=True)
        return
    from ..tables import print_records, records_wanted

    if records_wanted():
        print_records((h.session, h.seq, h.role, h.model or "", _iso(h.created_at), plain(h.snippet)) for h in hits)
        return
    from rich.text import Text

    from ..render import terminal_console

    console = terminal_console()
    for hit in hits:
        heading = Text.assemble((hit.session, "bold cyan"), f"  #{hit.seq} {hit.role}",
                                (f"  {hit.model}" if hit.model and hit.role == "assistant" else ""),
                                (f"  {_ago(hit.created_at)}", "dim"))
        body = Text("  ")
        for index, piece in enumerate(" ".join(hit.snippet.split()).split(HIT_START)):
            if index == 0:
                body.append(piece)
                continue
            found, _, rest = piece.partition(HIT_END)
            body.append(found, style="bold reverse")
            body.append(rest)
        console.print(heading)
        console.print(body)
        console.print()


@app.command("show", cls=MmcliCommand)
@exits_cleanly
def show(name: NameArgument, json_output: JsonFlag = False) -> None:
    """Every message of a session, with its model and settings.

    Examples:

      mmcli sessions show trip-planning

      mmcli sessions show trip-planning --json
    """
    from .common import print_json

    with _open_store() as store:
        info = store.require(name)
        records = store.records(name)
    if json_output:
        print_json(session_json(info, records))
        return
    from ..render import markdown, stdout_is_terminal, terminal_console

    if stdout_is_terminal():
        terminal_console().print(markdown(session_markdown(info, records, hard_breaks=True)))
    else:
        typer.echo(session_markdown(info, records), nl=False)


@app.command("export", cls=MmcliCommand)
@exits_cleanly
def export(
    name: NameArgument,
    format: Annotated[  # noqa: A002 - the option's name
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="md|json",
            help="md (Markdown) or json.",
            case_sensitive=False,
            autocompletion=complete_export_formats,
        ),
    ] = "md",
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Write to this file instead of stdout (new files 0600, atomically)."),
    ] = None,
) -> None:
    """Write a session as Markdown or JSON (media are named by source and SHA-256, not embedded).

    Examples:

      mmcli sessions export trip-planning --format md > trip.md

      mmcli sessions export trip-planning --format json -o trip.json
    """
    import json

    from ..errors import UsageError

    kind = format.lower()
    if kind not in ("md", "markdown", "json"):
        raise UsageError(f"Unknown export format '{format}'; use --format md or --format json.")
    with _open_store() as store:
        info = store.require(name)
        records = store.records(name)
    if kind == "json":
        document = json.dumps(session_json(info, records), ensure_ascii=False, indent=2) + "\n"
    else:
        document = session_markdown(info, records)
    if output is None:
        typer.echo(document, nl=False)
        return
    from ..output_file import write_output

    write_output(output, document)


@app.command("rename", cls=MmcliCommand)
@exits_cleanly
def rename(
    old: Annotated[
        str, typer.Argument(help="The session's current name.", metavar="OLD", autocompletion=complete_sessions)
    ],
    new: Annotated[str, typer.Argument(help="Its new name.", metavar="NEW")],
) -> None:
    """Give a session a new name (its history and last-used time stay).

    Examples:

      mmcli sessions rename trip-planning japan-2027
    """
    from ..store.sessions import valid_name

    new = valid_name(new)  # the one rule for names, checked before the store is opened
    with _open_store() as store:
        store.require(old)
        store.rename(old, new)
    typer.echo(f"Renamed '{old}' to '{new}'.")


@app.command("delete", cls=MmcliCommand)
@exits_cleanly
def delete(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a session and its messages. Asks first when run in a terminal (--yes skips that).

    Examples:

      mmcli sessions delete japan-2027

      mmcli sessions delete japan-2027 --yes
    """
    from .. import terminal
    from ..errors import Interrupted

    with _open_store() as store:
        info = store.require(name)
        if not yes and terminal.current().stdin_isatty:
            noun = "turn" if info.turns == 1 else "turns"
            try:
                confirmed = typer.confirm(f"Delete session '{info.name}' ({info.turns} {noun})?", default=False)
            except typer.Abort:  # Ctrl-C or Ctrl-D at the question
                raise Interrupted("Interrupted; nothing was deleted.") from None
            if not confirmed:
                typer.echo("Nothing deleted.", err=True)
                return
        store.delete(info.name)
    typer.echo(f"Deleted '{info.name}'.")
