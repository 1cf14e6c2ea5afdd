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
    from multiprocessing.connection import Connection

    from ..compare_view import Column
    from ..config import Config
    from ..conversation import ModelRef, Request
    from ..engine import Answer

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


# Models are grouped by the SDK they load (registry.sdk_group), cheapest import first. Importing an SDK costs
# hundreds of milliseconds of CPU (anthropic's well over a second), and imports
# in threads are serialised by the GIL. So the first SDK's models run in this
# process's threads, and every other SDK's models in a forked worker process
# that imports its SDK on the other core meanwhile; the workers stream their
# events back through a pipe.
_GATE_TIMEOUT_S = 10.0


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
    """Answer ``request`` with every model at once, each in its own thread with its own Column.

    Returns the columns and whether Ctrl-C cut the wait short (unfinished
    columns then hold what had arrived, marked as errors).
    """
    import threading
    from dataclasses import replace

    from .. import compare_view, render
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

    def answer(index: int, sink: object, note: Callable[[str], None]) -> None:
        _answer_into(sink, replace(request, model=refs[index]), config, use_cache, timeout, note)  # type: ignore[arg-type]

    groups = _sdk_groups(refs)
    local, remote = groups[0], groups[1:]
    if not _can_fork():
        local, remote = [i for g in groups for i in g], []
    workers = [_Worker(group, columns, answer, notes) for group in remote]  # forked before any thread starts
    # Within this process, each model waits until the one before it has its SDK loaded.
    previous = {local[k]: columns[local[k - 1]] for k in range(1, len(local))}

    def work(index: int) -> None:
        before = previous.get(index)
        if before is not None:
            before.ready.wait(_GATE_TIMEOUT_S)
        answer(index, columns[index], notes.append)

    threads = [threading.Thread(target=work, args=(i,), name=f"compare-{refs[i]}", daemon=True) for i in local]
    threads += [worker.relay for worker in workers]
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
    finally:
        for worker in workers:
            worker.stop()
    view.stop()
    from ..errors import report

    for note in dict.fromkeys(notes):
        report(note)
    return columns, interrupted


def _sdk_groups(refs: list[ModelRef]) -> list[list[int]]:
    """Indexes of ``refs`` grouped by the SDK they load, cheapest import first."""
    from ..providers import registry

    groups: dict[int, list[int]] = {}
    for index, ref in enumerate(refs):
        groups.setdefault(registry.sdk_group(ref.provider), []).append(index)
    return [groups[key] for key in sorted(groups)]


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class _Pipe:
    """The sending end shared by a worker's threads (Connection.send is not thread-safe)."""

    def __init__(self, conn: Connection) -> None:
        import threading

        self.conn, self.lock = conn, threading.Lock()

    def send(self, kind: str, index: int, payload: object) -> None:
        with self.lock:
            self.conn.send((kind, index, payload))


class _RemoteSink:
    """The engine Sink inside a worker process: every event goes down the pipe."""

    def __init__(self, index: int, pipe: _Pipe) -> None:
        self.index, self.pipe = index, pipe

    def begin(self, model: ModelRef) -> None:
        self.pipe.send("begin", self.index, model)

    def delta(self, text: str) -> None:
        self.pipe.send("delta", self.index, text)

    def finish(self, answer: Answer) -> None:
        self.pipe.send("finish", self.index, answer)

    def abort(self, answer: Answer) -> None:
        self.pipe.send("abort", self.index, answer)

    def fail(self, status: str, message: str, exit_code: int, partial: Answer | None = None) -> None:
        self.pipe.send("fail", self.index, (status, message, exit_code, partial))


class _Worker:
    """A forked process answering one SDK's models; a relay thread replays its events
    onto the real columns here, so views never know the difference."""

    def __init__(self, indexes: list[int], columns: list[Column], answer: Callable, notes: list[str]) -> None:
        import multiprocessing
        import threading

        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_worker_main, args=(indexes, sender, answer), daemon=True)
        self.process.start()
        sender.close()
        self.columns, self.notes = columns, notes
        self.relay = threading.Thread(target=self._relay, name="compare-relay", daemon=True)

    def _relay(self) -> None:
        while True:
            try:
                kind, index, payload = self.receiver.recv()
            except (EOFError, OSError):
                return
            if kind == "note":
                self.notes.append(payload)
            elif kind == "fail":
                self.columns[index].fail(*payload)
            else:
                getattr(self.columns[index], kind)(payload)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(1.0)


def _worker_main(indexes: list[int], conn: Connection, answer: Callable) -> None:
    import signal
    import threading

    # Ctrl-C is the parent's to handle: it records the interruption and stops this worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    pipe = _Pipe(conn)

    def note(text: str) -> None:
        pipe.send("note", -1, text)

    threads = [threading.Thread(target=answer, args=(i, _RemoteSink(i, pipe), note), daemon=True) for i in indexes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        conn.close()


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
