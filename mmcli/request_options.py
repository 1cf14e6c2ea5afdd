"""What a request carries, settled once: the one way from flags to a ``Request``.

Every command that asks a model (chat and its REPL, compare, analyze-image,
batch submit, live) goes the same way::

    Flags (what the command line said)
      -> options_for(config, flags, session)   role, schema, config, a resumed session: RequestOptions
      -> user_turn(options, text)              fragments, the prompt, the attachments, loaded and checked
      -> build_request(options, messages)      the Request the engine answers

so `-t/--temperature` and `-i` mean the same thing, are checked the same way
and reach the provider the same way whichever command they were given to.

Precedence, as DESIGN.md has it: a flag beats the role, the role beats a
resumed session's setting, which beats config.toml and the default model.
Kept free of SDK and Pillow imports: building options costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .conversation import SCHEMA_OPTION, Message, ModelRef, Part, Request

if TYPE_CHECKING:
    from .config import Config
    from .roles import Role
    from .store.sessions import SessionInfo

MAX_TEMPERATURE = 2.0
# Options a session keeps only as a record of what shaped its answers: each was about
# one question's output (--schema prints a JSON document; a role's template shaped one
# prompt), so a later turn does not inherit it. Everything else a session keeps carries on.
RECORDED_ONLY = (SCHEMA_OPTION, "role")


@dataclass(frozen=True)
class Flags:
    """What the command line said, nothing resolved yet (None: not given)."""

    model: str | None = None
    models: tuple[str, ...] = ()  # compare's repeatable -m
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    role: str | None = None
    schema: str | None = None
    fallback: tuple[str, ...] | None = None  # None: config.toml's fallback list
    images: tuple[str, ...] = ()
    audio: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    fragments: tuple[str, ...] = ()
    fps: float | None = None
    max_frames: int | None = None
    timeout: float | None = None

    @classmethod
    def of(cls, **given: Any) -> Flags:
        """From a command's parameters as Typer passes them (lists, or None for a repeatable flag not given)."""
        tuples = ("models", "images", "audio", "files", "videos", "fragments")
        values = {k: tuple(v or ()) if k in tuples else v for k, v in given.items()}
        if values.get("fallback") is not None:
            values["fallback"] = tuple(values["fallback"])
        return cls(**values)

    @cached_property
    def loaded_role(self) -> Role | None:
        if not self.role:
            return None
        from . import roles

        return roles.load(self.role)

    def _or_role(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None and self.loaded_role is not None:
            value = getattr(self.loaded_role, name)
        return value

    @property
    def asked_model(self) -> str | None:
        """-m, else the role's model."""
        return self._or_role("model")

    @property
    def asked_system(self) -> str | None:
        return self._or_role("system")

    @property
    def asked_temperature(self) -> float | None:
        return self._or_role("temperature")

    @cached_property
    def parsed_schema(self) -> dict[str, object] | None:
        """--schema's JSON Schema (else the role's); a value that cannot be read is a usage error."""
        return parse_schema(self._or_role("schema"))

    def prompt(self, text: str) -> str:
        """The role's template around the prompt, when it has one."""
        return self.loaded_role.prompt(text) if self.loaded_role else text

    @property
    def media_sources(self) -> list[str]:
        return [*self.images, *self.audio, *self.files, *self.videos, *self.fragments]


@dataclass(frozen=True)
class RequestOptions:
    """Everything a request carries besides the conversation, settled once per command."""

    model: ModelRef
    models: tuple[ModelRef, ...] = ()  # every model asked (compare); (model,) otherwise
    fallbacks: tuple[ModelRef, ...] = ()
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    # Request.options: --schema's JSON Schema, --fps / --max-frames (so the cache key covers them).
    extra: Mapping[str, object] = field(default_factory=dict)
    role: str | None = None
    template: str | None = None  # the role's prompt template ($input)
    images: tuple[str, ...] = ()
    audio: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    fragments: tuple[str, ...] = ()
    timeout: float | None = None  # loading a URL's media or page; the provider's own comes from the command
    # The options given on this command line (or by the role), by session key: a temperature
    # given now must suit the model; one a session stored is left out, with a note, if not.
    given: Mapping[str, object] = field(default_factory=dict)
    # compare: each model takes an option or leaves it out (with a note), rather than failing the command.
    per_model: bool = False

    @property
    def schema(self) -> dict[str, object] | None:
        return self.extra.get(SCHEMA_OPTION)  # type: ignore[return-value]

    @property
    def strict(self) -> bool:
        """Whether a temperature the model cannot take fails the command (it was asked for now)."""
        return "temperature" in self.given and not self.per_model

    def prompt(self, text: str) -> str:
        if not self.template:
            return text
        from string import Template

        return Template(self.template).safe_substitute(input=text)

    def kept(self) -> dict[str, object]:
        """What a session keeps of these options: every one given that shaped the answers."""
        return dict(self.given)


def options_for(
    config: Config,
    flags: Flags,
    session: SessionInfo | None = None,
    *,
    per_model: bool = False,
    choose_model: Callable[[Config, str | None, str | None], ModelRef] | None = None,
) -> RequestOptions:
    """The options of one command: its flags, then the role, then a resumed session, then config.

    ``per_model`` (compare): with no -m, one default model for each provider with a key; each
    model takes an option or leaves it out. Otherwise a temperature given is checked against
    the model now, before any input is read. ``choose_model`` (live, whose models are a kind
    of their own): picks the model from the one asked and the session's, instead of the registry.
    """
    from .providers import registry

    stored = dict(session.options) if session is not None else {}
    role = flags.loaded_role
    spec = flags.asked_model
    if choose_model is not None:
        models = (choose_model(config, spec, session.model if session is not None else None),)
    elif flags.models:
        models = tuple(dict.fromkeys(registry.parse_model(s, config) for s in flags.models))
    elif spec is None and session is not None:
        models = (registry.parse_model(session.model, config),)  # a resumed session keeps its model
    elif spec is None and per_model:
        models = tuple(registry.default_models_with_credentials(config)) or (registry.resolve(None, config),)
    else:
        models = (registry.resolve(spec, config),)
    given: dict[str, object] = {}
    for key, value in (("temperature", flags.asked_temperature), ("max_tokens", flags.max_tokens)):
        if value is not None:
            given[key] = value
    extra = {**video_options(flags.fps, flags.max_frames)}
    schema = flags.parsed_schema
    if schema is not None:
        extra[SCHEMA_OPTION] = schema
    given.update(extra)
    if role is not None:
        given["role"] = role.name
    carried = {k: v for k, v in stored.items() if k not in RECORDED_ONLY and k not in given}
    for key in ("temperature", "max_tokens"):
        carried.pop(key, None)
    system = flags.asked_system
    if system is None and session is not None:
        system = session.system
    fallback = flags.fallback if flags.fallback is not None else config.fallback
    options = RequestOptions(
        model=models[0],
        models=models,
        fallbacks=tuple(registry.parse_model(s, config) for s in fallback or ()),
        system=system,
        temperature=_first(given.get("temperature"), stored.get("temperature")),  # type: ignore[arg-type]
        max_tokens=_first(given.get("max_tokens"), stored.get("max_tokens")),  # type: ignore[arg-type]
        extra={**carried, **extra},
        role=role.name if role is not None else None,
        template=role.template if role is not None else None,
        images=flags.images, audio=flags.audio, files=flags.files, videos=flags.videos, fragments=flags.fragments,
        timeout=flags.timeout or config.timeout,
        given=given,
        per_model=per_model,
    )
    if options.strict:
        from . import engine

        # The model's own range, as its provider declares it: "takes a temperature from 0 to 1, not 1.5".
        engine.fit_options(Request(model=options.model, messages=[], temperature=options.temperature),
                           engine.warn, strict=True)
    elif per_model:
        check_temperature(options.temperature)  # within any provider's range; each model then takes it or not
    return options


def _first(*values: object) -> object:
    return next((v for v in values if v is not None), None)


def check_temperature(value: float | None) -> None:
    """The range any provider takes, for a temperature not yet checked against one model."""
    from .errors import UsageError

    if value is not None and not 0.0 <= value <= MAX_TEMPERATURE:
        raise UsageError(f"Temperature {value:g} is out of range; use a value from 0 to {MAX_TEMPERATURE:g}.")


def parse_schema(value: str | None) -> dict[str, object] | None:
    """--schema's JSON Schema; a value that cannot be read is a usage error."""
    if value is None:
        return None
    from .errors import UsageError
    from .schema import SchemaError, parse

    try:
        return parse(value)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None


def video_options(fps: float | None, max_frames: int | None) -> dict[str, object]:
    """How videos become frames, as request options (so the cache key covers them)."""
    if fps is None and max_frames is None:
        return {}  # the common case: no need to import the media package
    from .media import FPS_OPTION, MAX_FRAMES_OPTION

    options: dict[str, object] = {}
    if fps is not None:
        options[FPS_OPTION] = fps
    if max_frames is not None:
        options[MAX_FRAMES_OPTION] = max_frames
    return options


# --- the user's turn --------------------------------------------------------------------------------


def user_turn(options: RequestOptions, text: str, *, extra_parts: Sequence[Part] = ()) -> Message:
    """This command's user turn: its fragments, the text, then every attachment the flags name."""
    return user_message(
        text, images=list(options.images), audio=list(options.audio), files=list(options.files),
        videos=list(options.videos), fragments=list(options.fragments), timeout=options.timeout,
        extra_parts=extra_parts,
    )


def user_message(
    text: str,
    *,
    images: list[str] | None = None,
    audio: list[str] | None = None,
    files: list[str] | None = None,
    videos: list[str] | None = None,
    fragments: list[str] | None = None,
    timeout: float | None = None,
    extra_parts: Sequence[Part] = (),
) -> Message:
    """A user turn: the fragments (text context, `-f`), then the text, then every attachment,
    loaded and checked (a URL's download within ``timeout``); ``extra_parts`` (already loaded) last."""
    parts: list[Part] = []
    if fragments:
        from . import fragments as fragment_module
        from .errors import report

        parts += fragment_module.load(fragments, timeout=timeout, notify=report)
    parts += [Part.of_text(text)] if text else []
    sources = [("image", s) for s in images or ()] + [("audio", s) for s in audio or ()]
    sources += [("document", s) for s in files or ()] + [("video", s) for s in videos or ()]
    if sources:
        parts += [load_attachment(kind, source, timeout) for kind, source in sources]
    parts += list(extra_parts)
    return Message(role="user", parts=parts)


def load_attachment(kind: str, source: str, timeout: float | None = None) -> Part:
    """-a, -v and --file take one kind; -i takes an image or a PDF (`mmcli chat -i report.pdf`)."""
    from . import media
    from .errors import UsageError

    if kind == "document":
        try:
            return media.load(source, expect=kind, timeout=timeout)
        except UsageError as error:
            if "looks like text" in str(error) or "looks like plain text" in str(error):
                name = media.sources.display_name(source)
                raise UsageError(
                    f"{name} is text, not a PDF document; add text files as context with -f {source}."
                ) from None
            raise
    if kind != "image":
        return media.load(source, expect=kind, timeout=timeout)
    part = media.load(source, timeout=timeout)
    if part.kind not in ("image", "document"):
        name = media.sources.display_name(source)
        flag = "-v" if part.kind == "video" else "-a"
        raise UsageError(
            f"{name} is not an image or a PDF document (it looks like {part.kind}); attach it with {flag}."
        )
    return part


# --- the request ------------------------------------------------------------------------------------


def build_request(
    options: RequestOptions,
    messages: Sequence[Message],
    *,
    model: ModelRef | None = None,
    notify: Callable[[str], None] | None = None,
) -> Request:
    """The Request for ``messages`` with these options: the one place a Request is made from options.

    A temperature the model cannot take that a session stored (not given now) is left out
    with a note, and earlier turns are fitted to its context window. With ``per_model``
    (compare) the engine fits the request to each model in turn instead.
    """
    from .errors import report

    notify = notify or report
    request = Request(
        model=model or options.model,
        messages=list(messages),
        system=options.system,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        options=dict(options.extra),
    )
    if not options.per_model:
        from . import engine

        request = engine.fit_options(request, notify, strict=options.strict)
        if len(request.messages) > 1:
            from .context_window import fit_to_model

            request = fit_to_model(request, notify=notify)
    return request


def with_model(options: RequestOptions, model: ModelRef) -> RequestOptions:
    """The same options for another model (the REPL's /model)."""
    return replace(options, model=model, models=(model,))
