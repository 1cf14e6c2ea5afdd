"""`mmcli batch` and `analyze-image --batch` end to end: the real SDKs against
fake OpenAI, Anthropic and Gemini batch APIs, one mmcli process per step
(submit in one, wait and results in others), as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.fakes import Reply
from tests.fakes.anthropic_batch import FakeAnthropicBatch
from tests.fakes.batch_jobs import EXPIRED, FAILED
from tests.fakes.gemini_batch import FakeGeminiBatch, decode_base64
from tests.fakes.openai_batch import FakeOpenAIBatch
from tests.test_multimodal import image_bytes, write

pytestmark = pytest.mark.in_pytest

RESULT_KEYS = [
    "id", "model", "provider", "answer", "input_tokens", "output_tokens", "ttft_s", "total_s", "cost_usd",
    "cached", "citations", "session", "finish_reason", "error",
]
STATUS_KEYS = ["job", "provider", "model", "state", "counts", "created_at", "provider_jobs"]


# The batch-capable fakes stand in for the plain ones, so `mmcli_env` points every provider at them.
@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIBatch]:
    with FakeOpenAIBatch() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropicBatch]:
    with FakeAnthropicBatch() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def fake_gemini() -> Iterator[FakeGeminiBatch]:
    with FakeGeminiBatch() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def env(mmcli_env: dict[str, str]) -> dict[str, str]:
    return {**mmcli_env, "MMCLI_BATCH_POLL_S": "0.01"}


def requests_file(tmp_path: Path, lines: list[object], name: str = "prompts.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


def submitted(run_mmcli, args: list[str], env: dict[str, str]) -> str:
    done = run_mmcli(args, env)
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    assert job.isdigit(), done.stdout
    assert f"mmcli batch wait {job}" in done.stderr
    return job


def results_of(run_mmcli, job: str, env: dict[str, str], expect: int = 0) -> list[dict]:
    done = run_mmcli(["batch", "results", job], env)
    assert done.returncode == expect, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def status_of(run_mmcli, job: str, env: dict[str, str]) -> dict:
    done = run_mmcli(["batch", "status", job, "--json"], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def uploaded_lines(fake: FakeOpenAIBatch) -> list[dict]:
    lines: list[dict] = []
    for request in fake.requests:
        if request.method == "POST" and request.path == "/v1/files":
            lines += [json.loads(line) for line in request.form["file"].data.splitlines()]  # type: ignore[union-attr]
    return lines


# --- OpenAI -------------------------------------------------------------------------------------


def test_openai_submit_in_one_process_results_in_another(run_mmcli, env, fake_openai, tmp_path):
    photo = write(tmp_path, "photo.png", image_bytes((40, 30)))
    path = requests_file(tmp_path, [
        {"id": "a", "prompt": "Capital of France?"},
        "",
        {"prompt": "What is in the picture?", "images": [photo]},
        {"id": 7, "prompt": "Say hi", "system": "Be terse"},
    ])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "openai:gpt-4o-mini", "-s", "Be helpful"], env)
    assert job == "1"
    lines = uploaded_lines(fake_openai)
    assert [line["url"] for line in lines] == ["/v1/chat/completions"] * 3
    assert all("stream" not in line["body"] and "stream_options" not in line["body"] for line in lines)
    assert lines[0]["body"]["messages"][0] == {"role": "system", "content": "Be helpful"}
    assert lines[2]["body"]["messages"][0] == {"role": "system", "content": "Be terse"}  # a line's system wins
    created = [r for r in fake_openai.requests if r.path == "/v1/batches" and r.method == "POST"]
    assert len(created) == 1 and created[0].json["endpoint"] == "/v1/chat/completions"

    # The same request through `chat` is the batch line's body plus the streaming fields.
    chat = run_mmcli(["chat", "Capital of France?", "-m", "openai:gpt-4o-mini", "-s", "Be helpful"], env)
    assert chat.returncode == 0, chat.stderr
    streamed = dict(fake_openai.generation_requests[-1].json)
    streamed.pop("stream"), streamed.pop("stream_options")
    assert streamed == lines[0]["body"]

    waited = run_mmcli(["batch", "wait", job], env)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout == "" and "is done: 3 of 3 requests succeeded" in waited.stderr
    results = results_of(run_mmcli, job, env)
    assert [r["id"] for r in results] == ["a", "3", "7"]  # input order; the fake answers in reverse
    assert [r["answer"] for r in results] == [
        "Answer to: Capital of France?", "Answer to: What is in the picture?", "Answer to: Say hi"]
    assert list(results[0]) == RESULT_KEYS
    assert results[1]["path"] == photo and "path" not in results[0]
    first = results[0]
    assert (first["ttft_s"], first["total_s"], first["session"], first["cached"], first["error"]) == (
        None, None, None, False, None)
    assert first["finish_reason"] == "stop" and first["provider"] == "openai" and first["model"] == "gpt-4o-mini"
    # Half of the price table's price for the tokens the fake reported (10 in, one per word out).
    from mmcli.pricing import cost_usd

    assert (first["input_tokens"], first["output_tokens"]) == (10, 5)
    assert first["cost_usd"] == pytest.approx(cost_usd("openai", "gpt-4o-mini", 10, 5) / 2)


def test_per_request_errors_and_expiry_are_reported_and_exit_1(run_mmcli, env, fake_openai, tmp_path):
    fake_openai.batches.plan.answer = lambda prompt: (
        Reply(status=400, error_message="Invalid image.") if "bad" in prompt else Reply(text=f"ok {prompt}"))
    fake_openai.batches.plan.end = EXPIRED
    fake_openai.batches.plan.expire_after = 2
    path = requests_file(tmp_path, [{"prompt": "good one"}, {"prompt": "bad one"}, {"prompt": "late one"}])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "gpt-4o-mini"], env)
    waited = run_mmcli(["batch", "wait", job, "--json"], env)
    assert waited.returncode == 1
    document = json.loads(waited.stdout)
    assert document["state"] == "expired"
    assert document["counts"] == {"total": 3, "succeeded": 1, "failed": 2, "pending": 0}
    results = results_of(run_mmcli, job, env, expect=1)
    assert [r["error"] is None for r in results] == [True, False, False]
    assert "Invalid image" in results[1]["error"] and results[1]["answer"] is None
    assert "24-hour window" in results[2]["error"]
    assert "2 of 3 requests did not succeed" in run_mmcli(["batch", "results", job], env).stderr


def test_answers_end_as_they_would_in_chat(run_mmcli, env, fake_anthropic, tmp_path):
    endings = {"cut": Reply(text="A long answer", finish_reason="max_tokens"),
               "refuse": Reply(text="I cannot help with that.", finish_reason="refusal")}
    fake_anthropic.batches.plan.answer = lambda prompt: endings.get(prompt, Reply(text="fine"))
    path = requests_file(tmp_path, [{"prompt": "cut"}, {"prompt": "refuse"}, {"prompt": "ok"}])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "claude-haiku-4-5"], env)
    waited = run_mmcli(["batch", "wait", job, "--json"], env)
    assert waited.returncode == 1
    assert json.loads(waited.stdout)["counts"] == {"total": 3, "succeeded": 2, "failed": 1, "pending": 0}
    cut, refused, fine = results_of(run_mmcli, job, env, expect=1)
    # Cut at the limit with text: an answer, with chat's note; a refusal fails with chat's sentence.
    assert (cut["finish_reason"], cut["answer"]) == ("length", "A long answer") and "raise --max-tokens" in cut["error"]
    assert refused["finish_reason"] == "refusal" and "refused" in refused["error"]
    assert (fine["finish_reason"], fine["error"]) == ("stop", None)


def test_a_batch_the_provider_fails_is_failed(run_mmcli, env, fake_openai, tmp_path):
    fake_openai.batches.plan.end = FAILED
    job = submitted(run_mmcli, ["batch", "submit", requests_file(tmp_path, [{"prompt": "x"}]), "-m", "gpt-4o-mini"],
                    env)
    waited = run_mmcli(["batch", "wait", job, "--json"], env)
    assert waited.returncode == 1
    document = json.loads(waited.stdout)
    assert document["state"] == "failed" and "invalid line" in document["provider_jobs"][0]["error"]
    assert "invalid line" in results_of(run_mmcli, job, env, expect=1)[0]["error"]


def test_a_crash_between_upload_and_create_is_resumed(run_mmcli, env, fake_openai, tmp_path, mmcli_cwd):
    fake_openai.batches.plan.hang_create = True
    path = requests_file(tmp_path, [{"prompt": "one"}, {"prompt": "two"}])
    process = subprocess.Popen([sys.executable, "-m", "mmcli", "batch", "submit", path, "-m", "gpt-4o-mini"],
                               env=env, cwd=mmcli_cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not any(r.path == "/v1/batches" and r.method == "POST" for r in fake_openai.requests):
            assert process.poll() is None and time.monotonic() < deadline, "submit never reached create"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # dies with the upload done and the create unanswered
    finally:
        process.wait(timeout=10)
    fake_openai.batches.plan.hang_create = False

    document = status_of(run_mmcli, "1", env)  # any later process finishes the submission
    assert document["state"] == "running" and document["provider_jobs"][0]["id"]
    uploads = [r for r in fake_openai.requests if r.path == "/v1/files" and r.method == "POST"]
    assert len(uploads) == 1  # the recorded upload is reused, not repeated
    assert any(r.path == "/v1/batches" and r.method == "GET" for r in fake_openai.requests)  # looked for a lost create
    assert len(fake_openai.batches.jobs) == 1
    assert run_mmcli(["batch", "wait", "1"], env).returncode == 0
    assert [r["answer"] for r in results_of(run_mmcli, "1", env)] == ["Answer to: one", "Answer to: two"]
    assert list((Path(env["MMCLI_DATA_DIR"]) / "batches").iterdir()) == []  # the spool is gone once submitted


def test_a_provider_job_the_provider_refuses_fails_and_its_upload_is_deleted(run_mmcli, env, fake_openai, tmp_path):
    fake_openai.batches.plan.refuse_create = "Model gpt-4o-mini is not available for batches."
    done = run_mmcli(["batch", "submit", requests_file(tmp_path, [{"prompt": "x"}]), "-m", "gpt-4o-mini"], env)
    assert done.returncode == 1 and done.stdout == "1\n"
    assert "Job 1 failed: openai refused the request (400): Model gpt-4o-mini is not available" in done.stderr
    assert len(fake_openai.deleted_files) == 1 and fake_openai.batches.jobs == {}
    assert status_of(run_mmcli, "1", env)["state"] == "failed"
    assert "not available for batches" in results_of(run_mmcli, "1", env, expect=1)[0]["error"]


def test_a_job_splits_over_several_provider_jobs(run_mmcli, env, fake_openai, tmp_path):
    env = {**env, "MMCLI_BATCH_MAX_REQUESTS": "2"}
    path = requests_file(tmp_path, [{"id": f"q{n}", "prompt": f"question {n}"} for n in range(5)])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "gpt-4o-mini"], env)
    document = status_of(run_mmcli, job, env)
    assert [p["requests"] for p in document["provider_jobs"]] == [2, 2, 1]
    assert len({p["id"] for p in document["provider_jobs"]}) == 3 and len(fake_openai.batches.jobs) == 3
    assert run_mmcli(["batch", "wait", job], env).returncode == 0
    results = results_of(run_mmcli, job, env)
    assert [r["id"] for r in results] == [f"q{n}" for n in range(5)]
    assert [r["answer"] for r in results] == [f"Answer to: question {n}" for n in range(5)]
    # Each provider job's input file is deleted once its answers are stored.
    assert len(fake_openai.deleted_files) == 3


def test_results_to_a_private_file_replaced_atomically(run_mmcli, env, fake_openai, tmp_path):
    job = submitted(run_mmcli, ["batch", "submit", requests_file(tmp_path, [{"prompt": "hi"}]), "-m", "gpt-4o-mini"],
                    env)
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    run_mmcli(["batch", "wait", job], env)
    done = run_mmcli(["batch", "results", job, "-o", str(target)], env)
    assert done.returncode == 0 and done.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["answer"] == "Answer to: hi"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_results_of_a_running_job_point_to_wait(run_mmcli, env, fake_openai, tmp_path):
    fake_openai.batches.plan.hold = True
    job = submitted(run_mmcli, ["batch", "submit", requests_file(tmp_path, [{"prompt": "hi"}]), "-m", "gpt-4o-mini"],
                    env)
    done = run_mmcli(["batch", "results", job], env)
    assert done.returncode == 2 and done.stdout == ""
    assert f"mmcli batch wait {job}" in done.stderr and done.stderr.startswith("mmcli: ")


def test_cancel_drops_what_has_not_run(run_mmcli, env, fake_openai, tmp_path):
    fake_openai.batches.plan.hold = True
    path = requests_file(tmp_path, [{"prompt": "a"}, {"prompt": "b"}])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "gpt-4o-mini"], env)
    cancelled = run_mmcli(["batch", "cancel", job, "--json"], env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert list(json.loads(cancelled.stdout)) == STATUS_KEYS
    assert any(r.path.endswith("/cancel") for r in fake_openai.requests)
    waited = run_mmcli(["batch", "wait", job, "--json"], env)
    assert waited.returncode == 1 and json.loads(waited.stdout)["state"] == "cancelled"
    assert all("cancelled" in r["error"] for r in results_of(run_mmcli, job, env, expect=1))


def test_wait_shows_progress_and_ctrl_c_leaves_the_job_running(spawn_mmcli, run_mmcli, env, fake_openai, tmp_path):
    fake_openai.batches.plan.hold = True
    job = submitted(run_mmcli, ["batch", "submit", requests_file(tmp_path, [{"prompt": "a"}]), "-m", "gpt-4o-mini"],
                    env)
    child = spawn_mmcli(["batch", "wait", job], env)
    child.expect(f"Job {job} running")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert f"mmcli batch wait {job}" in child.before
    # SIGTERM (a closed session, a supervisor) is the same, with its own exit code.
    polls = len(fake_openai.requests)
    waiting = subprocess.Popen([sys.executable, "-m", "mmcli", "batch", "wait", job], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fake_openai.wait_for_requests(polls + 2, timeout=30)  # polling by now
    waiting.send_signal(signal.SIGTERM)
    _, stderr = waiting.communicate(timeout=30)
    assert waiting.returncode == 143 and f"mmcli batch wait {job}" in stderr
    fake_openai.batches.release()
    assert status_of(run_mmcli, job, env)["state"] in ("running", "done")
    assert run_mmcli(["batch", "wait", job], env).returncode == 0


# --- Anthropic ----------------------------------------------------------------------------------


def test_analyze_image_batch_through_anthropic(run_mmcli, env, fake_anthropic, tmp_path):
    images = [write(tmp_path, f"img{n}.png", image_bytes((30 + n, 20))) for n in range(2)]
    args = ["analyze-image", *images, "--batch", "-P", "One-line alt text", "-m", "anthropic:claude-haiku-4-5",
            "-t", "0.2"]
    job = submitted(run_mmcli, args, env)
    created = [r for r in fake_anthropic.requests if r.path == "/v1/messages/batches" and r.method == "POST"]
    assert len(created) == 1
    requests = created[0].json["requests"]
    assert [r["custom_id"] for r in requests] == ["r1", "r2"]
    params = requests[0]["params"]
    assert "stream" not in params and "extra_body" not in params and params["temperature"] == 0.2
    blocks = params["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": "One-line alt text"} and blocks[1]["type"] == "image"
    assert run_mmcli(["batch", "wait", job], env).returncode == 0
    results = results_of(run_mmcli, job, env)
    assert [(r["id"], r["path"]) for r in results] == [("1", images[0]), ("2", images[1])]
    assert all(r["answer"] == "Answer to: One-line alt text" and r["provider"] == "anthropic" for r in results)


def test_anthropic_errored_and_expired_requests(run_mmcli, env, fake_anthropic, tmp_path):
    fake_anthropic.batches.plan.answer = lambda prompt: Reply(status=400, error_message="Too long.") if prompt == "x" \
        else Reply(text="fine")
    fake_anthropic.batches.plan.end = EXPIRED
    fake_anthropic.batches.plan.expire_after = 2
    path = requests_file(tmp_path, [{"prompt": "x"}, {"prompt": "y"}, {"prompt": "z"}])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "claude-haiku-4-5"], env)
    waited = run_mmcli(["batch", "wait", job, "--json"], env)
    assert waited.returncode == 1
    assert json.loads(waited.stdout)["counts"] == {"total": 3, "succeeded": 1, "failed": 2, "pending": 0}
    results = results_of(run_mmcli, job, env, expect=1)
    assert "Too long" in results[0]["error"] and results[1]["answer"] == "fine" and "24-hour" in results[2]["error"]


# --- Gemini -------------------------------------------------------------------------------------


def test_gemini_inline_batch(run_mmcli, env, fake_gemini, tmp_path):
    photo = write(tmp_path, "photo.png", image_bytes((30, 30)))
    path = requests_file(tmp_path, [{"prompt": "first"}, {"prompt": "second", "images": [photo]}])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "gemini:gemini-2.5-flash", "-s", "Short",
                                "--max-tokens", "50"], env)
    created = [r for r in fake_gemini.requests if r.path.endswith(":batchGenerateContent")]
    assert len(created) == 1
    inlined = created[0].json["batch"]["inputConfig"]["requests"]["requests"]
    assert [item["metadata"]["key"] for item in inlined] == ["r1", "r2"]
    request = inlined[1]["request"]
    assert request["systemInstruction"]["parts"] == [{"text": "Short"}]
    assert request["generationConfig"]["maxOutputTokens"] == 50
    blob = request["contents"][0]["parts"][1]["inlineData"]
    assert decode_base64(blob["data"]).startswith(b"\x89PNG")
    assert run_mmcli(["batch", "wait", job], env).returncode == 0
    results = results_of(run_mmcli, job, env)
    assert [r["answer"] for r in results] == ["Answer to: first", "Answer to: second"]
    assert results[0]["finish_reason"] == "stop" and results[0]["input_tokens"] == 10


def test_gemini_beyond_20_mb_goes_up_as_a_file(run_mmcli, env, fake_gemini, tmp_path):
    from tests.fakes.transcription import file_store

    padding = "word " * 220_000  # about 1.1 MB per request, 21 requests: past the 20 MB inline limit
    path = requests_file(tmp_path, [{"id": f"p{n}", "prompt": f"{n} {padding}"} for n in range(21)])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "gemini-2.5-flash"], env)
    created = [r for r in fake_gemini.requests if r.path.endswith(":batchGenerateContent")]
    assert created[0].json["batch"]["inputConfig"]["fileName"].startswith("files/")
    uploaded = next(iter(file_store(fake_gemini).data.values()))
    first = json.loads(uploaded.splitlines()[0])
    assert first["key"] == "r1" and first["request"]["contents"][0]["parts"][0]["text"].startswith("0 word")
    assert run_mmcli(["batch", "wait", job], env).returncode == 0
    results = results_of(run_mmcli, job, env)
    assert [r["id"] for r in results] == [f"p{n}" for n in range(21)]
    assert results[3]["answer"].startswith("Answer to: 3 word")


def test_gemini_cancel(run_mmcli, env, fake_gemini, tmp_path):
    fake_gemini.batches.plan.hold = True
    path = requests_file(tmp_path, [{"prompt": "a"}])
    job = submitted(run_mmcli, ["batch", "submit", path, "-m", "gemini-2.5-flash"], env)
    assert run_mmcli(["batch", "cancel", job], env).returncode == 0
    waited = run_mmcli(["batch", "wait", job, "--json"], env)
    assert json.loads(waited.stdout)["state"] == "cancelled" and waited.returncode == 1


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([{"prompt": "ok"}, "", '{"prompt": "broken"', {"prompt": "later"}], "line 3 is not valid JSON"),
        ([{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}], "line 2: the id 'a' is already used on line 1"),
        ([{"prompt": "x", "images": ["missing.png"]}], "line 1: missing.png does not exist"),
        ([{"prompt": "x"}, {"promt": "typo"}], "line 2 has an unknown key 'promt'"),
        ([{"prompt": 3}], "line 1: 'prompt' must be a string"),
        ([["not", "an", "object"]], "line 1 is not a JSON object"),
        ([{"id": "x"}], "line 1 has no prompt"),
    ],
)
def test_a_bad_line_is_exit_2_naming_it_and_nothing_is_sent(run_mmcli, env, fake_openai, tmp_path, lines, expected):
    done = run_mmcli(["batch", "submit", requests_file(tmp_path, lines), "-m", "gpt-4o-mini"], env)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and done.stderr.startswith("mmcli: ") and "Traceback" not in done.stderr
    assert done.stdout == "" and fake_openai.requests == []
    assert json.loads(run_mmcli(["batch", "list", "--json"], env).stdout) == []


def test_a_bad_image_stops_analyze_image_batch_before_any_upload(run_mmcli, env, fake_openai, tmp_path):
    good = write(tmp_path, "good.png", image_bytes((20, 20)))
    bad = write(tmp_path, "bad.png", b"not an image at all\n")
    done = run_mmcli(["analyze-image", good, bad, "--batch", "-m", "gpt-4o-mini"], env)
    assert done.returncode == 2 and "bad.png" in done.stderr and fake_openai.requests == []


def test_empty_requests_file_and_unknown_jobs(run_mmcli, env, fake_openai, tmp_path):
    done = run_mmcli(["batch", "submit", requests_file(tmp_path, ["", "  "]), "-m", "gpt-4o-mini"], env)
    assert done.returncode == 2 and "holds no requests" in done.stderr
    for command in ("status", "wait", "results", "cancel"):
        for job in ("42", "abc"):
            done = run_mmcli(["batch", command, job], env)
            assert done.returncode == 2, (command, job, done.stderr)
            assert "No batch job" in done.stderr and "batch list" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("model", "expected"), [
    ("vertex:gemini-2.5-flash", "Cloud Storage"),
    ("perplexity:sonar", "has no batch API"),
])
def test_providers_without_a_usable_batch_api_are_refused(run_mmcli, env, tmp_path, model, expected):
    done = run_mmcli(["batch", "submit", requests_file(tmp_path, [{"prompt": "x"}]), "-m", model], env)
    assert done.returncode == 2 and expected in done.stderr


def test_list_in_a_pipe_is_one_tab_separated_record_per_line(run_mmcli, env, fake_openai, fake_anthropic, tmp_path):
    path = requests_file(tmp_path, [{"prompt": "x"}])
    submitted(run_mmcli, ["batch", "submit", path, "-m", "gpt-4o-mini"], env)
    submitted(run_mmcli, ["batch", "submit", path, "-m", "anthropic:claude-haiku-4-5"], env)
    done = run_mmcli(["batch", "list"], env)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [row[:4] for row in rows] == [["1", "running", "openai:gpt-4o-mini", "1"],
                                         ["2", "running", "anthropic:claude-haiku-4-5", "1"]]
    assert all(len(row) == 7 and row == [cell.strip() for cell in row] for row in rows)
    documents = json.loads(run_mmcli(["batch", "list", "--json"], env).stdout)
    assert [d["job"] for d in documents] == [1, 2] and list(documents[0]) == STATUS_KEYS


def test_the_store_is_private(run_mmcli, env, fake_openai, tmp_path):
    submitted(run_mmcli, ["batch", "submit", requests_file(tmp_path, [{"prompt": "x"}]), "-m", "gpt-4o-mini"], env)
    store = Path(env["MMCLI_DATA_DIR"]) / "batches.sqlite3"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE((Path(env["MMCLI_DATA_DIR"]) / "batches").stat().st_mode) == 0o700
