"""`mmcli keys set|list|remove`: keys kept in the OS keyring (a test backend selected through
PYTHON_KEYRING_BACKEND) or, without one, in a 0600 file; used by the providers, ranked after
the environment and .env, redacted, and never printed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pexpect
import pytest

from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest

STORED = "stored-key-Qz81xLm02vT"  # not key-shaped: only value-based redaction can hide it
TEST_BACKEND = "tests.fakes.keyring_backend.JsonFileKeyring"
NO_KEYRING = "keyring.backends.fail.Keyring"


@pytest.fixture
def keyring_env(mmcli_env, tmp_path):
    """mmcli_env without an OpenAI key, with the test keyring."""
    env = {k: v for k, v in mmcli_env.items() if k != "OPENAI_API_KEY"}
    env["PYTHON_KEYRING_BACKEND"] = TEST_BACKEND
    env["MMCLI_TEST_KEYRING"] = str(tmp_path / "os-keyring.json")
    return env


def keyring_contents(env: dict[str, str]) -> dict[str, str]:
    path = Path(env["MMCLI_TEST_KEYRING"])
    return json.loads(path.read_text()) if path.exists() else {}


def keys_file(env: dict[str, str]) -> Path:
    return Path(env["MMCLI_CONFIG_DIR"]) / "keys.json"


def test_a_key_set_from_stdin_goes_to_the_keyring_and_a_chat_uses_it(run_mmcli, keyring_env, fake_openai):
    done = run_mmcli(["keys", "set", "openai"], keyring_env, input=STORED + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and STORED not in done.stderr
    assert "OS keyring" in done.stderr
    assert keyring_contents(keyring_env) == {"mmcli/openai": STORED}
    # the config dir records only where it is: no value outside the keyring
    assert STORED not in keys_file(keyring_env).read_text()

    fake_openai.queue(Reply(text="Hello from the fake."))
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "--no-cache", "Hi"], keyring_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from the fake.\n"
    assert fake_openai.last_request.headers["authorization"] == f"Bearer {STORED}"

    listed = run_mmcli(["keys", "list"], keyring_env)
    assert listed.returncode == 0, listed.stderr
    assert "openai\tOPENAI_API_KEY\tkeyring" in listed.stdout.splitlines()
    assert "anthropic\tANTHROPIC_API_KEY\tenv" in listed.stdout.splitlines()
    assert STORED not in listed.stdout + listed.stderr


def test_a_stored_key_is_redacted_from_errors(run_mmcli, keyring_env, fake_openai):
    assert run_mmcli(["keys", "set", "openai"], keyring_env, input=STORED).returncode == 0
    fake_openai.queue(Reply(status=401, error_message=f"Incorrect API key provided: {STORED}"))
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "--no-cache", "Hi"], {**keyring_env, "MMCLI_DEBUG": "1"})
    assert done.returncode == 3
    assert STORED not in done.stderr and "***" in done.stderr


def test_the_environment_and_dotenv_win_over_the_keyring(run_mmcli, keyring_env, fake_openai, mmcli_cwd):
    assert run_mmcli(["keys", "set", "openai"], keyring_env, input=STORED).returncode == 0
    fake_openai.queue(Reply(text="one"), Reply(text="two"), Reply(text="three"))
    from_env = "sk-from-the-environment-0123"
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], {**keyring_env, "OPENAI_API_KEY": from_env})
    assert done.returncode == 0, done.stderr
    assert fake_openai.last_request.headers["authorization"] == f"Bearer {from_env}"
    listed = run_mmcli(["keys", "list", "--json"], {**keyring_env, "OPENAI_API_KEY": from_env})
    openai = next(row for row in json.loads(listed.stdout) if row["provider"] == "openai")
    assert openai == {"provider": "openai", "variable": "OPENAI_API_KEY", "set": True, "source": "env",
                      "stored": "keyring"}

    from_dotenv = "sk-from-dotenv-file-4567"
    (mmcli_cwd / ".env").write_text(f"OPENAI_API_KEY={from_dotenv}\n")
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], keyring_env)
    assert done.returncode == 0, done.stderr
    assert fake_openai.last_request.headers["authorization"] == f"Bearer {from_dotenv}"
    listed = run_mmcli(["keys", "list"], keyring_env)
    assert "openai\tOPENAI_API_KEY\t.env" in listed.stdout.splitlines()
    (mmcli_cwd / ".env").unlink()

    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], keyring_env)
    assert fake_openai.last_request.headers["authorization"] == f"Bearer {STORED}"


def test_without_a_keyring_the_key_goes_to_a_0600_file(run_mmcli, keyring_env, fake_openai):
    env = {**keyring_env, "PYTHON_KEYRING_BACKEND": NO_KEYRING}
    done = run_mmcli(["keys", "set", "openai"], env, input=STORED)
    assert done.returncode == 0, done.stderr
    assert "mode 0600" in done.stderr and STORED not in done.stderr
    path = keys_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not Path(env["MMCLI_TEST_KEYRING"]).exists()

    fake_openai.queue(Reply(text="ok"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], env)
    assert done.returncode == 0, done.stderr
    assert fake_openai.last_request.headers["authorization"] == f"Bearer {STORED}"
    assert "openai\tOPENAI_API_KEY\tfile" in run_mmcli(["keys", "list"], env).stdout.splitlines()

    done = run_mmcli(["keys", "remove", "openai"], env)
    assert done.returncode == 0, done.stderr
    assert STORED not in path.read_text()
    sent = len(fake_openai.requests)
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], env)
    assert done.returncode == 3 and "No API key for openai" in done.stderr
    assert len(fake_openai.requests) == sent


def test_remove_forgets_the_keyring_entry(run_mmcli, keyring_env):
    assert run_mmcli(["keys", "set", "openai"], keyring_env, input=STORED).returncode == 0
    done = run_mmcli(["keys", "remove", "openai"], keyring_env)
    assert done.returncode == 0, done.stderr
    assert keyring_contents(keyring_env) == {}
    assert "openai\tOPENAI_API_KEY\t-" in run_mmcli(["keys", "list"], keyring_env).stdout.splitlines()
    again = run_mmcli(["keys", "remove", "openai"], keyring_env)
    assert again.returncode == 2 and "No openai key is stored" in again.stderr


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["keys", "set", "openai"], "", "No key given"),
    (["keys", "set", "openai"], "two words", "spaces or control characters"),
    (["keys", "set", "opnai"], STORED, "did you mean openai?"),
    (["keys", "set", "ollama"], STORED, "needs no API key"),
])
def test_bad_key_input_is_exit_2_and_stores_nothing(run_mmcli, keyring_env, args, stdin, message):
    done = run_mmcli(args, keyring_env, input=stdin)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not keys_file(keyring_env).exists() and keyring_contents(keyring_env) == {}


def test_set_asks_with_a_hidden_prompt_on_a_terminal(spawn_mmcli, keyring_env):
    child = spawn_mmcli(["keys", "set", "anthropic"], keyring_env)
    child.expect("anthropic API key")
    child.sendline(STORED)
    child.expect("OS keyring")
    assert STORED not in child.before  # not echoed
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert keyring_contents(keyring_env) == {"mmcli/anthropic": STORED}
