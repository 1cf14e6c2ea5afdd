"""`mmcli compare`: one prompt to several models at once, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..completion import complete_models
from ..errors import exits_cleanly
from .common import (
    AudioOption,
    FileOption,
    FpsOption,
    FragmentOption,
    ImageOption,
    JsonOption,
    MaxFramesOption,
    MaxTokensOption,
    NoCacheOption,
    RoleOption,
    SchemaOption,
    SystemOption,
    TemperatureOption,
    TimeoutOption,
    VideoOption,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..compare_view import Column
    from ..config import Config
    from ..conversation import ModelRef, Request

# -m is repeatable here, unlike chat's single ModelOption.
ModelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        help="provider:model, bare name or alias; repeat for each model (default: every provider with a key set).",
        autocompletion=complete_models,
    ),
]


@exits_cleanly
def compare(
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt; piped stdin follows it as its subject.", metavar="PROMPT")
    ] = None,
    model: ModelsOption = None,
    system: SystemOption = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    image: ImageOption = None,
    audio: AudioOption = None,
    file: FileOption = None,
    fragment: FragmentOption = None,
    video: VideoOption = None,
    fps: FpsOption = None,
    max_frames: MaxFramesOption = None,
    no_cache: NoCacheOption = False,
    json_output: JsonOption = False,
    timeout: TimeoutOption = None,
    role: RoleOption = None,
    schema: SchemaOption = None,
) -> None:
    """Send one prompt to several models at once and show their answers side by side.

    All requests start together and stream independently; a summary table
    follows (time to first token, the answer's total time, the wall time since
    the command started, tokens, tokens/s, estimated cost). One model failing
    does not stop the others: exit code 1 when any failed, 0 when all answered.

    Examples:

      mmcli compare "Explain CRDTs in 5 sentences" -m openai:gpt-4o-mini -m claude-haiku-4-5 -m gemini-2.5-flash

      mmcli compare "What is in this picture?" -i street.jpg -m gpt-4o -m claude-sonnet-4-5

      mmcli compare "What happens?" -v clip.mp4 -m gemini-2.5-flash -m gpt-4o    (Gemini watches, GPT gets frames)

      mmcli compare "Summarise this README" -f README.md -m gpt-4o-mini -m claude-haiku-4-5

      mmcli compare "Summarise" < notes.txt    (every provider with a key set, default model each)

      mmcli compare "Haiku about rain" -m gpt-4o-mini -m sonar --json | jq '.results[] | {model, total_s}'

      mmcli compare "The tallest mountain" --schema 'name, height_m int' -m gpt-4o-mini -m gemini-2.5-flash --json
    """
    import time

    started = time.perf_counter()  # each model's wall time counts from here
    from .. import config as config_module
    from ..errors import UsageError
    from ..request_options import Flags, build_request, options_for, user_turn
    from .common import combine_prompt, read_piped_text, stdin_is_piped

    flags = Flags.of(
        models=model, system=system, temperature=temperature, max_tokens=max_tokens, role=role, schema=schema,
        images=image, audio=audio, files=file, videos=video, fragments=fragment, fps=fps, max_frames=max_frames,
        timeout=timeout,
    )
    config = config_module.load()
    # Unknown providers and aliases fail here (exit 3), before any request; without -m (nor a role's
    # model), every provider with a key set, each with its default model.
    options = options_for(config, flags, per_model=True)
    refs = list(options.models)
    piped = read_piped_text() if stdin_is_piped() and "-" not in flags.media_sources else None
    text = combine_prompt(prompt, piped)
    if not text and not flags.media_sources:
        raise UsageError('The prompt is empty; give one, e.g. mmcli compare "Hello" -m A -m B, or pipe text in.')
    text = flags.prompt(text)
    request = build_request(options, [user_turn(options, text)])
    columns, interrupted = run(
        request, refs, config, json_output=json_output, use_cache=not no_cache, timeout=timeout, started=started
    )
    if json_output:
        from .common import print_json

        print_json({"prompt": text, "results": [_result_json(c, options.schema) for c in columns]})
    if interrupted:
        from ..errors import Interrupted

        raise Interrupted("Interrupted; the answers that had arrived are shown.")
    _exit_status(columns)


def run(
    request: Request,
    refs: list[ModelRef],
    config: Config,
    *,
    json_output: bool,
    use_cache: bool,
    timeout: float | None,
    started: float | None = None,
) -> tuple[list[Column], bool]:
    """Answer ``request`` with every model at once (concurrency.Calls), each into its own Column.

    Returns the columns and whether Ctrl-C cut the wait short (unfinished
    columns then hold what had arrived, marked as errors; the calls still
    running are cancelled, so nothing more reaches the view).
    """
    from dataclasses import replace

    from .. import compare_view, render
    from ..concurrency import Calls
    from ..errors import EXIT_INTERRUPTED

    columns = [compare_view.Column(ref, command_started=started) for ref in refs]
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
    calls = Calls(len(refs), name="mmcli-compare")

    # Every model starts at once. Without a warm worker each thread imports its SDK first;
    # ordering those imports (one SDK after another) measured slower than letting them
    # interleave (bench/bench_compare.py, README "How fast").
    def task(index: int) -> Callable[[], None]:
        def work() -> None:
            sink = calls.guard(columns[index])  # after Ctrl-C nothing more reaches the view
            _answer_into(sink, replace(request, model=refs[index]), config, use_cache, timeout, notes.append)

        return work

    interrupted = False
    view.start()
    try:
        for _ in calls.completed([task(i) for i in range(len(refs))]):
            pass
    except KeyboardInterrupt:
        interrupted = True
        for column in columns:
            if not column.done:
                column.fail(compare_view.ERROR, "Interrupted before the answer was complete.", EXIT_INTERRUPTED)
    view.stop()
    from ..errors import report

    for note in dict.fromkeys(notes):
        report(note)
    return columns, interrupted


def _answer_into(
    column: Column, request: Request, config: Config, use_cache: bool, timeout: float | None,
    note: Callable[[str], None],
) -> None:
    """One model's answer into its column; any failure becomes that column's error."""
    from .. import compare_view, engine
    from ..errors import EXIT_PROVIDER, MmcliError, UsageError, one_sentence

    try:
        # strict_options=False: a -t one column's model cannot take is left out there, with a note.
        engine.answer(
            request, config, column, fallbacks=(), use_cache=use_cache, timeout=timeout, notify=note,
            strict_options=False,
        )
    except UsageError as exc:  # this model cannot take the input (check_accepts)
        column.fail(compare_view.REFUSED, exc.message, exc.exit_code)
    except MmcliError as exc:
        column.fail(compare_view.ERROR, exc.message, exc.exit_code, getattr(exc, "answer", None))
    except Exception as exc:  # an unexpected bug must not take the other models down
        message = f"Unexpected error ({exc.__class__.__name__}: {one_sentence(str(exc)).rstrip('.')})."
        column.fail(compare_view.ERROR, message, EXIT_PROVIDER)


def _result_json(column: Column, schema: dict[str, object] | None = None) -> dict[str, object]:
    """Answer.to_json's object with the column's status and error; a failed model keeps
    whatever text had arrived, and costs null (nothing complete was bought). With
    --schema, "data" is the parsed document of an answer that fits it (else null)."""
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
    document["wall_s"] = None if column.wall_s is None else round(column.wall_s, 3)
    if column.status != "ok":
        document["cost_usd"] = None
    if schema is not None:
        from ..schema import SchemaError, load_answer

        try:
            document["data"] = load_answer(answer.text, schema) if column.status == "ok" else None
        except SchemaError:
            document["data"] = None
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
