"""Model naming, aliases, default-model choice, credentials, and lazy lookup
of provider implementations.

The provider modules (and so their SDKs) are imported only by ``get_provider``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import threading
from functools import cache
from typing import TYPE_CHECKING

# The catalogue is read below the registry (stored keys need it before config is loaded);
# named here as well, where the commands and providers look it up.
from ..catalogue import catalogue
from ..config import Config
from ..conversation import ModelRef
from ..errors import ConfigError, UsageError

if TYPE_CHECKING:  # base is imported lazily: parsing a model name is on the cache-hit path
    from ..media.limits import ProviderLimits
    from .base import Capabilities, Provider, ProviderSettings

__all__ = ["ModelRef", "catalogue"]

# Order in which a set key chooses the default model (DESIGN.md).
DEFAULT_PROVIDER_ORDER = ("gemini", "openai", "anthropic", "perplexity", "vertex")
PROVIDERS = ("openai", "anthropic", "gemini", "vertex", "perplexity", "ollama", "compat")
# Module and class implementing each provider; imported on first use only.
_IMPLEMENTATIONS = {
    "openai": ("openai", "OpenAIProvider"),
    "anthropic": ("anthropic", "AnthropicProvider"),
    "gemini": ("gemini", "GeminiProvider"),
    "vertex": ("gemini", "VertexProvider"),
    "perplexity": ("perplexity", "PerplexityProvider"),
    "ollama": ("compat", "OllamaProvider"),
    "compat": ("compat", "CompatProvider"),
}
_BARE_PREFIXES = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("whisper-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "gemini"),
    ("sonar", "perplexity"),
)
DEFAULT_OLLAMA_HOST = "http://localhost:11434"


def bare_provider(name: str) -> str | None:
    """The provider a bare model name belongs to (`claude-*` -> anthropic), or None."""
    for prefix, provider in _BARE_PREFIXES:
        if name.startswith(prefix):
            return provider
    # OpenAI's reasoning models: o1, o3-mini, o4-mini ...
    if len(name) >= 2 and name[0] == "o" and name[1].isdigit():
        return "openai"
    return None


def parse_model(spec: str, config: Config) -> ModelRef:
    """Turn what the user typed (`provider:model`, a bare name, an alias) into a ModelRef."""
    spec = spec.strip()
    if not spec:
        raise UsageError("The model name is empty; give one like openai:gpt-4o-mini.")
    target, seen = spec, set()
    while target in config.aliases and target not in seen:
        seen.add(target)
        target = config.aliases[target]
    try:
        ref = _parse_plain(target, config)
    except ConfigError as exc:
        if not seen:
            raise
        raise ConfigError(f"Alias '{spec}' in {config.path.name} is broken: {exc.message}") from None
    _note_if_unknown(ref, config)
    return ref


def _parse_plain(spec: str, config: Config) -> ModelRef:
    provider, sep, name = spec.partition(":")
    if sep:
        if provider not in PROVIDERS:
            hint = _did_you_mean(provider, PROVIDERS)
            raise ConfigError(f"Unknown provider '{provider}'{hint}; known providers: {', '.join(PROVIDERS)}.")
        if not name:
            raise UsageError(f"No model named after '{provider}:'; try {provider}:{default_model_of(provider)}.")
        return ModelRef(provider, name)
    provider = bare_provider(spec)
    if provider is None:
        known = {name: f"{p}:{name}" for p, entry in catalogue().items() for name in entry["models"]}
        import difflib

        # Match on bare names, suggest the provider:model spelling that works (llama3.2 -> ollama:llama3.2).
        matches = difflib.get_close_matches(spec, list(config.aliases) + list(known), n=3)
        hint = f" (did you mean {', '.join(known.get(m, m) for m in matches)}?)" if matches else ""
        raise ConfigError(
            f"Unknown model or alias '{spec}'{hint}; use provider:model (see `mmcli models`) "
            "or define an alias in config.toml."
        )
    return ModelRef(provider, spec)


# Providers whose model names are open-ended (whatever the local server has): never noted.
_OPEN_ENDED = ("ollama", "compat")
_noted: set[ModelRef] = set()


def _note_if_unknown(ref: ModelRef, config: Config) -> None:
    """A name models.json does not list is still tried (new models appear every week), with
    one line on stderr so a typo does not pass silently: `gpt-4o-mni` names `gpt-4o-mini`."""
    if ref.provider in _OPEN_ENDED or ref.name in catalogue()[ref.provider]["models"] or ref in _noted:
        return
    _noted.add(ref)
    matches = close_model_names(ref, config)
    hint = f" (did you mean {' or '.join(matches)}?)" if matches else ""
    from ..errors import report

    report(f"{ref} is not in mmcli's model list (mmcli models); trying it anyway{hint}.")


def close_model_names(ref: ModelRef, config: Config) -> list[str]:
    """Known models spelled like ``ref``: its own provider's first, then providers with a key set."""
    import difflib

    def candidates(providers: object) -> dict[str, str]:
        return {
            name: f"{provider}:{name}"
            for provider in providers  # type: ignore[attr-defined]
            for name in catalogue()[provider]["models"]
        }

    keyed = [p for p in catalogue() if p not in (ref.provider, *_OPEN_ENDED) and has_credentials(p, config)]
    others = [p for p in catalogue() if p not in (ref.provider, *keyed, *_OPEN_ENDED)]
    for group in ([ref.provider], keyed, others):
        known = candidates(group)
        # Model names differ in one character (4.5 for 4-5, mni for mini): a high cutoff keeps the hint honest.
        matches = difflib.get_close_matches(ref.name, list(known), n=2, cutoff=0.85)
        if matches:
            return [known[m] for m in matches]
    return []


def _did_you_mean(word: str, candidates: object) -> str:
    import difflib

    matches = difflib.get_close_matches(word, list(candidates), n=3)  # type: ignore[arg-type]
    return f" (did you mean {', '.join(matches)}?)" if matches else ""


def default_model_of(provider: str) -> str:
    return catalogue()[provider]["default"] or "default"


def capabilities(ref: ModelRef) -> Capabilities:
    from .base import Capabilities

    entry = catalogue()[ref.provider]
    spec = entry["models"].get(ref.name) or entry["unknown_model"]
    return Capabilities(
        image=spec.get("image", False),
        audio=spec.get("audio", False),
        document=spec.get("document", False),
        context_tokens=spec.get("context", 128_000) or 128_000,
    )


def models_accepting(kind: str, prefer: str | None = None) -> list[str]:
    """Known models that take ``kind``, for 'use one of these' messages: the ``prefer``red
    provider's first, then providers whose key is set, then the rest (each in catalogue order)."""
    keyed = {p: _has_key(p) for p in catalogue()}
    ranked = sorted(catalogue(), key=lambda p: (p != prefer, not keyed[p]))
    return [
        f"{provider}:{name}"
        for provider in ranked
        for name, spec in catalogue()[provider]["models"].items()
        if spec.get(kind)
    ]


def check_accepts(ref: ModelRef, kinds: set[str]) -> None:
    """Refuse, before any request, input the model cannot take (exit 2)."""
    if catalogue()[ref.provider]["models"].get(ref.name, {}).get("transcribe"):
        chat_default = f"{ref.provider}:{default_model_of(ref.provider)}"
        raise UsageError(f"{ref} is a speech-to-text model: use it with mmcli transcribe, or chat with {chat_default}.")
    if catalogue()[ref.provider]["models"].get(ref.name, {}).get("live"):
        chat_default = f"{ref.provider}:{default_model_of(ref.provider)}"
        raise UsageError(f"{ref} is a live (real-time) model: use it with mmcli live, or chat with {chat_default}.")
    caps = capabilities(ref)
    for kind in sorted(kinds):
        if not caps.accepts(kind):
            able = ", ".join(models_accepting("image" if kind == "video" else kind, prefer=ref.provider)[:4])
            noun = {"image": "images", "audio": "audio", "document": "documents", "video": "video"}[kind]
            raise UsageError(f"{ref} cannot take {noun}; use a model that can, such as {able}.")


# --- credentials --------------------------------------------------------------------------------


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _vertex_project_location() -> tuple[str | None, str | None]:
    project = _env("VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT")
    location = _env("VERTEX_LOCATION", "GOOGLE_CLOUD_LOCATION")
    return project, location


def has_credentials(provider: str, config: Config) -> bool:
    if provider == "ollama":
        return True
    if provider == "compat":
        return bool(_env("MMCLI_COMPAT_BASE_URL") or config.provider_option("compat", "base_url"))
    return _has_key(provider)


def _has_key(provider: str) -> bool:
    """Whether the environment holds this provider's key (ollama and compat need none: False)."""
    if provider == "vertex":
        project, location = _vertex_project_location()
        return bool(_env("VERTEX_API_KEY") or (project and location))
    key_env = catalogue()[provider]["key_env"]
    return provider != "compat" and bool(key_env) and bool(_env(*key_env))


def needs_key(provider: str) -> bool:
    """False for providers that run without a key (a local Ollama server; a compatible server's is optional)."""
    return provider not in _OPEN_ENDED


def _missing_key_message(provider: str) -> str:
    where = "in the environment, a .env file, or the config dir's .env"
    if provider == "vertex":
        return (
            "No Vertex AI credentials: set VERTEX_API_KEY, or VERTEX_PROJECT_ID and VERTEX_LOCATION "
            f"with Application Default Credentials ({where})."
        )
    if provider == "compat":
        return "No OpenAI-compatible server configured: set MMCLI_COMPAT_BASE_URL (a URL ending in /v1)."
    variable = catalogue()[provider]["key_env"][0]
    return f"No API key for {provider}: set {variable} ({where})."


def provider_settings(provider: str, config: Config, *, timeout: float | None = None) -> ProviderSettings:
    """Everything a provider needs to connect; raises ConfigError when a key is missing."""
    from .base import ProviderSettings

    if not has_credentials(provider, config):
        raise ConfigError(_missing_key_message(provider))
    base = endpoint(provider, config)
    key_env = catalogue()[provider]["key_env"]
    api_key = _env(*key_env) if key_env else None
    extra: dict[str, str] = {}
    if provider == "vertex":
        project, location = _vertex_project_location()
        extra = {k: v for k, v in (("project", project), ("location", location)) if v}
    return ProviderSettings(
        api_key=api_key,
        base_url=base,
        timeout=timeout if timeout is not None else config.timeout,
        retries=config.retries,
        extra=extra,
    )


def endpoint(provider: str, config: Config) -> str | None:
    """The base URL mmcli points the provider's SDK at; None for the SDK's own default.

    Part of the cache key: the same model name on two servers is two models.
    """
    configured = {
        "openai": _env("OPENAI_BASE_URL"),
        "anthropic": _env("ANTHROPIC_BASE_URL"),
        "gemini": _env("GOOGLE_GEMINI_BASE_URL"),
        "vertex": _env("GOOGLE_VERTEX_BASE_URL"),
        "perplexity": _env("PERPLEXITY_BASE_URL"),
        "ollama": ollama_root() + "/v1",
        "compat": _env("MMCLI_COMPAT_BASE_URL"),
    }[provider]
    return configured or config.provider_option(provider, "base_url")


def provider_class(provider: str) -> type:
    """The class implementing ``provider``; importing its module imports no SDK."""
    module_name, class_name = _IMPLEMENTATIONS[provider]
    return getattr(importlib.import_module(f"{__package__}.{module_name}"), class_name)


def media_limits_of(provider: str) -> ProviderLimits:
    """The media limits ``provider``'s class declares (its ``media_limits``), for callers outside
    providers/ to hand to ``mmcli.media``, which never looks a provider up; no SDK is imported."""
    try:
        found = getattr(provider_class(provider), "media_limits", None)
    except KeyError:
        found = None
    if found is None:
        raise UsageError(f"mmcli does not know the media limits of provider {provider!r}.")
    return found


def temperature_range(ref: ModelRef) -> tuple[float, float] | None:
    """The temperatures ``ref`` takes (None: only its default), declared by its provider."""
    return provider_class(ref.provider).temperature_range_of(ref.name)


def ollama_root() -> str:
    """OLLAMA_HOST as a URL: Ollama itself also takes a bare `host:port`."""
    host = (_env("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST).rstrip("/")
    return host if "://" in host else f"http://{host}"


def _ollama_models() -> list[str] | None:
    """The models a local Ollama has pulled, or None when no server answers (a quick probe,
    so a machine with only Ollama still gets a default model)."""
    import urllib.request

    try:
        with urllib.request.urlopen(ollama_root() + "/api/tags", timeout=0.3) as response:
            tags = json.loads(response.read())
    except (OSError, ValueError):
        return None
    models = tags.get("models", []) if isinstance(tags, dict) else []
    names = [str(m.get("name", "")) for m in models if isinstance(m, dict)]
    return [n.removesuffix(":latest") for n in names if n]


def default_model(config: Config) -> ModelRef:
    if config.default_model:
        return parse_model(config.default_model, config)
    for provider in DEFAULT_PROVIDER_ORDER:
        if has_credentials(provider, config):
            return ModelRef(provider, default_model_of(provider))
    installed = _ollama_models()
    if installed is not None:
        preferred = default_model_of("ollama")
        # Our default if it is pulled, else whatever is: a model the server lacks would only 404.
        return ModelRef("ollama", preferred if preferred in installed or not installed else installed[0])
    raise ConfigError(
        "No model configured and no API key found: set one of GOOGLE_API_KEY, OPENAI_API_KEY, "
        "ANTHROPIC_API_KEY or PERPLEXITY_API_KEY (or start a local Ollama server)."
    )


def resolve(spec: str | None, config: Config) -> ModelRef:
    return parse_model(spec, config) if spec else default_model(config)


@cache
def _quiet_sdk_logging() -> None:
    """SDKs log warnings (google-genai: "Both GOOGLE_API_KEY and GEMINI_API_KEY are
    set"); with no handler configured Python prints them on stderr, where only
    mmcli's own sentences belong. So they go nowhere, unless MMCLI_DEBUG=1."""
    import logging

    if os.environ.get("MMCLI_DEBUG") == "1":
        logging.basicConfig(level=logging.DEBUG)
    else:
        logging.getLogger().addHandler(logging.NullHandler())


def get_provider(ref: ModelRef, config: Config, *, timeout: float | None = None) -> Provider:
    settings = provider_settings(ref.provider, config, timeout=timeout)
    _quiet_sdk_logging()
    # Constructing a provider imports its SDK: tens of thousands of objects and
    # no garbage. Collector passes during that import only rescan what was just
    # built, so pause the collector for it (about 8% of the import here). Only
    # on the main thread: from several threads, enable/disable would race.
    collecting = gc.isenabled() and threading.current_thread() is threading.main_thread()
    if collecting:
        gc.disable()
    try:
        return provider_class(ref.provider)(settings)
    finally:
        if collecting:
            gc.enable()


def default_models_with_credentials(config: Config) -> list[ModelRef]:
    """Each provider with a key set, by its default model, in the default order (compare without -m)."""
    return [
        ModelRef(provider, default_model_of(provider))
        for provider in DEFAULT_PROVIDER_ORDER
        if has_credentials(provider, config)
    ]


def keyless_source(provider: str) -> str:
    """Where ``provider``'s default model comes from when no key chose it (`mmcli models default`)."""
    return "a local Ollama server" if provider == "ollama" else f"{provider} credentials"
