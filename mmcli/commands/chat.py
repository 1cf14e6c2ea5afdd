"""`mmcli chat`: one-shot answers, piped input, sessions, and the REPL."""

from __future__ import annotations

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
    video_options,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..conversation import Message, ModelRef

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
    from .common import Asking, check_output_modes, combine_prompt, read_piped_text, stdin_is_piped

    if session and continue_:
        from ..errors import UsageError

        raise UsageError("Give either -S NAME (a named session) or -c (the most recent one), not both.")
    asking = Asking(role, model=model, system=system, temperature=temperature, schema=schema)
    check_output_modes(asking.schema, extract, extract_all)
    model, system, temperature = asking.model, asking.system, asking.temperature
    config = config_module.load()
    stdin_is_a_file = "-" in [*(image or []), *(audio or []), *(file or []), *(video or []), *(fragment or [])]
    piped = read_piped_text() if stdin_is_piped() and not stdin_is_a_file else None
    text = combine_prompt(prompt, piped)
    if not text and not (image or audio or file or video or fragment):
        if prompt is None and piped is None and stdout_is_terminal():
            if asking.schema is not None or extract or extract_all:
                from ..errors import UsageError

                raise UsageError("--schema, -x and --extract-all work on one question; give a PROMPT.")
            from ..repl import run_repl

            run_repl(config, model=model, system=system, session=session, continue_=continue_,
                     temperature=temperature, max_tokens=max_tokens)
            return
        from ..errors import UsageError

        raise UsageError('The prompt is empty; give one, e.g. mmcli chat "Hello", or pipe text in.')

    one_shot(
        config,
        asking.prompt(text),
        model=model,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        attachments={
            "images": image, "audio": audio, "files": file, "videos": video, "fragments": fragment,
            "timeout": timeout or config.timeout,
        },
        options={**video_options(fps, max_frames), **asking.options()},
        session=session,
        continue_=continue_,
        stream=not no_stream,
        use_cache=not no_cache,
        json_output=json_output,
        fallback=fallback,
        timeout=timeout,
        extract="all" if extract_all else "first" if extract else None,
    )


chat.__doc__ = (chat.__doc__ or "") + "\n" + EXAMPLES


def one_shot(
    config: Config,
    text: str,
    *,
    model: str | None,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    attachments: dict[str, list[str] | None],
    session: str | None,
    continue_: bool,
    stream: bool,
    use_cache: bool,
    json_output: bool,
    fallback: list[str] | None,
    timeout: float | None,
    options: dict[str, object] | None = None,
    extract: str | None = None,
) -> None:
    """One question, one answer. The question is in the session before the request
    leaves and the answer is kept as it grows, so no ending (an error, Ctrl-C,
    SIGTERM, a closed terminal or pipe, SIGKILL) loses what was said."""
    from .. import engine, render
    from ..conversation import SCHEMA_OPTION, Request
    from ..providers import registry
    from ..store.db import StoreError
    from .common import print_data, print_extracted, print_json, resolve_models, user_message

    history: list[Message] = []
    store = info = ref = None
    recorder = None
    created = False
    # The options given on this command line; a resumed session's stored ones fill the rest.
    from ..store.sessions import session_options

    given = session_options(temperature, max_tokens)
    try:
        if session or continue_:
            store, info = open_session(config, session, continue_)
            if info is not None:
                history = store.messages(info.name)
                system = system if system is not None else info.system
                temperature = temperature if temperature is not None else info.options.get("temperature")
                max_tokens = max_tokens if max_tokens is not None else info.options.get("max_tokens")
        ref = _choose_model(config, model, info)
        turn = user_message(text, **attachments)
        request = Request(
            model=ref,
            messages=[*history, turn],
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            options=dict(options or {}),
        )
        registry.check_accepts(ref, turn.media_kinds())  # earlier turns: fit_to_model leaves out what it cannot take
        # A -t given now must suit the model; one the session stored is left out, with a note, if it does not.
        request = engine.fit_options(request, engine.warn, strict="temperature" in given)
        if history:
            from ..context_window import fit_to_model

            request = fit_to_model(request, notify=engine.warn)

        structured = SCHEMA_OPTION in request.options
        quiet = json_output or structured or extract is not None  # printed whole once it is in (and checked)
        sink = engine.NullSink() if quiet else render.make_sink(stream=stream)
        store_failure: StoreError | None = None
        try:
            store, info, created = _keep_session(config, store, info, session, ref, system, text, given)
            store.append(info.name, turn, model=str(ref))
        except StoreError as exc:  # a full or read-only disk must not cost the answer
            store_failure = exc
        else:
            from ..store.recorder import AnswerRecorder

            sink = recorder = AnswerRecorder(store, info.name, sink)
        fallbacks = resolve_models(fallback if fallback is not None else config.fallback, config)
        try:
            answer = engine.answer(
                request, config, sink, fallbacks=fallbacks, use_cache=use_cache and not history, timeout=timeout
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
    config: Config, store, info, name: str | None, ref: ModelRef, system: str | None, text: str, given: dict
):
    """The session this turn goes into (created when new; every one-shot is kept, under an
    automatic name without -S, so `-c` continues it), and whether it was created now.

    ``given``: the options (-t, --max-tokens) on this command line, kept with the session."""
    from ..store.sessions import SessionStore

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


def _choose_model(config: Config, model: str | None, info: object) -> ModelRef:
    from ..providers import registry

    if model is None and info is not None:
        return registry.parse_model(info.model, config)  # type: ignore[attr-defined]  # a resumed session keeps its model
    return registry.resolve(model, config)


def open_session(config: Config, name: str | None, continue_: bool):  # type: ignore[no-untyped-def]
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
