"""`mmcli chat`: one-shot answers, piped input, sessions, and the REPL."""

# No `from __future__ import annotations` here: Typer reads chat's 26 parameter
# annotations on every run, and as strings each one is compiled and evaluated
# (2 ms of every one-shot); written out, they are objects already.
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import exits_cleanly
from .common import (
    AudioOption,
    ExtractAllOption,
    ExtractOption,
    FallbackOption,
    FileOption,
    FpsOption,
    FragmentOption,
    ImageOption,
    JsonOption,
    MaxFramesOption,
    MaxTokensOption,
    ModelOption,
    NoCacheOption,
    NoStreamOption,
    RoleOption,
    SchemaOption,
    SystemOption,
    TemperatureOption,
    TimeoutOption,
    VideoOption,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..conversation import Message
    from ..request_options import Flags, RequestOptions

EXAMPLES = """
Examples:

  mmcli chat "Explain Python's GIL in three bullet points"

  git diff | mmcli chat "Write a commit message for this diff"

  mmcli chat -m gemini:gemini-2.5-flash "Hello" > answer.md

  mmcli chat -i diagram.png -a question.mp3 "Answer the spoken question"

  mmcli chat -v clip.mp4 "What happens after the dog enters?"

  mmcli chat -f src/ -f https://example.org/api.html "Where is the retry logic?"

  mmcli chat -S trip-planning "And in March?"

  mmcli chat --schema 'name, born int, known_for' "A famous physicist"

  mmcli chat -x "a jq filter that sums .price" | tee f.jq

  git diff --staged | mmcli chat -r commit

  mmcli chat            (bare, in a terminal: an interactive conversation)
"""


@exits_cleanly
def chat(
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt; piped stdin follows it as its subject.", metavar="PROMPT")
    ] = None,
    model: ModelOption = None,
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
    session: Annotated[
        str | None, typer.Option("-S", "--session", help="Named session: created, or resumed with its history.")
    ] = None,
    continue_: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the most recently used session.")
    ] = False,
    no_stream: NoStreamOption = False,
    no_cache: NoCacheOption = False,
    json_output: JsonOption = False,
    fallback: FallbackOption = None,
    timeout: TimeoutOption = None,
    role: RoleOption = None,
    schema: SchemaOption = None,
    extract: ExtractOption = False,
    extract_all: ExtractAllOption = False,
) -> None:
    """Ask a model: one-shot with a PROMPT or piped stdin, interactive when run bare in a terminal."""
    from .. import config as config_module
    from ..render import stdout_is_terminal
    from ..request_options import Flags
    from .common import check_output_modes, combine_prompt, read_piped_text, stdin_is_piped

    if session and continue_:
        from ..errors import UsageError

        raise UsageError("Give either -S NAME (a named session) or -c (the most recent one), not both.")
    flags = Flags.of(
        model=model, system=system, temperature=temperature, max_tokens=max_tokens, role=role, schema=schema,
        fallback=fallback, images=image, audio=audio, files=file, videos=video, fragments=fragment, fps=fps,
        max_frames=max_frames, timeout=timeout,
    )
    check_output_modes(flags.parsed_schema, extract, extract_all)
    config = config_module.load()
    piped = read_piped_text() if stdin_is_piped() and "-" not in flags.media_sources else None
    text = combine_prompt(prompt, piped)
    if not text and not flags.media_sources:
        if prompt is None and piped is None and stdout_is_terminal():
            if flags.parsed_schema is not None or extract or extract_all:
                from ..errors import UsageError

                raise UsageError("--schema, -x and --extract-all work on one question; give a PROMPT.")
            from ..repl import run_repl

            run_repl(config, flags, session=session, continue_=continue_)
            return
        from ..errors import UsageError

        raise UsageError('The prompt is empty; give one, e.g. mmcli chat "Hello", or pipe text in.')

    one_shot(
        config,
        flags.prompt(text),
        flags,
        session=session,
        continue_=continue_,
        stream=not no_stream,
        use_cache=not no_cache,
        json_output=json_output,
        timeout=timeout,
        extract="all" if extract_all else "first" if extract else None,
    )


chat.__doc__ = (chat.__doc__ or "") + "\n" + EXAMPLES


def one_shot(
    config: "Config",
    text: str,
    flags: "Flags",
    *,
    session: str | None,
    continue_: bool,
    stream: bool,
    use_cache: bool,
    json_output: bool,
    timeout: float | None,
    extract: str | None = None,
) -> None:
    """One question, one answer. The question is in the session before the request
    leaves and the answer is kept as it grows, so no ending (an error, Ctrl-C,
    SIGTERM, a closed terminal or pipe, SIGKILL) loses what was said."""
    from .. import engine, render
    from ..conversation import SCHEMA_OPTION
    from ..providers import registry
    from ..request_options import build_request, options_for, user_turn
    from ..store.db import StoreError
    from .common import print_data, print_extracted, print_json

    history: list[Message] = []
    store = info = ref = None
    recorder = offered = None
    created = False
    try:
        if session or continue_:
            store, info = open_session(config, session, continue_)
            if info is not None:
                history = store.messages(info.name)
        # The flags, the role, then what a resumed session stored, then config.toml.
        options = options_for(config, flags, info)
        ref = options.model
        turn = user_turn(options, text)
        registry.check_accepts(ref, turn.media_kinds())  # earlier turns: fit_to_model leaves out what it cannot take
        request = build_request(options, [*history, turn], notify=engine.warn)
        # The warm worker readies the call while the question is stored and the cache looked in.
        offered = engine.offer(request, config, timeout)

        structured = SCHEMA_OPTION in request.options
        quiet = json_output or structured or extract is not None  # printed whole once it is in (and checked)
        sink = engine.NullSink() if quiet else render.make_sink(stream=stream)
        store_failure: StoreError | None = None
        try:
            store, info, created = _keep_session(config, store, info, session, options, text)
            store.append(info.name, turn, model=str(ref))
        except StoreError as exc:  # a full or read-only disk must not cost the answer
            store_failure = exc
        else:
            from ..store.recorder import AnswerRecorder

            sink = recorder = AnswerRecorder(store, info.name, sink)
        try:
            answer = engine.answer(
                request, config, sink, fallbacks=options.fallbacks, use_cache=use_cache and not history,
                timeout=timeout, offered=offered,
            )
        except BaseException as exc:
            partial = getattr(exc, "answer", None)
            if recorder is not None:
                if partial is None and created and not isinstance(exc, KeyboardInterrupt):
                    store.delete(info.name)  # nothing was answered: no session to litter `-c` with
                    info = None
                else:
                    recorder.settle(partial)
            if json_output and isinstance(exc, Exception):
                print_json(_failure_document(exc, partial, ref, info))
                exc.documented = True  # type: ignore[attr-defined]
            raise
        if recorder is not None:
            recorder.settle(answer)
        if json_output:
            document = answer.to_json(info.name if info else None)
            if store_failure is not None:  # answered, but not kept: the run fails with this sentence
                document["error"] = store_failure.message
            print_json(document)
        elif structured:
            print_data(answer.data)
        elif extract is not None:
            print_extracted(answer.text, every=extract == "all")
        if store_failure is not None:
            store_failure.documented = True  # type: ignore[attr-defined]
            raise store_failure
    except Exception as exc:
        if json_output and not getattr(exc, "documented", False):
            print_json(_failure_document(exc, None, ref, None))  # failed before the request
        raise
    finally:
        if offered is not None:
            offered.withdraw()  # never let go: failed before the call (no-op once answered)
        if store is not None:
            store.close()


def _failure_document(exc: BaseException, partial, ref, info) -> dict:  # type: ignore[no-untyped-def]
    """`--json` on a failed run: still exactly one document, with the sentence in "error"."""
    from .. import engine
    from ..errors import MmcliError

    sentence = exc.message if isinstance(exc, MmcliError) else f"{exc.__class__.__name__}: {exc}"
    if partial is None:
        document = engine.Answer(model=ref).to_json(info.name if info else None)
        if ref is None:
            document["model"] = document["provider"] = None
    else:
        document = partial.to_json(info.name if info else None)
    document["error"] = sentence
    document["finish_reason"] = document["finish_reason"] or "error"
    return document


def _keep_session(  # type: ignore[no-untyped-def]
    config: "Config", store, info, name: str | None, options: "RequestOptions", text: str
):
    """The session this turn goes into (created when new; every one-shot is kept, under an
    automatic name without -S, so `-c` continues it), and whether it was created now.

    The options given on this command line (-t, --max-tokens, --schema, a role ...) are kept with it."""
    from ..store.sessions import SessionStore

    ref, system, given = options.model, options.system, options.kept()
    if store is None:
        store = SessionStore(config.data_dir)
        return store, store.create(None, str(ref), system=system, first_prompt=text, options=given), True
    if info is None:
        # get_or_create: another process may be starting the same named session right now.
        info, created = store.get_or_create(name, str(ref), system=system, options=given)
        return store, info, created
    # -m / -s / -t / --max-tokens on a resumed session become its settings, as /model and /system do in the REPL.
    if str(ref) != info.model:
        store.set_model(info.name, str(ref))
    if system != info.system:
        store.set_system(info.name, system)
    if {**info.options, **given} != info.options:
        store.set_options(info.name, {**info.options, **given})
    return store, info, False


def open_session(config: "Config", name: str | None, continue_: bool):  # type: ignore[no-untyped-def]
    """The session store and the session to resume (None when -S names a new one)."""
    from ..errors import UsageError
    from ..store.sessions import SessionStore

    store = SessionStore(config.data_dir)
    if name:
        return store, store.get(name)
    info = store.most_recent()
    if info is None:
        store.close()
        raise UsageError('There is no session to continue yet; start one with mmcli chat -S NAME "...".')
    return store, info
