"""The corpus. ``{name}`` in an argument is replaced by the path of that file
from ``files.make_all``; ``server`` scripts the fake that would answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.fakes import Reply

CHAT = ["chat", "-m", "openai:gpt-4o-mini"]
CLAUDE = ["chat", "-m", "anthropic:claude-haiku-4-5"]
GEMINI = ["chat", "-m", "gemini-2.5-flash"]


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    exit_code: int
    phrase: str  # must appear in the error sentence (case-insensitive)
    stdin: bytes | None = None
    server: tuple[str, tuple[Reply, ...]] | None = None  # (fake fixture name, replies)
    config: str = "retries = 0\n"
    dotenv: str | None = None  # written to the working directory's .env
    drop_env: tuple[str, ...] = ()
    usage_block: bool = False  # Typer's own usage errors may span several lines
    needs_non_root: bool = False  # root reads every file, so "unreadable" cannot be staged
    needs_proc: bool = False  # Linux's /proc
    env: dict[str, str] = field(default_factory=dict)
    config_is_fifo: bool = False  # config.toml is a named pipe nothing writes to


# A name that is a pasted paragraph rather than a name: the error quotes only its start.
LONG_NAME = "x" * 10_000
# Python decodes argv with surrogateescape: "\udce9" is the byte 0xE9 (Latin-1 é), invalid in UTF-8.
# subprocess encodes it back to that byte.
LATIN1_E = "\udce9"


CASES: list[Case] = [
    # --- broken media given to chat ---------------------------------------------------------------
    Case("zero-byte-image", [*CHAT, "-i", "{empty.png}", "Describe"], 2, "empty.png"),
    Case("truncated-png", [*CHAT, "-i", "{truncated.png}", "Describe"], 2, "truncated.png"),
    Case("truncated-jpeg", [*CHAT, "-i", "{truncated.jpg}", "Describe"], 2, "truncated.jpg"),
    Case("corrupt-jpeg", [*CHAT, "-i", "{corrupt.jpg}", "Describe"], 2, "corrupt.jpg"),
    Case("text-named-png", [*CHAT, "-i", "{text.png}", "Describe"], 2, "not an image"),
    Case("decompression-bomb", [*CHAT, "-i", "{huge.png}", "Describe"], 2, "huge.png"),
    Case("directory-as-file", [*CHAT, "-i", "{a-directory.png}", "Describe"], 2, "directory"),
    Case("missing-file", [*CHAT, "-i", "nowhere/missing.png", "Describe"], 2, "missing.png"),
    Case("unreadable-file", [*CHAT, "-i", "{unreadable.png}", "Describe"], 2, "unreadable.png",
         needs_non_root=True),
    # Unreadable even for root (CI runs as root): the kernel refuses the read itself.
    Case("read-error", [*CHAT, "-i", "/proc/self/mem", "Describe"], 2, "cannot be read", needs_proc=True),
    Case("zero-byte-audio", [*GEMINI, "-a", "{empty.wav}", "Listen"], 2, "empty.wav"),
    Case("truncated-wav", [*GEMINI, "-a", "{truncated.wav}", "Listen"], 2, "truncated.wav"),
    Case("corrupt-mp3", [*GEMINI, "-a", "{corrupt.mp3}", "Listen"], 2, "corrupt.mp3"),
    Case("image-given-as-audio", [*GEMINI, "-a", "{good.png}", "Listen"], 2, "not an audio file"),
    Case("audio-to-anthropic", [*CLAUDE, "-a", "{good.wav}", "Listen"], 2, "cannot take audio"),
    # --- stdin -----------------------------------------------------------------------------------
    Case("invalid-utf8-stdin", [*CHAT, "Summarise"], 2, "UTF-8", stdin=b"caf\xe9 \xff\xfe"),
    Case("binary-stdin", [*CHAT, "Summarise"], 2, "binary", stdin=b"\x00\x01\x02PK\x03\x04" * 20),
    Case("empty-prompt", [*CHAT, ""], 2, "prompt is empty", stdin=b""),
    Case("stdin-over-20-mb", [*CHAT, "Summarise"], 2, "more than 20 MB", stdin=b"a" * (20 * 1024 * 1024 + 1)),
    # --- argv that is not UTF-8 ------------------------------------------------------------------
    Case("invalid-utf8-prompt", [*CHAT, f"caf{LATIN1_E}"], 2, "PROMPT argument is not valid UTF-8"),
    Case("invalid-utf8-session", [*CHAT, "-S", f"caf{LATIN1_E}", "Hi"], 2, "-S/--session is not valid UTF-8"),
    Case("invalid-utf8-model", ["chat", "-m", f"gpt{LATIN1_E}", "Hi"], 2, "-m/--model is not valid UTF-8"),
    Case("invalid-utf8-system", [*CHAT, "-s", f"caf{LATIN1_E}", "Hi"], 2, "-s/--system is not valid UTF-8"),
    Case("invalid-utf8-image-path", [*CHAT, "-i", f"caf{LATIN1_E}.png", "Hi"], 2, "-i/--image is not valid UTF-8"),
    # --- session names ---------------------------------------------------------------------------
    Case("long-session-name-show", ["sessions", "show", LONG_NAME], 2, "no session named 'xxxxxxx"),
    Case("long-session-name-chat", [*CHAT, "-S", LONG_NAME, "Hi"], 2, "at most 200 characters"),
    # --- options ---------------------------------------------------------------------------------
    Case("temperature-out-of-range", [*CHAT, "-t", "7", "Hi"], 2, "temperature"),
    Case("timeout-nan", [*CHAT, "--timeout", "nan", "Hi"], 2, "--timeout", usage_block=True),
    Case("timeout-inf", [*CHAT, "--timeout", "inf", "Hi"], 2, "--timeout", usage_block=True),
    Case("negative-max-tokens", [*CHAT, "--max-tokens", "-5", "Hi"], 2, "max-tokens", usage_block=True),
    Case("unknown-option", [*CHAT, "--frobnicate", "Hi"], 2, "no such option", usage_block=True),
    # --- configuration ---------------------------------------------------------------------------
    Case("malformed-config-toml", [*CHAT, "Hi"], 3, "config.toml", config="timeout = [1,\n"),
    Case("wrong-type-in-config", [*CHAT, "Hi"], 3, "timeout", config='timeout = "soon"\n'),
    Case("config-timeout-nan", [*CHAT, "Hi"], 3, "config.toml: 'timeout' must be a finite number",
         config="timeout = nan\n"),
    Case("config-cache-max-mb-nan", ["cache", "stats"], 3, "config.toml: [cache] 'max_mb'",
         config="[cache]\nmax_mb = nan\n"),
    Case("config-cache-max-mb-inf", [*CHAT, "Hi"], 3, "config.toml: [cache] 'max_mb'",
         config="[cache]\nmax_mb = inf\n"),
    Case("config-empty-fallback-name", [*CHAT, "Hi"], 3, "config.toml: 'fallback'",
         config='fallback = ["", "gpt-4o"]\n'),
    Case("config-toml-is-a-fifo", [*CHAT, "Hi"], 3, "config.toml is not a regular file", config_is_fifo=True),
    Case("dotenv-nul-byte", [*CHAT, "Hi"], 3, ".env contains a NUL byte", dotenv="OPENAI_MODEL=a\x00b\n"),
    Case("dotenv-nul-byte-models", ["models"], 3, ".env contains a NUL byte", dotenv="A=1\nB=\x00\n"),
    Case("malformed-dotenv", [*CHAT, "Hi"], 3, ".env", dotenv="OPENAI_API_KEY='never closed\nA B C\n"),
    Case("unknown-provider", ["chat", "-m", "acme:model-1", "Hi"], 3, "unknown provider"),
    Case("unknown-model", ["chat", "-m", "mystery-9000", "Hi"], 3, "unknown model or alias"),
    Case("unknown-alias-in-config", ["chat", "-m", "fast", "Hi"], 3, "alias 'fast'",
         config='retries = 0\n[aliases]\nfast = "nowhere:thing"\n'),
    Case("missing-key", [*CLAUDE, "Hi"], 3, "ANTHROPIC_API_KEY", drop_env=("ANTHROPIC_API_KEY",)),
    # --- provider failures -----------------------------------------------------------------------
    Case("rejected-key-401", [*CHAT, "Hi"], 3, "OPENAI_API_KEY",
         server=("fake_openai", (Reply(status=401, error_message="Incorrect API key"),))),
    Case("rejected-key-403-anthropic", [*CLAUDE, "Hi"], 3, "ANTHROPIC_API_KEY",
         server=("fake_anthropic", (Reply(status=403, error_message="forbidden"),))),
    Case("rate-limit-never-clears", [*CHAT, "Hi"], 1, "rate limit", config="retries = 1\n",
         server=("fake_openai", (Reply(status=429, retry_after="0"),) * 3)),
    Case("server-error", ["chat", "-m", "gemini-2.5-flash", "Hi"], 1, "server error",
         server=("fake_gemini", (Reply(status=500, error_message="internal"),))),
    Case("connection-cut-mid-stream", [*CLAUDE, "Hi"], 1, "anthropic",
         server=("fake_anthropic", (Reply(text="one two three four five six seven", cut_after_chunks=2),))),
    Case("server-never-answers", [*CHAT, "--timeout", "1", "Hi"], 1, "did not answer within 1 s",
         server=("fake_openai", (Reply(hang=True),))),
    Case("nothing-listens", ["chat", "-m", "ollama:llama3.2", "Hi"], 1, "cannot reach",
         env={"OLLAMA_HOST": "http://127.0.0.1:9"}),
    # --- other commands --------------------------------------------------------------------------
    Case("analyze-missing-image", ["analyze-image", "-m", "gpt-4o-mini", "nowhere/photo.jpg"], 2, "photo.jpg"),
    Case("analyze-only-corrupt-image", ["analyze-image", "-m", "gpt-4o-mini", "{corrupt.jpg}"], 2, "corrupt.jpg"),
    Case("analyze-text-as-image", ["analyze-image", "-m", "gpt-4o-mini", "{notes.txt}"], 2, "notes.txt"),
    Case("transcribe-zero-byte", ["transcribe", "-m", "openai:whisper-1", "{empty.wav}"], 2, "empty.wav"),
    Case("transcribe-with-anthropic", ["transcribe", "-m", "claude-haiku-4-5", "{good.wav}"], 2, "anthropic"),
    Case("transcribe-an-image", ["transcribe", "-m", "openai:whisper-1", "{good.png}"], 2, "not an audio file"),
    Case("compare-unknown-provider", ["compare", "Hi", "-m", "gpt-4o-mini", "-m", "acme:x"], 3, "acme"),
    Case("sessions-show-unknown", ["sessions", "show", "no-such-session"], 2, "no-such-session"),
    Case("cache-clear-bad-age", ["cache", "clear", "--older-than", "yesterday"], 2, "yesterday"),
    Case("cache-clear-nan-age", ["cache", "clear", "--older-than", "nan"], 2, "'nan' is not an age"),
    Case("cache-clear-inf-age", ["cache", "clear", "--older-than", "1e999d"], 2, "is not an age"),
    # --- pipes, devices and directories given as files (never block, never read forever) -------------
    Case("named-fifo-as-image", [*CHAT, "-i", "{fifo.png}", "Describe"], 2, "named pipe"),
    Case("named-fifo-in-analyze-list", ["analyze-image", "-m", "gpt-4o-mini", "{fifo.png}"], 2, "named pipe"),
    Case("device-as-audio", ["transcribe", "-m", "openai:whisper-1", "/dev/zero"], 2, "device"),
    Case("endless-zeros-on-stdin", ["transcribe", "-m", "openai:whisper-1", "-"], 2, "not an audio file",
         stdin=bytes(8 * 1024 * 1024)),
    Case("directory-of-photos", ["analyze-image", "-m", "gpt-4o-mini", "{photos}"], 2, "photos/*"),
    # --- image URLs ----------------------------------------------------------------------------------
    Case("url-trickling-past-the-timeout", [*CHAT, "--timeout", "1", "-i", "{http}/slow.png", "Describe"], 2,
         "within 1 s"),
    Case("url-malformed-ipv6", [*CHAT, "-i", "http://[::1/x.png", "Describe"], 2, "not a valid URL"),
    Case("url-redirect-loop", [*CHAT, "-i", "{http}/loop?sig=s3cr3t-token", "Describe"], 2, "redirects in a loop"),
    Case("url-redirect-to-ftp", [*CHAT, "-i", "{http}/to-ftp", "Describe"], 2, "only http(s)"),
    # --- broken images, audio and video ------------------------------------------------------------------
    Case("truncated-tiff", [*CHAT, "-i", "{truncated.tif}", "Describe"], 2, "truncated.tif"),
    Case("truncated-m4a-to-gemini", [*GEMINI, "-a", "{truncated.m4a}", "Listen"], 2, "truncated.m4a"),
    Case("truncated-ogg-to-openai", ["chat", "-m", "openai:gpt-4o-audio-preview", "-a", "{truncated.ogg}", "Hi"], 2,
         "truncated.ogg"),
    Case("transcribe-truncated-m4a", ["transcribe", "-m", "openai:whisper-1", "{truncated.m4a}"], 2,
         "truncated.m4a", env={"MMCLI_TRANSCRIBE_MAX_SECONDS": "1"}),
    Case("truncated-video-to-gemini", [*GEMINI, "-v", "{truncated.mp4}", "Describe"], 2, "truncated.mp4"),
    Case("truncated-video-as-frames", [*CHAT, "-v", "{truncated.mp4}", "Describe"], 2, "truncated.mp4"),
    Case("garbage-webm-video", [*CLAUDE, "-v", "{garbage.webm}", "Describe"], 2, "garbage.webm"),
    Case("audio-given-as-video", [*CHAT, "-v", "{audio-only.m4a}", "Describe"], 2, "not a video"),
    Case("video-given-as-image", [*CHAT, "-i", "{good.mp4}", "Describe"], 2, "-v"),
]
