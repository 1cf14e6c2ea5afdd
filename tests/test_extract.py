"""`-x/--extract` and `--extract-all`: only the fenced code of a streamed Markdown
answer, raw, for pipelines; an answer without code is exit 1 with a note."""

from __future__ import annotations

import json

import pytest

from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest

ANSWER = (
    "Here is the filter:\n\n"
    "```jq\nmap(.price) | add\n```\n\n"
    "And a shell line to run it:\n\n"
    "~~~bash\njq -f f.jq items.json\n~~~\n\n"
    "````markdown\n```\nnested fence stays inside\n```\n````\n"
)


def test_extract_prints_the_first_block_raw(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text=ANSWER))  # streamed word by word by the fake
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-x", "a jq filter that sums .price"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "map(.price) | add\n"
    assert done.stderr == ""


def test_extract_all_prints_every_block(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(chunks=[ANSWER[:17], ANSWER[17:23], ANSWER[23:60], ANSWER[60:]]))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--extract-all", "Q"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "map(.price) | add\n\njq -f f.jq items.json\n\n```\nnested fence stays inside\n```\n"


def test_an_answer_without_code_is_exit_1_and_kept(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="I would rather explain it in words."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "words", "-x", "Q"], mmcli_env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("mmcli: ") and "no fenced code block" in done.stderr
    shown = run_mmcli(["sessions", "show", "words", "--json"], mmcli_env)
    assert "rather explain it in words" in shown.stdout


def test_an_unclosed_last_block_runs_to_the_end(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Try:\n```python\nprint('hi')\nprint('there')"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-x", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "print('hi')\nprint('there')\n")


def test_extract_from_a_cached_answer_and_json_is_the_whole_document(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text=ANSWER))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "Q"], mmcli_env).returncode == 0
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-x", "Q"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "map(.price) | add\n")
    as_json = run_mmcli(["chat", "-m", "gpt-4o-mini", "-x", "--json", "Q"], mmcli_env)
    assert json.loads(as_json.stdout)["answer"] == ANSWER
    assert len(fake_openai.generation_requests) == 1


def test_extract_with_schema_is_refused(run_mmcli, mmcli_env, fake_openai):
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-x", "--schema", "a", "Q"], mmcli_env)
    assert done.returncode == 2 and done.stderr.startswith("mmcli: ")


def test_analyze_image_extract(run_mmcli, mmcli_env, fake_openai, tmp_path):
    from tests.test_multimodal import image_bytes, write

    photo = write(tmp_path, "chart.png", image_bytes((40, 40), "PNG"))
    fake_openai.queue(Reply(text="The data:\n\n```csv\na,b\n1,2\n```\n"))
    done = run_mmcli(["analyze-image", photo, "-m", "gpt-4o-mini", "-x", "-P", "As CSV"], mmcli_env)
    assert (done.returncode, done.stdout) == (0, "a,b\n1,2\n"), done.stderr
