"""`mmcli batch submit|list|status|wait|results|cancel`: provider batch jobs
(half price, answers within 24 hours) kept in the data dir, so closing the
terminal loses nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup
from .common import JsonOption, MaxTokensOption, ModelOption, RoleOption, SchemaOption, SystemOption, TemperatureOption

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..batch.requests import Item
    from ..batch.store import BatchStore, Job
    from ..config import Config
    from ..conversation import ModelRef
    from ..providers.batching import BatchWire
    from ..request_options import Flags

app = typer.Typer(
    name="batch",
    cls=MmcliGroup,
    help=(
        "Run many requests through the providers' batch APIs: half the price, answers within 24 hours. "
        "Jobs live in the data dir; any later process can wait for them and fetch their results.\n\n"
        "Examples:\n\n"
        '  mmcli batch submit prompts.jsonl -m anthropic:claude-haiku-4-5 -s "Answer in one word"\n\n'
        '  mmcli analyze-image photos/*.jpg --batch -P "One-line alt text" -m openai:gpt-4o-mini\n\n'
        "  mmcli batch list\n\n"
        "  mmcli batch wait 7\n\n"
        "  mmcli batch results 7 -o alt.jsonl"
    ),
    no_args_is_help=True,
)

JobArgument = Annotated[str, typer.Argument(help="The local job id (see mmcli batch list).", metavar="JOB")]


# --- submitting ---------------------------------------------------------------------------------


@app.command("submit", cls=MmcliCommand)
@exits_cleanly
def submit(
    requests_file: Annotated[
        str,
        typer.Argument(
            help='JSONL, one request per line: {"id", "prompt", "images", "system"} (- for stdin).',
            metavar="REQUESTS.jsonl",
            show_default=False,
        ),
    ],
    model: ModelOption = None,
    system: SystemOption = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the job's status document, not its id.")] = False,
    schema: SchemaOption = None,
    role: RoleOption = None,
) -> None:
    """Check every request (and load every image), submit them as a batch job, and print its id.

    A line: {"id": "a1", "prompt": "...", "images": ["photo.jpg"], "system": "..."};
    only "prompt" (or "images") is required, "id" defaults to the line number,
    a line's "system" replaces -s. A bad line stops everything before any upload.

    Examples:

      mmcli batch submit prompts.jsonl -m anthropic:claude-haiku-4-5 -s "Answer in one word"

      mmcli batch submit captions.jsonl -m openai:gpt-4o-mini --max-tokens 100

      jq -c '{id: .sku, prompt: .question}' faq.json | mmcli batch submit - -m gemini:gemini-2.5-flash

      mmcli batch submit reviews.jsonl --schema 'sentiment, stars int' -m openai:gpt-4o-mini
    """
    from .. import config as config_module
    from ..batch import requests
    from ..request_options import Flags, options_for

    flags = Flags.of(model=model, system=system, temperature=temperature, max_tokens=max_tokens, role=role,
                     schema=schema)
    config = config_module.load()
    # The options checked against the model, as chat checks them, before any line is read.
    options = options_for(config, flags)
    name = "stdin" if requests_file == "-" else requests_file
    empty = f'{name} holds no requests; write one JSON object per line, like {{"prompt": "..."}}.'
    submit_items(requests.from_file(requests_file, options), options.model, config, empty=empty,
                 json_output=json_output)


def submit_images(images: list[str], prompt: str, flags: Flags, *, json_output: bool) -> None:
    """`analyze-image IMG... --batch`: one batch request per image."""
    from .. import config as config_module
    from ..batch import requests
    from ..providers import registry
    from ..request_options import options_for

    config = config_module.load()
    options = options_for(config, flags)
    registry.check_accepts(options.model, {"image"})
    submit_items(
        requests.from_images(images, prompt, options), options.model, config, empty="No images given.",
        json_output=json_output,
    )


def submit_items(items: Iterable[Item], ref: ModelRef, config: Config, *, empty: str, json_output: bool) -> None:
    from ..batch.store import BatchStore
    from ..batch.submit import advance, submit
    from ..errors import MmcliError, ProviderError, report
    from ..providers.batching import FAILED, batch_wire

    wire = batch_wire(ref, config)
    with BatchStore(config.data_dir) as store:
        job_id = submit(items, ref=ref, wire=wire, store=store, data_dir=config.data_dir, empty=empty)
        try:
            advance(store, job_id, wire)
        except MmcliError as exc:
            _print_job(store, job_id, json_output)
            exc.args = (
                f"{exc.message.rstrip('.')}. Job {job_id} is saved; mmcli batch wait {job_id} finishes submitting it.",
            )
            raise
        job = _print_job(store, job_id, json_output)
    if job.state == FAILED:
        error = next((p.error for p in job.parts if p.error), "the provider refused it")
        raise ProviderError(f"Job {job_id} failed: {error}")
    parts = len(job.parts)
    requests = "1 request" if job.total == 1 else f"{job.total} requests"
    noun = "provider job" if parts == 1 else "provider jobs"
    report(f"Submitted job {job_id}: {requests} in {parts} {noun}; follow it with mmcli batch wait {job_id}.")


def _print_job(store: BatchStore, job_id: int, json_output: bool) -> Job:
    from .common import print_json

    job = store.get(job_id)
    assert job is not None
    if json_output:
        from ..batch.output import status_json

        print_json(status_json(job))
    else:
        typer.echo(str(job_id))
    return job


# --- following ----------------------------------------------------------------------------------


class _Context:
    """The store, the job, and (only when the provider must be asked) its batch wire."""

    def __init__(self, job_argument: str) -> None:
        from .. import config as config_module
        from ..batch.store import BatchStore
        from ..errors import UsageError

        text = job_argument.strip()
        if not text.isdigit():
            raise UsageError(f"No batch job '{job_argument}': job ids are the numbers mmcli batch list shows.")
        self.config = config_module.load()
        self.store = BatchStore(self.config.data_dir)
        job = self.store.get(int(text))
        if job is None:
            self.store.close()
            raise UsageError(f"No batch job {int(text)}; mmcli batch list shows the jobs there are.")
        self.job: Job = job
        self._wire: BatchWire | None = None

    def __enter__(self) -> _Context:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.store.close()

    @property
    def wire(self) -> BatchWire:
        if self._wire is None:
            from ..conversation import ModelRef
            from ..providers.batching import batch_wire

            self._wire = batch_wire(ModelRef(self.job.provider, self.job.model), self.config)
        return self._wire

    def refresh(self) -> Job:
        """Ask the provider, unless every answer is already here (then nothing needs the network)."""
        from ..batch.poll import refresh

        if not self.job.finished:
            self.job = refresh(self.store, self.job.id, self.wire)
        return self.job


def _exit_for(job: Job) -> None:
    from ..providers.batching import DONE

    if job.failed or job.state != DONE:
        raise typer.Exit(1)


@app.command("list", cls=MmcliCommand)
@exits_cleanly
def list_jobs(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON list of status documents.")] = False,
) -> None:
    """Every batch job in the data dir, as last seen (no provider is asked; `status` asks).

    Examples:

      mmcli batch list

      mmcli batch list --json | jq '.[] | select(.state == "done") | .job'
    """
    from .. import config as config_module
    from ..batch.output import print_list, status_json
    from ..batch.store import BatchStore
    from .common import print_json

    with BatchStore(config_module.load().data_dir) as store:
        jobs = store.jobs()
    if json_output:
        print_json([status_json(job) for job in jobs])
        return
    if not jobs:
        typer.echo("No batch jobs yet; start one with mmcli batch submit REQUESTS.jsonl -m MODEL.", err=True)
        return
    print_list(jobs)


@app.command("status", cls=MmcliCommand)
@exits_cleanly
def status(job: JobArgument, json_output: JsonOption = False) -> None:
    """Where a job stands now (asks the provider; finishes submitting a job whose submit was cut short).

    Examples:

      mmcli batch status 7

      mmcli batch status 7 --json | jq .counts
    """
    from ..batch.output import iso, status_json
    from .common import print_json

    with _Context(job) as context:
        current = context.refresh()
    if json_output:
        print_json(status_json(current))
        return
    lines = [
        f"job {current.id}: {current.state} ({current.provider}:{current.model})",
        f"requests: {current.total} total, {current.succeeded} succeeded, {current.failed} failed, "
        f"{current.pending} pending",
        f"created: {iso(current.created_at)}",
    ]
    for part in current.parts:
        where = part.remote_id or "not created yet"
        detail = f"{part.provider_state or part.state}, {part.requests} requests"
        lines.append(f"provider job {part.part}: {where} ({detail})" + (f": {part.error}" if part.error else ""))
    typer.echo("\n".join(lines))


@app.command("wait", cls=MmcliCommand)
@exits_cleanly
def wait(job: JobArgument, json_output: JsonOption = False) -> None:
    """Wait for a job to end, with a progress bar on a terminal; Ctrl-C stops waiting, not the job.

    Exit 0 when every request succeeded, 1 when any failed, expired or was cancelled.

    Examples:

      mmcli batch wait 7

      mmcli batch wait 7 && mmcli batch results 7 -o answers.jsonl
    """
    from .. import terminal
    from ..batch.output import status_json, summary
    from ..errors import Interrupted, interrupt_exit_code, report
    from .common import print_json

    with _Context(job) as context:
        try:
            current = _wait_for(context, bar_enabled=terminal.current().stderr_isatty)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (errors.Terminated)
            # Anywhere in the wait, bar drawing included: the job itself lives on at the provider.
            number = context.job.id
            raise Interrupted(
                f"Interrupted; job {number} keeps running: mmcli batch wait {number} picks it up again.",
                interrupt_exit_code(exc),
            ) from None
    if json_output:
        print_json(status_json(current))
    report(summary(current))
    _exit_for(current)


def _wait_for(context: _Context, *, bar_enabled: bool) -> Job:
    """Poll with a growing pause until every provider job has ended and its answers are in."""
    import time

    from ..batch import settings
    from ..errors import AuthenticationFailed, ProviderError
    from ..providers.batching import TERMINAL

    delay, longest = settings.poll_interval()
    noted = False
    with _WaitBar(context.job, enabled=bar_enabled) as bar:
        while True:
            try:
                current = context.refresh()
            except ProviderError as exc:
                if isinstance(exc, AuthenticationFailed) or not exc.retryable_elsewhere:
                    raise
                if not noted:  # a passing network or server problem: the job is still there
                    bar.note(f"mmcli: {exc.message.rstrip('.')}; still waiting.")
                    noted = True
                current = context.job
            bar.update(current)
            if current.finished and current.state in TERMINAL:
                return current
            time.sleep(delay)
            delay = min(delay * settings.POLL_GROWTH, longest)


@app.command("results", cls=MmcliCommand)
@exits_cleanly
def results(
    job: JobArgument,
    output: Annotated[
        str | None,
        typer.Option(
            "-o", "--output", help="Write the JSON lines to FILE (private, replaced atomically).", metavar="FILE"
        ),
    ] = None,
) -> None:
    """A finished job's answers: one JSON line per request, in input order.

    Each line holds the request's "id" (and "path" for an image), then the keys
    of chat --json, with "error" for a request that failed, expired or was
    cancelled; cost at the batch price. Exit 1 when any request did not succeed.

    Examples:

      mmcli batch results 7 -o alt.jsonl

      mmcli batch results 7 | jq -r 'select(.error == null) | [.id, .answer] | @tsv'
    """
    import sys
    from pathlib import Path

    from ..batch.output import write_results, write_results_file
    from ..errors import ProviderError, UsageError
    from ..providers.batching import RUNNING, SUBMITTING

    with _Context(job) as context:
        current = context.refresh()
        if current.state in (SUBMITTING, RUNNING) or not current.finished:
            finished = current.succeeded + current.failed
            raise UsageError(
                f"Job {current.id} is still {current.state} ({finished} of {current.total} requests finished); "
                f"wait for it with mmcli batch wait {current.id}, then ask for its results."
            )
        if output:
            unsuccessful = write_results_file(context.store, current, Path(output))
        else:
            unsuccessful = write_results(context.store, current, sys.stdout)
    if unsuccessful:
        raise ProviderError(
            f'{unsuccessful} of {current.total} requests did not succeed; their lines say why in "error".'
        )


@app.command("cancel", cls=MmcliCommand)
@exits_cleanly
def cancel(job: JobArgument, json_output: JsonOption = False) -> None:
    """Cancel a job: requests not yet answered are dropped; answers already made stay.

    Examples:

      mmcli batch cancel 7

      mmcli batch cancel 7 --json
    """
    from ..batch.output import status_json, summary
    from ..batch.poll import cancel as cancel_job
    from ..errors import report
    from .common import print_json

    with _Context(job) as context:
        if context.job.finished:
            current = context.job
            report(f"Job {current.id} already ended ({current.state}); nothing to cancel.")
        else:
            current = cancel_job(context.store, context.job.id, context.wire)
            report(summary(current))
    if json_output:
        print_json(status_json(current))


class _WaitBar:
    """A Rich progress bar on stderr while waiting, when stderr is a terminal."""

    def __init__(self, job: Job, *, enabled: bool) -> None:
        self.enabled = enabled
        self.job = job
        self.bar: object = None
        self.task: object = None

    def __enter__(self) -> _WaitBar:
        if self.enabled:
            from ..progress import progress_bar

            self.bar, self.task = progress_bar(self._label(self.job), self.job.total)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()  # type: ignore[attr-defined]

    @staticmethod
    def _label(job: Job) -> str:
        return f"Job {job.id} {job.state}"

    def update(self, job: Job) -> None:
        if self.bar is not None:
            self.bar.update(  # type: ignore[attr-defined]
                self.task, completed=job.succeeded + job.failed, description=self._label(job)
            )

    def note(self, message: str) -> None:
        if self.bar is not None:
            self.bar.console.print(message, markup=False, highlight=False)  # type: ignore[attr-defined]
        else:
            import sys

            print(message, file=sys.stderr, flush=True)
