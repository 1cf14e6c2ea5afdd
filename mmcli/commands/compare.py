"""`mmcli compare`: one prompt to several models at once, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import exits_cleanly
from .common import (
    AudioOption,
    FileOption,
    ImageOption,
    JsonOption,
    MaxTokensOption,
    NoCacheOption,
    SystemOption,
    TemperatureOption,
    TimeoutOption,
)

if TYPE_CHECKING:
    from ..compare_view import Column
    from ..config import Config
    from ..conversation import ModelRef, Request

# -m is repeatable here, unlike chat's single ModelOption.
ModelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "-m",
        "--model",
        help="provider:model, bare name or alias; repeat for each model (default: every provider with a key set).",
    ),
]


# Rough cost of importing each provider's SDK (anthropic's is the slowest by far).
# Imports hold the GIL, so loading them one at a time, cheapest first, lets the
# first requests go out while the other SDKs load instead of all waiting for all.
_IMPORT_ORDER = {"openai": 0, "perplexity": 0, "ollama": 0, "compat": 0, "gemini": 1, "vertex": 1, "anthropic": 2}
_GATE_TIMEOUT_S = 10.0


@exits_cleanly
def compare(
    prompt: Annotated[str | None, typer.Argument(help="The prompt; piped stdin follows it as its subject.")] = None,
    model: ModelsOption = None,
    system: SystemOption = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    image: ImageOption = None,
    audio: AudioOption = None,
    file: FileOption = None,
    no_cache: NoCacheOption = False,
    json_output: JsonOption = False,
    timeout: TimeoutOption = None,
) -> None:
    """Send one prompt to several models at once and show their answers side by side.

    All requests start together and stream independently; a summary table
    follows (time to first token, total time, tokens, tokens/s, estimated
    cost). One model failing does not stop the others: exit code 1 when any
    failed, 0 when all answered.

    Examples:

      mmcli compare "Explain CRDTs in 5 sentences" -m openai:gpt-4o-mini -m claude-haiku-4-5 -m gemini-2.5-flash

      mmcli compare "What is in this picture?" -i street.jpg -m gpt-4o -m claude-sonnet-4-5

      mmcli compare "Summarise" < notes.txt    (every provider with a key set, default model each)

      mmcli compare "Haiku about rain" -m gpt-4o-mini -m sonar --json | jq '.results[] | {model, total_s}'
    """
    from .. import config as config_module
    from ..conversation import Request
    from ..errors import UsageError
    from .common import check_temperature, combine_prompt, read_piped_text, stdin_is_piped, user_message

    check_temperature(temperature)
    config = config_module.load()
    refs = _models(model, config)
    stdin_media = "-" in (image or []) + (audio or []) + (file or [])
    piped = read_piped_text() if stdin_is_piped() and not stdin_media else None
    text = combine_prompt(prompt, piped)
    if not text and not (image or audio or file):
        raise UsageError('The prompt is empty; give one, e.g. mmcli compare "Hello" -m A -m B, or pipe text in.')
    turn = user_message(text, images=image, audio=audio, files=file)
    request = Request(model=refs[0], messages=[turn], system=system, temperature=temperature, max_tokens=max_tokens)
    columns, interrupted = run(request, refs, config, json_output=json_output, use_cache=not no_cache, timeout=timeout)
    if json_output:
        from .common import print_json

        print_json({"prompt": text, "results": [_result_json(c) for c in columns]})
    if interrupted:
        from ..errors import Interrupted

        raise Interrupted("Interrupted; the answers that had arrived are shown.")
    _exit_status(columns)


def _models(specs: list[str] | None, config: Config) -> list[ModelRef]:
    """The models given (duplicates dropped), else every provider with a key set, default model each.

    Unknown providers and aliases fail here (exit 3), before any request.
    """
    from ..providers import registry

    if specs:
        refs = [registry.parse_model(spec, config) for spec in specs]
        return list(dict.fromkeys(refs))
    keyed = [
        registry.ModelRef(provider, registry.default_model_of(provider))
        for provider in registry.DEFAULT_PROVIDER_ORDER
        if registry.has_credentials(provider, config)
    ]
    return keyed or [registry.resolve(None, config)]


def run(
    request: Request,
    refs: list[ModelRef],
    config: Config,
    *,
    json_output: bool,
    use_cache: bool,
    timeout: float | None,
) -> tuple[list[Column], bool]:
    """Answer ``request`` with every model at once, each in its own thread with its own Column.

    Returns the columns and whether Ctrl-C cut the wait short (unfinished
    columns then hold what had arrived, marked as errors).
    """
    import sys
    import threading
    from dataclasses import replace

    from .. import compare_view, render
    from ..errors import EXIT_INTERRUPTED

    columns = [compare_view.Column(ref) for ref in refs]
    view: compare_view.View
    if json_output:
        view = compare_view.QuietView()
    elif render.stdout_is_terminal():
        view = compare_view.LiveView(columns, render.terminal_console(), notes=render.stderr_console())
    else:
        view = compare_view.PlainView(columns)
    for column in columns:
        column.view = view
    notes: list[str] = []

    # Each worker waits until the one before it in import order has its SDK loaded.
    order = sorted(range(len(refs)), key=lambda i: _IMPORT_ORDER.get(refs[i].provider, 0))
    previous = {order[k]: columns[order[k - 1]] for k in range(1, len(order))}

    def work(index: int) -> None:
        column = columns[index]
        before = previous.get(index)
        if before is not None:
            before.ready.wait(_GATE_TIMEOUT_S)
        _answer_into(column, replace(request, model=column.ref), config, use_cache, timeout, notes)

    threads = [
        threading.Thread(target=work, args=(i,), name=f"compare-{ref}", daemon=True) for i, ref in enumerate(refs)
    ]
    interrupted = False
    view.start()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # a short wait, so Ctrl-C reaches this thread
    except KeyboardInterrupt:
        interrupted = True
        for column in columns:
            if not column.done:
                column.fail(compare_view.ERROR, "Interrupted before the answer was complete.", EXIT_INTERRUPTED)
    view.stop()
    for note in dict.fromkeys(notes):
        print(note, file=sys.stderr, flush=True)
    return columns, interrupted


def _answer_into(
    column: Column, request: Request, config: Config, use_cache: bool, timeout: float | None, notes: list[str]
) -> None:
    """One model's answer into its column; any failure becomes that column's error."""
    from .. import compare_view, engine
    from ..errors import EXIT_PROVIDER, MmcliError, UsageError, one_sentence

    try:
        engine.answer(request, config, column, fallbacks=(), use_cache=use_cache, timeout=timeout, notify=notes.append)
    except UsageError as exc:  # this model cannot take the input (check_accepts)
        column.fail(compare_view.REFUSED, exc.message, exc.exit_code)
    except MmcliError as exc:
        column.fail(compare_view.ERROR, exc.message, exc.exit_code, getattr(exc, "answer", None))
    except Exception as exc:  # an unexpected bug must not take the other models down
        message = f"Unexpected error ({exc.__class__.__name__}: {one_sentence(str(exc)).rstrip('.')})."
        column.fail(compare_view.ERROR, message, EXIT_PROVIDER)


def _result_json(column: Column) -> dict[str, object]:
    """Answer.to_json's object with the column's status and error; a failed model keeps
    whatever text had arrived, and costs null (nothing complete was bought)."""
    from ..engine import Answer

    answer = column.answer or Answer(model=column.ref, text=column.text)
    document: dict[str, object] = {
        "model": column.ref.name,
        "provider": column.ref.provider,
        "answer": answer.text,
        "status": column.status,
        "error": column.error,
    }
    document.update({k: v for k, v in answer.to_json(None).items() if k not in document})
    document["total_s"] = None if column.total_s is None else round(column.total_s, 3)
    if column.status != "ok":
        document["cost_usd"] = None
    return document


def _exit_status(columns: list[Column]) -> None:
    """0 when every model answered; else each failure on stderr and exit 1 (or the shared
    code when every model failed the same way: 2 all refused the input, 3 all lacked a key)."""
    from ..errors import report

    failed = [c for c in columns if c.status != "ok"]
    if not failed:
        return
    for column in failed:
        error = column.error or "failed."
        report(error if error.startswith(str(column.ref)) else f"{column.ref}: {error}")
    codes = {c.exit_code for c in failed}
    code = codes.pop() if len(failed) == len(columns) and len(codes) == 1 else 1
    raise SystemExit(code)
