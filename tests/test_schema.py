"""`--schema`: structured output through each provider's native feature, checked
against the schema; stdout is the JSON document (DESIGN.md, "More inputs and
everyday options")."""

from __future__ import annotations

import json

import pytest

from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest

FIELDS = "merchant, date, total float"
FIELDS_SCHEMA = {
    "type": "object",
    "properties": {"merchant": {"type": "string"}, "date": {"type": "string"}, "total": {"type": "number"}},
    "required": ["merchant", "date", "total"],
    "additionalProperties": False,
}


def test_chat_schema_fields_go_as_strict_response_format_and_stdout_is_the_document(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text='{"merchant": "Cafe", "date": "2026-01-02", "total": 4.5}'))
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "--schema", FIELDS, "The receipt"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"merchant": "Cafe", "date": "2026-01-02", "total": 4.5}
    assert done.stdout.count("\n") == 1
    body = fake_openai.generation_requests[-1].json
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": FIELDS_SCHEMA, "strict": True}
    }



def test_the_receipts_example_prints_one_json_line_per_image_in_order(run_mmcli, mmcli_env, fake_openai, tmp_path):
    from tests.test_multimodal import image_bytes, write

    receipts = [write(tmp_path, f"r{n}.jpg", image_bytes((60 + n, 40), "JPEG")) for n in range(3)]
    fake_openai.queue(*[Reply(text=json.dumps({"merchant": f"Shop {n}", "date": f"2026-11-0{n}", "total": n + 0.5}))
                        for n in range(3)])
    done = run_mmcli(["analyze-image", *receipts, "--schema", FIELDS, "-m", "openai:gpt-4o-mini",
                      "--concurrency", "1"], mmcli_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"merchant": f"Shop {n}", "date": f"2026-11-0{n}", "total": n + 0.5} for n in range(3)
    ]
    assert all(r.json["response_format"]["json_schema"]["schema"] == FIELDS_SCHEMA
               for r in fake_openai.generation_requests)


def test_one_image_with_json_carries_answer_and_data(run_mmcli, mmcli_env, fake_openai, tmp_path):
    from tests.test_multimodal import image_bytes, write

    photo = write(tmp_path, "r.png", image_bytes((50, 50), "PNG"))
    text = '{"merchant": "Kiosk", "date": "today", "total": 3}'
    fake_openai.queue(Reply(text=text))
    done = run_mmcli(["analyze-image", photo, "--schema", FIELDS, "-m", "openai:gpt-4o-mini", "--json"], mmcli_env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["answer"] == text
    assert document["data"] == {"merchant": "Kiosk", "date": "today", "total": 3}
    assert document["path"] == photo


def test_inline_json_schema_that_is_not_strict_goes_unstrict(run_mmcli, mmcli_env, fake_openai):
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}
    fake_openai.queue(Reply(text='{"tags": ["a", "b"]}'))
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "--schema", json.dumps(schema), "Tags?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"tags": ["a", "b"]}
    sent = fake_openai.generation_requests[-1].json["response_format"]["json_schema"]
    assert sent["schema"] == schema and sent["strict"] is False


def test_a_schema_file_goes_to_anthropic_as_structured_output(run_mmcli, mmcli_env, fake_anthropic, tmp_path):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "people": {"type": "integer"}},
              "required": ["city", "people"], "additionalProperties": False}
    path = tmp_path / "city.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    fake_anthropic.queue(Reply(text='{"city": "Oslo", "people": 709000}'))
    done = run_mmcli(["chat", "-m", "claude-haiku-4-5", "--schema", str(path), "Capital of Norway"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"city": "Oslo", "people": 709000}
    body = fake_anthropic.generation_requests[-1].json
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_gemini_gets_response_json_schema(run_mmcli, mmcli_env, fake_gemini):
    fake_gemini.queue(Reply(text='{"name": "Ada", "age": 36}'))
    done = run_mmcli(["chat", "-m", "gemini:gemini-2.5-flash", "--schema", "name, age int", "Who?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"name": "Ada", "age": 36}
    config = fake_gemini.generation_requests[-1].json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"] == {"name": {"type": "string"}, "age": {"type": "integer"}}


def test_compat_servers_also_get_the_schema_in_words(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text='```json\n{"word": "hi"}\n```'))
    done = run_mmcli(["chat", "-m", "compat:local", "--schema", "word: one word", "Greet"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"word": "hi"}  # a fenced document is still the document
    body = fake_openai.generation_requests[-1].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["messages"][0]["role"] == "system"
    assert '"description": "one word"' in body["messages"][0]["content"]


def test_field_descriptions_and_types(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text='{"name": "x", "age": 3, "score": 0.5, "ok": true}'))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--schema",
                      "name, age int, score float: from 0 to 1, ok bool", "Q"], mmcli_env)
    assert done.returncode == 0, done.stderr
    props = fake_openai.generation_requests[-1].json["response_format"]["json_schema"]["schema"]["properties"]
    assert props == {"name": {"type": "string"}, "age": {"type": "integer"},
                     "score": {"type": "number", "description": "from 0 to 1"}, "ok": {"type": "boolean"}}


def test_an_answer_that_fails_the_schema_is_exit_1_and_not_cached(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text='{"merchant": "Cafe", "date": "x", "total": "lots"}'),
                      Reply(text='{"merchant": "Cafe", "date": "x", "total": 9.5}'))
    args = ["chat", "-m", "gpt-4o-mini", "--schema", FIELDS, "Receipt"]
    bad = run_mmcli(args, mmcli_env)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("mmcli: ") and "total" in bad.stderr and "number" in bad.stderr
    good = run_mmcli(args, mmcli_env)  # the bad answer was not cached: the model is asked again
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["total"] == 9.5
    assert len(fake_openai.generation_requests) == 2
    again = run_mmcli([*args[:-1], "--json", "Receipt"], mmcli_env)  # the good one was
    assert json.loads(again.stdout)["cached"] is True and json.loads(again.stdout)["data"]["total"] == 9.5
    assert len(fake_openai.generation_requests) == 2


def test_not_json_at_all_with_json_output(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Sorry, I cannot."))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--schema", "a", "--json", "Q"], mmcli_env)
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["answer"] == "Sorry, I cannot." and document["data"] is None
    assert "not JSON" in document["error"]


def test_the_schema_is_part_of_the_cache_key(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text='{"a": "1"}'), Reply(text='{"b": "1"}'))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "--schema", "a", "Q"], mmcli_env).returncode == 0
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--schema", "b", "Q"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"b": "1"}
    assert len(fake_openai.generation_requests) == 2


@pytest.mark.parametrize("value, words", [("{not json", "not valid JSON"), ("name list", "Cannot read the schema"),
                                          ("missing.json", "Cannot read the schema file")])
def test_a_bad_schema_is_a_usage_error(run_mmcli, mmcli_env, fake_openai, value, words):
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--schema", value, "Q"], mmcli_env)
    assert done.returncode == 2
    assert done.stderr.startswith("mmcli: ") and words in done.stderr and "Traceback" not in done.stderr
    assert fake_openai.generation_requests == []


def test_compare_checks_each_answer(run_mmcli_subprocess, mmcli_env, fake_openai, fake_gemini):
    fake_openai.queue(Reply(text='{"n": 1}'))
    fake_gemini.queue(Reply(text='{"n": "one"}'))
    # compare forks: a process of its own, not the pytest process
    done = run_mmcli_subprocess(["compare", "Q", "--schema", "n int", "-m", "openai:gpt-4o-mini", "-m",
                                 "gemini:gemini-2.5-flash", "--json"], mmcli_env)
    assert done.returncode == 1
    results = {r["provider"]: r for r in json.loads(done.stdout)["results"]}
    assert results["openai"]["data"] == {"n": 1}
    assert results["gemini"]["data"] is None and "schema" in results["gemini"]["error"]


@pytest.fixture
def fake_openai_batch():
    from tests.fakes.openai_batch import FakeOpenAIBatch

    with FakeOpenAIBatch() as fake:
        yield fake


def test_batch_submit_sends_the_schema_in_every_line(run_mmcli, mmcli_env, fake_openai_batch, tmp_path):
    lines = tmp_path / "q.jsonl"
    lines.write_text('{"prompt": "one"}\n{"prompt": "two"}\n', encoding="utf-8")
    env = {**mmcli_env, "OPENAI_BASE_URL": fake_openai_batch.base_url}
    done = run_mmcli(["batch", "submit", str(lines), "-m", "openai:gpt-4o-mini", "--schema", FIELDS], env)
    assert done.returncode == 0, done.stderr
    (job,) = fake_openai_batch.batches.jobs.values()
    formats = [line["body"]["response_format"] for _, line in job.requests]
    assert formats == [{"type": "json_schema", "json_schema": {"name": "answer", "schema": FIELDS_SCHEMA,
                                                               "strict": True}}] * 2


def test_perplexity_gets_its_own_json_schema_format(run_mmcli, mmcli_env, fake_perplexity):
    fake_perplexity.queue(Reply(text='{"city": "Paris"}'))
    done = run_mmcli(["chat", "-m", "perplexity:sonar", "--schema", "city", "Capital of France"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"city": "Paris"}
    sent = fake_perplexity.generation_requests[-1].json["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}}


def test_a_cached_structured_answer_imports_no_sdk(run_mmcli, mmcli_env, fake_anthropic):
    from tests.test_cache_and_fallback import imported_sdks

    fake_anthropic.queue(Reply(text='{"n": 3}'))
    args = ["chat", "-m", "claude-haiku-4-5", "--schema", "n int", "Three"]
    assert run_mmcli(args, mmcli_env).returncode == 0
    again = run_mmcli(args, {**mmcli_env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0
    assert again.stdout == '{"n": 3}\n'
    assert imported_sdks(again.stderr) == set()
    assert len(fake_anthropic.generation_requests) == 1


def test_gemini_batch_keeps_the_schema_verbatim(run_mmcli, mmcli_env, tmp_path):
    from tests.fakes.gemini_batch import FakeGeminiBatch

    lines = tmp_path / "q.jsonl"
    lines.write_text('{"prompt": "one"}\n', encoding="utf-8")
    schema = {"type": "object", "properties": {"snake_case_name": {"type": "string"}},
              "required": ["snake_case_name"], "additionalProperties": False}
    with FakeGeminiBatch() as fake:
        env = {**mmcli_env, "GOOGLE_GEMINI_BASE_URL": fake.base_url}
        done = run_mmcli(["batch", "submit", str(lines), "-m", "gemini:gemini-2.5-flash", "--schema",
                          json.dumps(schema)], env)
        assert done.returncode == 0, done.stderr
        (job,) = fake.batches.jobs.values()
    config = job.requests[0][1]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema  # property names are data: not camelCased


def test_several_images_one_failing_the_schema(run_mmcli, mmcli_env, fake_openai, tmp_path):
    from tests.test_multimodal import image_bytes, write

    photos = [write(tmp_path, f"p{n}.png", image_bytes((30 + n, 30), "PNG")) for n in range(2)]
    fake_openai.queue(Reply(text='{"merchant": "A", "date": "d", "total": 1}'), Reply(text='{"merchant": "B"}'))
    done = run_mmcli(["analyze-image", *photos, "--schema", FIELDS, "-m", "gpt-4o-mini", "--concurrency", "1"],
                     mmcli_env)
    assert done.returncode == 1
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"merchant": "A", "date": "d", "total": 1}]
    assert f"{photos[1]}:" in done.stderr and "lacks 'date'" in done.stderr
    assert "1 of 2 images described; 1 failed" in done.stderr
