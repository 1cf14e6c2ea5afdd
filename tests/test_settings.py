"""`mmcli config get|set|unset|list`, `mmcli models default [MODEL]` and `mmcli aliases`:
config.toml changed from the command line, checked before it is written, its comments kept,
and what the next chat sends."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.fakes import Reply
from tests.test_chat import only_keys, write_config

pytestmark = pytest.mark.in_pytest

COMMENTED = """\
# my mmcli settings
timeout = 30  # seconds, for slow links

[cache]
# a week is enough
ttl_days = 7
"""


def config_text(env: dict[str, str]) -> str:
    return (Path(env["MMCLI_CONFIG_DIR"]) / "config.toml").read_text()


def test_set_then_get_keeps_the_files_comments_and_layout(run_mmcli, mmcli_env):
    write_config(mmcli_env, COMMENTED)
    for key, value in (("timeout", "120"), ("retries", "4"), ("cache.max_mb", "50"), ("worker", "false"),
                       ("fallback", "openai:gpt-4o-mini, anthropic:claude-haiku-4-5")):
        done = run_mmcli(["config", "set", key, value], mmcli_env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
    text = config_text(mmcli_env)
    assert text.startswith("# my mmcli settings\ntimeout = 120  # seconds, for slow links\n")
    assert "[cache]\n# a week is enough\nttl_days = 7\nmax_mb = 50\n" in text
    assert 'fallback = ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"]' in text
    # top-level settings stay above the first table, where TOML needs them
    assert text.index("retries = 4") < text.index("[cache]") and text.index("worker = false") < text.index("[cache]")
    for key, expected in (("timeout", "120"), ("retries", "4"), ("cache.max_mb", "50"), ("cache.ttl_days", "7"),
                          ("worker", "false"), ("fallback", "openai:gpt-4o-mini,anthropic:claude-haiku-4-5"),
                          ("worker_idle_minutes", "10")):
        done = run_mmcli(["config", "get", key], mmcli_env)
        assert (done.returncode, done.stdout) == (0, expected + "\n"), (key, done.stderr)


def test_a_new_config_file_is_private(run_mmcli, mmcli_env):
    done = run_mmcli(["config", "set", "timeout", "90"], mmcli_env)
    assert done.returncode == 0, done.stderr
    path = Path(mmcli_env["MMCLI_CONFIG_DIR"]) / "config.toml"
    assert path.read_text() == "timeout = 90\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("args", "message"), [
    (["timeout", "soon"], "timeout takes a number, not 'soon'."),
    (["timeout", "-1"], "'timeout' must be positive"),
    (["retries", "2.5"], "retries takes a whole number"),
    (["worker", "maybe"], "worker takes true or false, not 'maybe'."),
    (["cache.ttl_days", "nan"], "must be a finite number"),
    (["timout", "5"], "Unknown setting 'timout' (did you mean timeout?)"),
    (["cache.ttl", "5"], "(did you mean cache.ttl_days?)"),
    (["providers.opneai.base_url", "http://x/v1"], "Unknown provider 'opneai' in 'providers.opneai.base_url' "
                                                   "(did you mean openai?)"),
    (["default_model", ""], "default_model needs a value"),
])
def test_a_bad_key_or_value_is_exit_2_and_leaves_the_file_alone(run_mmcli, mmcli_env, args, message):
    write_config(mmcli_env, COMMENTED)
    done = run_mmcli(["config", "set", *args], mmcli_env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.startswith("mmcli: ") and done.stderr.count("\n") == 1
    assert config_text(mmcli_env) == COMMENTED


def test_a_model_with_an_unknown_provider_is_exit_3_as_with_m(run_mmcli, mmcli_env):
    done = run_mmcli(["config", "set", "default_model", "openia:gpt-4o"], mmcli_env)
    assert done.returncode == 3
    assert "Unknown provider 'openia' (did you mean openai?)" in done.stderr
    assert not (Path(mmcli_env["MMCLI_CONFIG_DIR"]) / "config.toml").exists()


def test_a_malformed_config_file_is_exit_3_and_is_not_rewritten(run_mmcli, mmcli_env):
    broken = "timeout = = 3\n"
    write_config(mmcli_env, broken)
    for args in (["config", "set", "timeout", "5"], ["config", "list"], ["aliases", "set", "fast", "gpt-4o-mini"]):
        done = run_mmcli(args, mmcli_env)
        assert done.returncode == 3, (args, done.stderr)
        assert "is not valid TOML" in done.stderr and "Traceback" not in done.stderr
    assert config_text(mmcli_env) == broken


def test_list_in_a_pipe_is_key_tab_value_and_json_has_the_types(run_mmcli, mmcli_env):
    write_config(mmcli_env, COMMENTED + '\n[aliases]\nfast = "openai:gpt-4o-mini"\n')
    done = run_mmcli(["config", "list"], mmcli_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "timeout\t30" in lines and "cache.ttl_days\t7" in lines and "retries\t2" in lines
    assert "aliases.fast\topenai:gpt-4o-mini" in lines and "default_model\t" in lines
    assert all(line.count("\t") == 1 for line in lines)
    document = json.loads(run_mmcli(["config", "list", "--json"], mmcli_env).stdout)
    assert document["timeout"] == 30 and document["worker"] is True and document["fallback"] == []
    assert document["default_model"] is None and document["aliases.fast"] == "openai:gpt-4o-mini"


def test_unset_brings_the_default_back_and_keeps_the_tables_comments(run_mmcli, mmcli_env):
    write_config(mmcli_env, COMMENTED)
    done = run_mmcli(["config", "unset", "cache.ttl_days"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert "# a week is enough" in config_text(mmcli_env) and "ttl_days" not in config_text(mmcli_env)
    assert run_mmcli(["config", "get", "cache.ttl_days"], mmcli_env).stdout == "30\n"
    again = run_mmcli(["config", "unset", "cache.ttl_days"], mmcli_env)
    assert again.returncode == 0 and "nothing to remove" in again.stderr


def test_a_setting_written_here_is_one_the_next_chat_obeys(run_mmcli, mmcli_env, fake_openai):
    assert run_mmcli(["config", "set", "timeout", "7"], mmcli_env).returncode == 0
    fake_openai.queue(Reply(text="ok"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--no-cache", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert float(fake_openai.last_request.headers["x-stainless-read-timeout"]) == 7.0


# --- models default -----------------------------------------------------------------------------


def test_models_default_says_which_model_and_why(run_mmcli, mmcli_env):
    env = only_keys(mmcli_env, "ANTHROPIC_API_KEY")
    done = run_mmcli(["models", "default"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("anthropic:")
    shown = json.loads(run_mmcli(["models", "default", "--json"], env).stdout)
    assert shown["model"] == done.stdout.strip()
    assert shown["source"] == "the first provider with a key: ANTHROPIC_API_KEY from env"


def test_models_default_model_sets_it_and_chat_uses_it(run_mmcli, mmcli_env, fake_openai):
    done = run_mmcli(["models", "default", "openai:gpt-4o-mini"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert 'default_model = "openai:gpt-4o-mini"' in config_text(mmcli_env)
    assert run_mmcli(["models", "default"], mmcli_env).stdout == "openai:gpt-4o-mini\n"
    assert "default_model in" in json.loads(run_mmcli(["models", "default", "--json"], mmcli_env).stdout)["source"]
    fake_openai.queue(Reply(text="ok"))
    assert run_mmcli(["chat", "--no-cache", "Hi"], mmcli_env).returncode == 0
    assert fake_openai.last_request.json["model"] == "gpt-4o-mini"


def test_models_default_with_a_misspelt_model_notes_the_likely_one(run_mmcli, mmcli_env):
    done = run_mmcli(["models", "default", "openai:gpt-4o-mni"], mmcli_env)
    assert done.returncode == 0
    assert "(did you mean openai:gpt-4o-mini?)" in done.stderr
    unknown = run_mmcli(["models", "default", "nosuchmodel"], mmcli_env)
    assert unknown.returncode == 3 and "Unknown model or alias 'nosuchmodel'" in unknown.stderr


def test_models_still_lists_as_it_did(run_mmcli, mmcli_env):
    listed = run_mmcli(["models"], mmcli_env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split("\t")[0] == "gemini:gemini-2.5-flash"
    rows = json.loads(run_mmcli(["models", "--json"], mmcli_env).stdout)
    assert rows[0]["model"] == "gemini:gemini-2.5-flash" and "key_set" in rows[0]
    extra = run_mmcli(["models", "gemini"], mmcli_env)
    assert extra.returncode == 2


# --- aliases -----------------------------------------------------------------------------------


def test_aliases_set_list_use_remove(run_mmcli, mmcli_env, fake_anthropic):
    write_config(mmcli_env, COMMENTED)
    done = run_mmcli(["aliases", "set", "smart", "anthropic:claude-sonnet-4-5"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert run_mmcli(["aliases", "set", "fast", "smart"], mmcli_env).returncode == 0  # an alias of an alias
    assert run_mmcli(["aliases", "list"], mmcli_env).stdout.splitlines() == [
        "smart\tanthropic:claude-sonnet-4-5", "fast\tsmart"]
    assert json.loads(run_mmcli(["aliases", "list", "--json"], mmcli_env).stdout) == {
        "smart": "anthropic:claude-sonnet-4-5", "fast": "smart"}
    assert config_text(mmcli_env).startswith(COMMENTED)

    fake_anthropic.queue(Reply(text="hi"))
    done = run_mmcli(["chat", "-m", "fast", "--no-cache", "Hi"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert fake_anthropic.last_request.json["model"] == "claude-sonnet-4-5"

    assert run_mmcli(["aliases", "remove", "fast"], mmcli_env).returncode == 0
    assert run_mmcli(["aliases", "list"], mmcli_env).stdout == "smart\tanthropic:claude-sonnet-4-5\n"
    missing = run_mmcli(["aliases", "remove", "fast"], mmcli_env)
    assert missing.returncode == 2 and "There is no alias 'fast'; aliases: smart." in missing.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (["aliases", "set", "a:b", "gpt-4o-mini"], 2, "cannot be an alias"),
    (["aliases", "set", "fast", "openia:gpt-4o"], 3, "Unknown provider 'openia'"),
    (["aliases", "set", "loop", "loop"], 3, "Unknown model or alias 'loop'"),
])
def test_bad_aliases_are_refused(run_mmcli, mmcli_env, args, code, message):
    done = run_mmcli(args, mmcli_env)
    assert done.returncode == code, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (Path(mmcli_env["MMCLI_CONFIG_DIR"]) / "config.toml").exists()
