"""`mmcli analyze-image`: describe, or answer a question about, one or many images.

One image streams like `chat`. Several images are a batch: every image is
loaded and validated first, in this thread, so a bad file is reported before
any request; then one request per image runs on a small pool of threads,
each through its own `engine.answer` call. Answers are printed in input order (JSON Lines as each
finishes); a bad image is reported and the batch goes on.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import exits_cleanly
from .common import (
    ExtractAllOption,
    ExtractOption,
    FallbackOption,
    FragmentOption,
    JsonOption,
    MaxTokensOption,
    ModelOption,
    NoCacheOption,
    NoStreamOption,
    RoleOption,
    SchemaOption,
    SystemOption,
    TemperatureOption,
    TimeoutOption,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..config import Config
    from ..conversation import ModelRef, Part, Request
    from ..engine import Answer
    from ..errors import MmcliError
    from ..request_options import RequestOptions

DEFAULT_PROMPT = "Describe this image in detail."
DEFAULT_CONCURRENCY = 4

EXAMPLES = """
Examples:

  mmcli analyze-image photo.jpg

  mmcli analyze-image receipt.png -P "Total amount and date, as JSON"

  mmcli analyze-image photos/*.jpg --json > captions.jsonl

  mmcli analyze-image receipts/*.jpg --schema 'merchant, date, total float' > receipts.jsonl

  mmcli analyze-image before.png after.png --together -P "What changed?"

  curl -s https://example.org/cat.webp | mmcli analyze-image -

  mmcli analyze-image https://example.org/chart.png -m anthropic:claude-sonnet-4-5

  mmcli analyze-image plot.png -f experiment.md -P "Does the plot match the notes?"

  mmcli analyze-image photos/*.jpg --batch -P "One-line alt text" -m openai:gpt-4o-mini
"""


@exits_cleanly
def analyze_image(
    images: Annotated[
        list[str],
        typer.Argument(help="Images: paths, http(s) URLs, or - for stdin.", show_default=False, metavar="IMG..."),
    ],
    prompt: Annotated[str, typer.Option("-P", "--prompt", help="What to ask about each image.")] = DEFAULT_PROMPT,
    model: ModelOption = None,
    system: SystemOption = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    fragment: FragmentOption = None,
    together: Annotated[
        bool, typer.Option("--together", help="Send all the images in one request, for questions about them all.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Requests in flight at once for several images.")
    ] = DEFAULT_CONCURRENCY,
    batch: Annotated[
        bool,
        typer.Option("--batch", help="Submit one request per image to the provider's batch API (half price, "
                     "answers within 24 h) and print the job id; see mmcli batch."),
    ] = False,
    json_output: JsonOption = False,
    no_stream: NoStreamOption = False,
    no_cache: NoCacheOption = False,
    fallback: FallbackOption = None,
    timeout: TimeoutOption = None,
    role: RoleOption = None,
    schema: SchemaOption = None,
    extract: ExtractOption = False,
    extract_all: ExtractAllOption = False,
) -> None:
    """Describe images, or answer a question (-P) about them. Several images run concurrently."""
    from .. import config as config_module
    from ..errors import UsageError
    from ..providers import registry
    from ..request_options import Flags, options_for
    from .common import check_output_modes

    flags = Flags.of(
        model=model, system=system, temperature=temperature, max_tokens=max_tokens, role=role, schema=schema,
        fallback=fallback, fragments=fragment, timeout=timeout,
    )
    check_output_modes(flags.parsed_schema, extract, extract_all)
    if not prompt.strip():
        raise UsageError('The prompt is empty; leave -P out for a description, or ask e.g. -P "What is written here?".')
    if images.count("-") > 1:
        raise UsageError("- (stdin) can be given only once: standard input holds one image.")
    if "-" in (fragment or []) and "-" in images:
        raise UsageError("- (stdin) can be given only once: give the image or the fragment on stdin, not both.")
    if batch:
        if fragment:
            raise UsageError("--batch does not take -f fragments yet; put the context in -P, or leave out --batch.")
        if together:
            raise UsageError("--batch sends one request per image; leave out --together.")
        from .batch import submit_images

        submit_images(images, flags.prompt(prompt), flags, json_output=json_output)
        return
    config = config_module.load()
    options = options_for(config, flags)
    registry.check_accepts(options.model, {"image"})
    fragments: list[Part] = []
    if fragment:
        from ..request_options import user_message

        fragments = user_message("", fragments=list(options.fragments), timeout=options.timeout).parts
    job = _Job(
        config=config,
        options=options,
        prompt=flags.prompt(prompt),
        use_cache=not no_cache,
        timeout=timeout,
        fragments=fragments,
        extract="all" if extract_all else "first" if extract else None,
    )
    if together:
        from .. import media

        parts = [media.load(source, expect="image") for source in images]
        _answer_one(job, parts, images, json_output=json_output, stream=not no_stream)
    elif len(images) == 1:
        part = _load_or_report(images[0], json_output, job.model)
        _answer_one(job, [part], images, json_output=json_output, stream=not no_stream)
    else:
        _run_batch(job, images, json_output=json_output, concurrency=concurrency)


analyze_image.__doc__ = (analyze_image.__doc__ or "") + "\n" + EXAMPLES


class _Job:
    """What every request of one invocation shares."""

    def __init__(
        self,
        *,
        config: Config,
        options: RequestOptions,
        prompt: str,
        use_cache: bool,
        timeout: float | None,
        fragments: list[Part] | None = None,
        extract: str | None = None,
    ) -> None:
        self.config = config
        self.options = options
        self.model = options.model
        self.fragments = list(fragments or ())
        self.prompt = prompt
        self.use_cache = use_cache
        self.timeout = timeout
        self.extract = extract  # None, "first" (-x) or "all" (--extract-all)

    @property
    def structured(self) -> bool:
        return self.options.schema is not None

    def request(self, parts: list[Part]) -> Request:
        # Fragments, then the prompt, then the images: the same message `chat -f F -i IMG PROMPT`
        # builds, so the two commands share cache entries.
        from ..conversation import Message, Part
        from ..request_options import build_request

        message = Message(role="user", parts=[*self.fragments, Part.of_text(self.prompt), *parts])
        return build_request(self.options, [message])

    def answer(self, parts: list[Part], sink: Any, notify: Callable[[str], None] | None = None) -> Answer:
        from .. import engine

        extra = {"notify": notify} if notify is not None else {}
        return engine.answer(
            self.request(parts),
            self.config,
            sink,
            fallbacks=self.options.fallbacks,
            use_cache=self.use_cache,
            timeout=self.timeout,
            **extra,
        )


def _record(model: ModelRef, answer: Answer | None, path: str | list[str], error: str | None) -> dict[str, Any]:
    """The `--json` object: the chat keys, plus which image and what went wrong."""
    from ..engine import Answer

    document = (answer or Answer(model=model)).to_json(None)
    if answer is None:
        document["answer"] = None
    document["paths" if isinstance(path, list) else "path"] = path
    document["error"] = error
    if error and not document["finish_reason"]:
        document["finish_reason"] = "error"
    return document


def _load_or_report(source: str, json_output: bool, model: ModelRef) -> Part:
    from .. import media
    from ..errors import UsageError
    from .common import print_json

    try:
        return media.load(source, expect="image")
    except UsageError as exc:
        if json_output:
            print_json(_record(model, None, source, exc.message))
        raise


def _answer_one(job: _Job, parts: list[Part], sources: list[str], *, json_output: bool, stream: bool) -> None:
    """One request (one image, or --together), streamed like `chat`."""
    from .. import engine, render
    from ..errors import MmcliError
    from .common import print_data, print_extracted, print_json

    path: str | list[str] = sources if len(sources) > 1 else sources[0]
    quiet = json_output or job.structured or job.extract is not None  # printed whole once it is in
    sink = engine.NullSink() if quiet else render.make_sink(stream=stream)
    try:
        answer = job.answer(parts, sink)
    except MmcliError as exc:
        if json_output:
            print_json(_record(job.model, getattr(exc, "answer", None), path, exc.message))
        raise
    if json_output:
        print_json(_record(job.model, answer, path, None))
    elif job.structured:
        print_data(answer.data)
    elif job.extract is not None:
        print_extracted(answer.text, every=job.extract == "all")


# --- batches ---------------------------------------------------------------------------------------


class _Item:
    def __init__(self, index: int, source: str) -> None:
        self.index = index
        self.source = source
        self.name = "stdin" if source == "-" else source
        self.part: Part | None = None
        self.answer: Answer | None = None
        self.error: MmcliError | None = None
        self.unreadable = False


def _load_all(sources: list[str]) -> list[_Item]:
    from .. import media
    from ..errors import UsageError

    items = []
    for index, source in enumerate(sources):
        item = _Item(index, source)
        try:
            item.part = media.load(source, expect="image")
        except UsageError as exc:
            item.error, item.unreadable = exc, True
        items.append(item)
    return items


def _run_batch(job: _Job, sources: list[str], *, json_output: bool, concurrency: int) -> None:
    from .. import terminal
    from ..errors import ProviderError, UsageError

    items = _load_all(sources)
    with _Progress(len(items), enabled=terminal.current().stderr_isatty) as progress:
        output = _BatchOutput(job.model, json_output, progress, structured=job.structured, extract=job.extract)
        for item in items:
            if item.unreadable:
                output.failed(item)
        _answer_all(job, [item for item in items if item.part is not None], output, concurrency)
    failed = [item for item in items if item.error is not None]
    if not failed:
        return
    summary = f"{len(items) - len(failed)} of {len(items)} images described; {len(failed)} failed"
    if all(item.unreadable for item in items):
        raise UsageError(f"{summary} (none could be read).")
    raise ProviderError(summary + ".")


def _answer_all(job: _Job, items: list[_Item], output: _BatchOutput, concurrency: int) -> None:
    """Answer the images ``concurrency`` at a time (concurrency.Calls), each handed to the output
    as it finishes (which prints text answers in input order); Ctrl-C leaves at once."""
    from ..concurrency import Calls
    from ..engine import NullSink
    from ..errors import EXIT_CONFIG, MmcliError

    calls = Calls(concurrency, name="mmcli-analyze")

    def task(item: _Item) -> Callable[[], _Item]:
        def work() -> _Item:
            assert item.part is not None
            try:
                item.answer = job.answer([item.part], calls.guard(NullSink()), notify=output.notifier(item))
            except MmcliError as exc:
                item.error = exc
            except Exception as exc:  # a bug must cost one image, not the batch
                item.error = MmcliError(f"Unexpected error ({exc.__class__.__name__}: {exc})")
            return item

        return work

    for _, item in calls.completed([task(item) for item in items]):
        if getattr(item.error, "exit_code", 0) == EXIT_CONFIG:
            # A missing or rejected key fails every image alike: say it once, with its own exit code.
            raise item.error  # type: ignore[misc]
        if item.error is not None:
            output.failed(item)
        else:
            output.done(item)


class _Progress:
    """A Rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from ..progress import progress_bar

            self.bar, self.task = progress_bar("Analysing images", self.total)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    @contextlib.contextmanager
    def hidden(self, *, when: bool) -> Iterator[None]:
        """Take the bar off the terminal while an answer is printed to the same terminal on stdout."""
        if self.bar is None or not when:
            yield
            return
        self.bar.stop()
        try:
            yield
        finally:
            self.bar.start()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def note(self, message: str) -> None:
        """A line on stderr that does not tear the bar."""
        if self.bar is not None:
            self.bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            import sys

            print(message, file=sys.stderr, flush=True)


class _BatchOutput:
    """Writes finished items: JSON Lines as they finish, text answers in input order."""

    def __init__(self, model: ModelRef, json_output: bool, progress: _Progress, *, structured: bool = False,
                 extract: str | None = None) -> None:
        from ..render import stdout_is_terminal

        self.structured = structured  # --schema: one JSON document a line, in input order
        self.extract = extract

        self.model = model
        self.json_output = json_output
        self.progress = progress
        self.terminal = stdout_is_terminal()
        self.console: Any = None
        self._waiting: dict[int, _Item] = {}
        self._next = 0
        self._printed = 0

    def notifier(self, item: _Item) -> Callable[[str], None]:
        return lambda message: self.progress.note(f"mmcli: {item.name}: {message}")

    def failed(self, item: _Item) -> None:
        assert item.error is not None
        message = item.error.message
        self.progress.note(f"mmcli: {message}" if item.unreadable else f"mmcli: {item.name}: {message}")
        self._finish(item)

    def done(self, item: _Item) -> None:
        if self.extract is not None and not self.json_output:
            from ..errors import MmcliError
            from ..extract import code_blocks

            assert item.answer is not None
            if not code_blocks(item.answer.text):
                item.error = MmcliError("The answer holds no fenced code block to extract.")
                self.failed(item)
                return
        self._finish(item)

    def _finish(self, item: _Item) -> None:
        self.progress.advance()
        if self.json_output:
            from .common import print_json

            error = None if item.error is None else item.error.message
            print_json(_record(self.model, item.answer, item.source, error))
            return
        self._waiting[item.index] = item
        while self._next in self._waiting:
            ready = self._waiting.pop(self._next)
            self._next += 1
            if ready.answer is not None and ready.error is None:
                self._print(ready)

    def _print(self, item: _Item) -> None:
        import sys

        from ..render import citations_text

        answer = item.answer
        assert answer is not None
        if self.structured or self.extract is not None:
            from ..extract import extracted
            from .common import print_data

            with self.progress.hidden(when=self.terminal):
                if self.structured:
                    print_data(answer.data)
                else:
                    sys.stdout.write(extracted(answer.text, every=self.extract == "all") or "")
                    sys.stdout.flush()
            self._printed += 1
            return
        text = answer.text.strip("\n")
        if self.terminal:
            from rich.text import Text

            from ..render import markdown, terminal_console

            if self.console is None:
                self.console = terminal_console()
            with self.progress.hidden(when=True):
                if self._printed:
                    self.console.print()
                self.console.print(Text(item.name, style="bold underline"))
                self.console.print()
                self.console.print(markdown(text))
                if answer.citations:
                    self.console.print()
                    self.console.print(citations_text(answer.citations), end="", markup=False, highlight=False)
        else:
            block = ("\n" if self._printed else "") + f"## {item.name}\n\n{text}\n"
            if answer.citations:
                block += "\n" + citations_text(answer.citations)
            sys.stdout.write(block)
            sys.stdout.flush()
        self._printed += 1
