"""Help as a newcomer reads it: the terminal's width, examples that copy and paste
whole, real placeholders, usage lines without braces, and a usage error that shows
how to quote a prompt typed as several words."""

from __future__ import annotations

import re

import pytest

from tests.fakes import Reply
from tests.inproc import pty, without_ansi
from tests.test_compare import pty_env
from tests.test_transcribe import write_wav

pytestmark = pytest.mark.in_pytest

COMMANDS = [
    [],
    ["chat"],
    ["models"],
    ["transcribe"],
    ["compare"],
    ["analyze-image"],
    ["live"],
    ["sessions"],
    ["sessions", "list"],
    ["sessions", "search"],
    ["sessions", "show"],
    ["sessions", "export"],
    ["sessions", "rename"],
    ["sessions", "delete"],
    ["cache"],
    ["cache", "stats"],
    ["cache", "clear"],
    ["worker"],
    ["worker", "status"],
    ["worker", "stop"],
    ["models", "default"],
    ["config"],
    ["config", "get"],
    ["config", "set"],
    ["config", "unset"],
    ["config", "list"],
    ["aliases"],
    ["aliases", "set"],
    ["aliases", "remove"],
    ["aliases", "list"],
    ["keys"],
    ["keys", "set"],
    ["keys", "list"],
    ["keys", "remove"],
]
LONG_EXAMPLE = (
    'mmcli compare "Explain CRDTs in 5 sentences" -m openai:gpt-4o-mini -m claude-haiku-4-5 -m gemini-2.5-flash'
)


def help_lines(screen: str) -> list[str]:
    return [line.rstrip() for line in screen.replace("\r\n", "\n").split("\n")]


def test_help_uses_the_terminals_width(run_mmcli_inproc, mmcli_env):
    done = run_mmcli_inproc(["compare", "--help"], pty_env(mmcli_env), **pty(columns=120, lines=50))
    lines = help_lines(without_ansi(done.stdout))
    assert done.returncode == 0
    # An 80-column layout would have wrapped this sentence and the example.
    assert any(line.strip() == LONG_EXAMPLE for line in lines), lines
    description = "Send one prompt to several models at once and show their answers side by side."
    assert description in "\n".join(lines)
    widest = max(len(line) for line in lines)
    assert 80 < widest <= 120


def test_examples_are_never_wrapped_or_broken(run_mmcli, mmcli_env):
    narrow = {**mmcli_env, "COLUMNS": "60"}
    done = run_mmcli(["compare", "--help"], narrow)
    assert done.returncode == 0, done.stderr
    lines = help_lines(done.stdout)
    assert any(line.strip() == LONG_EXAMPLE for line in lines)
    # Every example line of every command starts with a command and stays whole, however narrow.
    for args in COMMANDS:
        text = run_mmcli([*args, "--help"], narrow).stdout
        examples = text.split("Examples:", 1)[1].split("\nArguments:", 1)[0].split("\nOptions:", 1)[0]
        for line in filter(str.strip, examples.splitlines()):
            assert re.match(r"\s{4}(mmcli |git diff|cat |curl )", line), (args, line)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "mmcli")
def test_placeholders_are_real_and_arguments_have_no_braces(run_mmcli, mmcli_env, args):
    done = run_mmcli([*args, "--help"], mmcli_env)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: mmcli") and "{" not in usage and "}" not in usage
    for generic in ("<str>", "<int", "<float", "range>", "<text>", "<path>"):
        assert generic not in text, (args, generic)
    options = text.split("Options:", 1)[1]
    for line in options.splitlines():
        match = re.match(r"\s+(-\w, )?--[\w-]+ (\S+)", line)
        if match:  # an option that takes a value says what kind of value
            assert re.fullmatch(r"[A-Z]+|[a-z_]+(\|[a-z_]+)+", match.group(2)), line


def test_named_placeholders(run_mmcli, mmcli_env):
    chat = run_mmcli(["chat", "--help"], mmcli_env).stdout
    for expected in ("-m, --model MODEL", "-i, --image PATH", "-a, --audio PATH", "--max-tokens N",
                     "-t, --temperature TEMP", "-S, --session NAME", "--fallback MODEL", "--timeout SECONDS"):
        assert expected in chat
    assert "Usage: mmcli chat [OPTIONS] [PROMPT]" in chat
    export = run_mmcli(["sessions", "export", "--help"], mmcli_env).stdout
    assert "-f, --format md|json" in export and "Usage: mmcli sessions export [OPTIONS] NAME" in export
    transcribe = run_mmcli(["transcribe", "--help"], mmcli_env).stdout
    assert "-f, --format text|json|verbose_json|srt|vtt" in transcribe
    assert "Usage: mmcli transcribe [OPTIONS] AUDIO" in transcribe
    assert "-o, --output FILE" in transcribe
    assert "Usage: mmcli analyze-image [OPTIONS] IMG..." in run_mmcli(["analyze-image", "--help"], mmcli_env).stdout


def test_transcribe_help_gives_the_timeout_the_code_uses(run_mmcli, mmcli_env, fake_openai, mmcli_cwd):
    """The help's default and the timeout the SDK was given (openai sends it as a header) agree."""
    text = " ".join(run_mmcli(["transcribe", "--help"], {**mmcli_env, "COLUMNS": "200"}).stdout.split())
    stated = re.search(r"--timeout SECONDS Seconds per request attempt \(default: [^)]*at least (\d+)\)", text)
    assert stated, text
    write_wav(mmcli_cwd / "memo.wav", 2)
    fake_openai.queue(Reply(text="Hello there."), Reply(text="Hello again."))
    for extra, expected in (([], float(stated.group(1))), (["--timeout", "7"], 7.0)):
        done = run_mmcli(["transcribe", "memo.wav", "-m", "whisper-1", "--no-cache", *extra], mmcli_env)
        assert done.returncode == 0, done.stderr
        assert float(fake_openai.last_request.headers["x-stainless-read-timeout"]) == expected


@pytest.mark.parametrize("command", ["chat", "compare"])
def test_an_unquoted_prompt_is_a_usage_error_with_the_quoted_command(run_mmcli, mmcli_env, fake_openai, command):
    done = run_mmcli([command, "what", "is", "the", "capital", "of", "France"], mmcli_env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert f'mmcli {command} "what is the capital of France"' in done.stderr
    assert "Traceback" not in done.stderr
    assert fake_openai.requests == []


def test_an_unquoted_prompt_with_an_apostrophe_is_quoted_for_the_shell(run_mmcli, mmcli_env):
    done = run_mmcli(["chat", "what's", "up"], mmcli_env)
    assert done.returncode == 2
    assert "mmcli chat \"what's up\"" in done.stderr


def test_other_extra_arguments_get_no_prompt_hint(run_mmcli, mmcli_env):
    done = run_mmcli(["transcribe", "a.wav", "b.wav"], mmcli_env)
    assert done.returncode == 2
    assert "unexpected extra argument" in done.stderr and "Quote" not in done.stderr
