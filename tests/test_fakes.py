"""The fakes speak each provider's wire protocol: proven with the real SDKs.

These tests drive openai, anthropic and google-genai directly (not mmcli), so a
failure here means a fake is wrong, not the CLI.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import google.oauth2.credentials
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.fakes import (
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    FakePerplexity,
    Reply,
    load_cassette,
    parse_call,
    streamed_generations,
    write_adc_file,
)
from tests.fakes.google_auth import FAKE_ACCESS_TOKEN

KEY = "sk-test-key-0123456789"


def openai_client(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=fake.base_url, max_retries=0, timeout=10)


def anthropic_client(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=fake.base_url, max_retries=0, timeout=10)


def gemini_client(fake: FakeGemini, **kwargs: Any) -> genai.Client:
    """Keep the returned client referenced while iterating a stream: its
    finalizer closes the HTTP connection pool the stream still reads from."""
    kwargs.setdefault("api_key", KEY)
    options = types.HttpOptions(base_url=fake.base_url, timeout=10_000)
    return genai.Client(http_options=options, **kwargs)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# -- OpenAI ------------------------------------------------------------------


def test_openai_stream_sends_role_content_finish_usage_and_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="Two pelicans walk in", usage=(7, 4)))
    stream = openai_client(fake_openai).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, *user("hi")],
        temperature=0.3,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Two pelicans walk in"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 4
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (7, 4)

    sent = fake_openai.last_request
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.api_key == KEY
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.json["temperature"] == 0.3
    assert sent.json["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent.json["messages"][1] == {"role": "user", "content": "hi"}


def test_openai_stream_without_usage_option_has_no_usage_chunk(fake_openai: FakeOpenAI) -> None:
    chunks = list(openai_client(fake_openai).chat.completions.create(
        model="gpt-4o-mini", messages=user("hi"), stream=True))
    assert all(c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from the fake OpenAI."


def test_openai_non_stream_and_model_version(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="Plain answer.", model_version="gpt-4o-mini-2024-07-18", usage=(3, 2)))
    done = openai_client(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
    assert done.choices[0].message.content == "Plain answer."
    assert done.model == "gpt-4o-mini-2024-07-18"
    assert done.usage is not None and done.usage.total_tokens == 5


def test_openai_lists_models(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = ["gpt-4o-mini", "o4-mini"]
    assert [m.id for m in openai_client(fake_openai).models.list()] == ["gpt-4o-mini", "o4-mini"]


def test_openai_responses_api_stream(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="Responses say hi", usage=(5, 3)))
    events = list(openai_client(fake_openai).responses.create(model="gpt-5-mini", input="hi", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Responses say hi"
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "Responses say hi"
    assert events[-1].response.usage is not None and events[-1].response.usage.output_tokens == 3


def test_openai_transcription_receives_the_audio_file(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="Spoken words here."), Reply(text="Plain text."))
    client = openai_client(fake_openai)
    audio = b"RIFF\x24\x00\x00\x00WAVEfmt "
    result = client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", audio, "audio/wav"))
    assert result.text == "Spoken words here."
    upload = fake_openai.last_request.form["file"]
    assert upload.filename == "clip.wav" and upload.data == audio  # type: ignore[union-attr]
    assert fake_openai.last_request.form["model"] == "whisper-1"
    plain = client.audio.transcriptions.create(
        model="whisper-1", file=("clip.wav", audio, "audio/wav"), response_format="text")
    assert plain.strip() == "Plain text."


def test_openai_fake_answers_like_ollama(fake_openai: FakeOpenAI) -> None:
    with urllib.request.urlopen(fake_openai.root + "/", timeout=5) as response:
        assert response.read() == b"Ollama is running"
    with urllib.request.urlopen(fake_openai.root + "/api/tags", timeout=5) as response:
        assert json.load(response)["models"][0]["name"] == "llama3.2:latest"


# -- Anthropic ---------------------------------------------------------------


def test_anthropic_stream_text(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(text="Captain Scoop", usage=(17, 2), model_version="claude-haiku-4-5-20251001"))
    with anthropic_client(fake_anthropic).messages.stream(
        model="claude-haiku-4-5",
        max_tokens=256,
        system="Be brief.",
        # anthropic 2.x has no temperature parameter any more; it still reaches the API this way.
        extra_body={"temperature": 0.5},
        messages=user("Name a pelican"),
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert pieces == ["Captain ", "Scoop"]
    assert final.model == "claude-haiku-4-5-20251001"
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (17, 2)
    sent = fake_anthropic.last_request
    assert sent.path == "/v1/messages"
    # anthropic 2.x sends the key as "Authorization: Bearer", not x-api-key.
    assert sent.api_key == KEY
    assert sent.headers["anthropic-version"]
    assert sent.json["system"] == "Be brief."
    assert sent.json["temperature"] == 0.5
    assert sent.json["stream"] is True
    assert sent.json["messages"] == user("Name a pelican")


def test_anthropic_stream_thinking_then_text(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(text="Scoop", thinking="Pelicans have pouches."))
    with anthropic_client(fake_anthropic).messages.stream(
        model="claude-haiku-4-5",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=user("Name a pelican"),
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()

    thinking = "".join(e.thinking for e in events if e.type == "thinking")
    assert thinking == "Pelicans have pouches."
    assert any(e.type == "signature" for e in events)
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[1].text == "Scoop"  # type: ignore[union-attr]


def test_anthropic_non_stream_with_citations(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(text="Sunny.", citations=["https://weather.example/sf"]))
    message = anthropic_client(fake_anthropic).messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=user("weather?"))
    block = message.content[0]
    assert block.type == "text" and block.text == "Sunny."
    assert block.citations and block.citations[0].url == "https://weather.example/sf"  # type: ignore[union-attr]


def test_anthropic_stream_citation_deltas(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(text="Sunny.", citations=["https://a.example", "https://b.example"]))
    with anthropic_client(fake_anthropic).messages.stream(
        model="claude-haiku-4-5", max_tokens=64, messages=user("weather?")) as stream:
        citations = [e.citation.url for e in stream if e.type == "citation"]  # type: ignore[union-attr]
    assert citations == ["https://a.example", "https://b.example"]


# -- Gemini and Vertex AI ----------------------------------------------------


def test_gemini_developer_api_stream(fake_gemini: FakeGemini) -> None:
    fake_gemini.queue(Reply(text="Hello pelican", usage=(8, 2), model_version="gemini-2.5-flash-001"))
    client = gemini_client(fake_gemini)
    chunks = list(client.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents="hi",
        config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2),
    ))
    assert "".join(c.text or "" for c in chunks) == "Hello pelican"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert chunks[-1].usage_metadata.candidates_token_count == 2  # type: ignore[union-attr]
    assert chunks[-1].model_version == "gemini-2.5-flash-001"

    sent = fake_gemini.last_request
    call = parse_call(sent.path)
    assert call is not None and call.model == "gemini-2.5-flash" and not call.is_vertex
    assert call.method == "streamGenerateContent" and sent.query["alt"] == "sse"
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.json["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert sent.json["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert sent.json["generationConfig"]["temperature"] == 0.2


def test_gemini_thought_parts_are_not_answer_text(fake_gemini: FakeGemini) -> None:
    fake_gemini.queue(Reply(text="Answer.", thinking="Hmm, let me see."), Reply(text="Whole.", thinking="T."))
    client = gemini_client(fake_gemini)
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-pro", contents="q", config=config))
    parts = [p for c in chunks for p in c.candidates[0].content.parts or []]  # type: ignore[index,union-attr]
    assert "".join(p.text or "" for p in parts if p.thought) == "Hmm, let me see."
    assert "".join(p.text or "" for p in parts if not p.thought) == "Answer."

    whole = client.models.generate_content(model="gemini-2.5-pro", contents="q", config=config)
    assert whole.text == "Whole."
    assert fake_gemini.last_request.path.endswith("/models/gemini-2.5-pro:generateContent")


def test_vertex_express_mode_with_api_key(fake_gemini: FakeGemini) -> None:
    client = gemini_client(fake_gemini, vertexai=True, api_key="vertex-key")
    text = "".join(c.text or "" for c in client.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi"))
    assert text == "Hello from the fake Gemini."
    sent = fake_gemini.last_request
    assert sent.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
    assert sent.headers["x-goog-api-key"] == "vertex-key"


def test_vertex_project_mode_with_credentials(fake_gemini: FakeGemini) -> None:
    credentials = google.oauth2.credentials.Credentials(token="ya29.explicit")
    client = gemini_client(fake_gemini, vertexai=True, api_key=None, project="proj-1",
                           location="us-central1", credentials=credentials)
    text = "".join(c.text or "" for c in client.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi"))
    assert text == "Hello from the fake Gemini."
    sent = fake_gemini.last_request
    assert sent.path == (
        "/v1beta1/projects/proj-1/locations/us-central1/publishers/google/models/"
        "gemini-2.5-flash:streamGenerateContent"
    )
    assert sent.headers["authorization"] == "Bearer ya29.explicit"
    assert "x-goog-api-key" not in sent.headers


def test_vertex_project_mode_with_offline_adc_file(
    fake_gemini: FakeGemini, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(write_adc_file(tmp_path / "adc.json")))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    client = gemini_client(fake_gemini, vertexai=True, api_key=None, project="proj-2", location="europe-west4")
    assert client.models.generate_content(model="gemini-2.5-flash", contents="hi").text
    sent = fake_gemini.last_request
    assert sent.path.startswith("/v1beta1/projects/proj-2/locations/europe-west4/publishers/google/models/")
    assert sent.headers["authorization"] == f"Bearer {FAKE_ACCESS_TOKEN}"


def test_genai_sdk_honours_base_url_environment_variables(
    fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake_gemini.base_url)
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", fake_gemini.root)
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
                 "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    assert genai.Client(api_key=KEY).models.generate_content(model="gemini-2.5-flash", contents="hi").text
    # The SDK's default API version: v1 from google-genai 3 (Python 3.11+), v1beta in 2.x (Python 3.10).
    default_version = "v1" if int(genai.__version__.split(".")[0]) >= 3 else "v1beta"
    assert fake_gemini.last_request.path == f"/{default_version}/models/gemini-2.5-flash:generateContent"
    vertex = genai.Client(vertexai=True, api_key="vertex-key")
    assert vertex.models.generate_content(model="gemini-2.5-flash", contents="hi").text
    assert fake_gemini.last_request.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent"


def test_gemini_lists_models(fake_gemini: FakeGemini) -> None:
    client = gemini_client(fake_gemini)  # kept alive: the pager uses its HTTP client lazily
    names = [m.name for m in client.models.list()]
    assert "models/gemini-2.5-flash" in names


# -- Perplexity --------------------------------------------------------------


def test_perplexity_stream_carries_citations_and_search_results(fake_perplexity: FakePerplexity) -> None:
    urls = ["https://a.example/1", "https://b.example/2"]
    fake_perplexity.queue(Reply(text="Sourced answer [1][2].", citations=urls))
    client = openai.OpenAI(api_key="pplx-key", base_url=fake_perplexity.base_url, max_retries=0, timeout=10)
    chunks = list(client.chat.completions.create(model="sonar", messages=user("news?"), stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Sourced answer [1][2]."
    extra = chunks[-1].model_extra or {}
    assert extra["citations"] == urls
    assert [r["url"] for r in extra["search_results"]] == urls
    assert chunks[-1].usage is not None
    sent = fake_perplexity.last_request
    assert (sent.path, sent.api_key, sent.json["model"]) == ("/chat/completions", "pplx-key", "sonar")


# -- errors, cuts, pacing ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(401, openai.AuthenticationError), (429, openai.RateLimitError), (500, openai.InternalServerError)],
)
def test_openai_error_statuses(fake_openai: FakeOpenAI, status: int, error_class: type[Exception]) -> None:
    fake_openai.queue(Reply(status=status, error_message="Nope.", retry_after=7))
    with pytest.raises(error_class) as caught:
        openai_client(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=user("x"), stream=True)
    error = caught.value
    assert isinstance(error, openai.APIStatusError)
    assert error.response.headers["retry-after"] == "7"
    assert "Nope." in str(error)


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (401, anthropic.AuthenticationError, "authentication_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_anthropic_error_statuses(
    fake_anthropic: FakeAnthropic, status: int, error_class: type[Exception], error_type: str
) -> None:
    fake_anthropic.queue(Reply(status=status, error_message="Nope.", retry_after="3"))
    with pytest.raises(error_class) as caught:
        anthropic_client(fake_anthropic).messages.create(
            model="claude-haiku-4-5", max_tokens=5, messages=user("x"), stream=True)
    error = caught.value
    assert isinstance(error, anthropic.APIStatusError)
    assert error.body["error"]["type"] == error_type  # type: ignore[index]
    assert error.response.headers["retry-after"] == "3"


@pytest.mark.parametrize(("status", "error_class", "name"), [
    (401, genai_errors.ClientError, "UNAUTHENTICATED"),
    (429, genai_errors.ClientError, "RESOURCE_EXHAUSTED"),
    (500, genai_errors.ServerError, "INTERNAL"),
])
def test_gemini_error_statuses(
    fake_gemini: FakeGemini, status: int, error_class: type[Exception], name: str
) -> None:
    fake_gemini.queue(Reply(status=status, error_message="Nope."))
    client = gemini_client(fake_gemini)
    with pytest.raises(error_class) as caught:
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
    error = caught.value
    assert isinstance(error, genai_errors.APIError)
    assert (error.code, error.status, error.message) == (status, name, "Nope.")


def test_gemini_invalid_key_is_a_400_with_a_reason(fake_gemini: FakeGemini) -> None:
    fake_gemini.queue(Reply(status=400, error_type="API_KEY_INVALID", error_message="API key not valid."))
    client = gemini_client(fake_gemini)
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_openai_cut_stream_raises_after_partial_text(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="one two three four", cut_after_chunks=2))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in openai_client(fake_openai).chat.completions.create(
                model="gpt-4o-mini", messages=user("x"), stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "one two "


def test_anthropic_cut_stream_raises(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(text="one two three", cut_after_chunks=1))
    received: list[str] = []
    with pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)):
        with anthropic_client(fake_anthropic).messages.stream(
                model="claude-haiku-4-5", max_tokens=5, messages=user("x")) as stream:
            received.extend(stream.text_stream)
    assert received == ["one "]


def _transport_errors() -> tuple[type[Exception], ...]:
    """google-genai 3 (Python 3.11+) is built on httpx2, 2.x (Python 3.10) on httpx."""
    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).TransportError)
        except ImportError:
            continue
    return tuple(found)


def test_gemini_cut_stream_raises(fake_gemini: FakeGemini) -> None:
    fake_gemini.queue(Reply(text="one two three", cut_after_chunks=2))
    received: list[str] = []
    client = gemini_client(fake_gemini)
    with pytest.raises(_transport_errors()):
        for chunk in client.models.generate_content_stream(
                model="gemini-2.5-flash", contents="x"):
            received.append(chunk.text or "")
    assert "".join(received) == "one two "


def test_in_stream_errors_raise_in_every_sdk(
    fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, fake_gemini: FakeGemini
) -> None:
    for fake in (fake_openai, fake_anthropic, fake_gemini):
        fake.queue(Reply(text="one two three", cut_after_chunks=1, stream_error=529, error_message="Overloaded!"))

    with pytest.raises(openai.APIError, match="Overloaded!"):
        list(openai_client(fake_openai).chat.completions.create(model="m", messages=user("x"), stream=True))

    with pytest.raises(anthropic.APIStatusError) as caught:
        with anthropic_client(fake_anthropic).messages.stream(
                model="claude-haiku-4-5", max_tokens=5, messages=user("x")) as stream:
            list(stream.text_stream)
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]

    client = gemini_client(fake_gemini)
    with pytest.raises(genai_errors.ServerError) as google_error:
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
    assert google_error.value.message == "Overloaded!"


def test_queue_order_then_settable_default(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="first"), Reply(text="second"))
    fake_openai.default = Reply(text="fallback")
    client = openai_client(fake_openai)
    answers = [
        client.chat.completions.create(model="m", messages=user("x")).choices[0].message.content
        for _ in range(4)
    ]
    assert answers == ["first", "second", "fallback", "fallback"]
    assert len(fake_openai.generation_requests) == 4


def test_delays_pace_the_stream(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(text="a b c", delay_s=0.2, chunk_delay_s=0.1))
    started = time.monotonic()
    arrivals = []
    for chunk in openai_client(fake_openai).chat.completions.create(
            model="m", messages=user("x"), stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
    # Lower bounds only (a busy machine makes the client later, never earlier): the third
    # delta cannot have been sent before the delay plus two chunk delays.
    assert arrivals[0] >= 0.2
    assert arrivals[2] >= 0.2 + 2 * 0.1


def test_stop_ends_a_hanging_request_promptly() -> None:
    fake = FakeAnthropic().start()
    fake.queue(Reply(hang=True))
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            anthropic_client(fake).messages.create(model="m", max_tokens=5, messages=user("x"))
        except BaseException as error:  # noqa: BLE001 - the outcome is what is checked
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    fake.wait_for_requests(1)
    fake.stop()
    caller.join(timeout=60)
    assert not caller.is_alive()
    # The dropped connection ended the call, not the client's own 10 s timeout.
    assert isinstance(outcome[0], anthropic.APIConnectionError)
    assert not isinstance(outcome[0], anthropic.APITimeoutError)


def test_unknown_path_gets_provider_shaped_404(fake_gemini: FakeGemini) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(fake_gemini.root + "/nowhere", timeout=5)
    assert json.load(caught.value)["error"]["status"] == "NOT_FOUND"


# -- replay of recorded traffic ----------------------------------------------


def _recorded_text(provider: str, body: bytes) -> str:
    """The answer text as the recorded stream carries it, parsed independently of the SDKs."""
    text = []
    if provider == "gemini":
        for chunk in json.loads(body):
            for part in chunk["candidates"][0]["content"].get("parts", []):
                if not part.get("thought"):
                    text.append(part.get("text", ""))
        return "".join(text)
    for line in body.decode("utf-8").splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[len("data: "):])
        delta = event.get("delta")
        if event.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
            text.append(delta["text"])
        elif event.get("type") == "response.output_text.delta":
            text.append(delta)
        elif event.get("object") == "chat.completion.chunk" and event.get("choices"):
            text.append(event["choices"][0].get("delta", {}).get("content") or "")
    return "".join(text)


def _sdk_text(provider: str, path: str, servers: dict[str, Any], recorded: dict[str, Any]) -> tuple[str, int]:
    """The answer text the real SDK makes of a replayed stream, and how many events it parsed."""
    if provider == "anthropic":
        # A fixed model: the SDK warns about some recorded (now deprecated) model names.
        with anthropic_client(servers["anthropic"]).messages.stream(
                model="claude-haiku-4-5", max_tokens=100, messages=recorded["messages"]) as stream:
            events = list(stream)
            stream.get_final_message()
        return "".join(e.text for e in events if e.type == "text"), len(events)
    if provider == "gemini":
        call = parse_call(path)
        assert call is not None
        client = gemini_client(servers["gemini"])
        chunks = list(client.models.generate_content_stream(model=call.model, contents="x"))
        parts = [p for c in chunks for p in (c.candidates[0].content.parts or [])]  # type: ignore[index,union-attr]
        return "".join(p.text or "" for p in parts if not p.thought), len(chunks)
    client = openai_client(servers["openai"])
    if path.endswith("/responses"):
        events = list(client.responses.create(model=recorded["model"], input="x", stream=True))
        return "".join(e.delta for e in events if e.type == "response.output_text.delta"), len(events)
    chunks = list(client.chat.completions.create(model=recorded["model"], messages=user("x"), stream=True))
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), len(chunks)


CASSETTES = streamed_generations()


@pytest.mark.parametrize(
    ("cassette", "index"), CASSETTES, ids=[f"{c.parent.name}/{c.stem}[{i}]" for c, i in CASSETTES]
)
def test_replay_recorded_stream_through_sdk(
    cassette: Path, index: int, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, fake_gemini: FakeGemini
) -> None:
    provider = cassette.parent.name
    servers: dict[str, Any] = {"openai": fake_openai, "anthropic": fake_anthropic, "gemini": fake_gemini}
    interaction = servers[provider].replay(cassette, index)
    recorded = json.loads(interaction.request_body)

    text, events = _sdk_text(provider, interaction.path, servers, recorded)

    assert events > 1
    assert text == _recorded_text(provider, interaction.body)


def test_replay_serves_recorded_non_streamed_json(fake_openai: FakeOpenAI) -> None:
    cassette = "openai/chat_completions_nonstream_chain.yaml"
    recorded = json.loads(load_cassette(cassette)[2].body)
    fake_openai.replay(cassette, 2)
    done = openai_client(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=user("x"))
    assert done.choices[0].message.content == recorded["choices"][0]["message"]["content"]


def test_every_provider_has_streamed_cassettes() -> None:
    assert {c.parent.name for c, _ in CASSETTES} == {"anthropic", "gemini", "openai"}


# -- the mmcli harness itself ------------------------------------------------


def test_mmcli_env_points_every_provider_at_its_fake(
    mmcli_env: dict[str, str], fake_openai: FakeOpenAI, fake_gemini: FakeGemini
) -> None:
    assert mmcli_env["OPENAI_BASE_URL"] == fake_openai.base_url
    assert mmcli_env["OLLAMA_HOST"] == fake_openai.root
    assert mmcli_env["GOOGLE_VERTEX_BASE_URL"] == fake_gemini.root
    assert "NO_COLOR" not in mmcli_env
    assert not any(name.startswith("GOOGLE_CLOUD_") or name == "GOOGLE_GENAI_USE_VERTEXAI" for name in mmcli_env)
    assert Path(mmcli_env["HOME"]).is_dir()


def test_run_mmcli_runs_the_module(run_mmcli: Any, mmcli_env: dict[str, str]) -> None:
    done = run_mmcli(["--version"], mmcli_env, timeout=30)
    if done.returncode != 0 and "No module named mmcli" in done.stderr:
        pytest.skip("mmcli is not importable yet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_spawn_mmcli_runs_in_a_pty(spawn_mmcli: Any, mmcli_env: dict[str, str]) -> None:
    child = spawn_mmcli(["--version"], mmcli_env, timeout=30)
    output = child.read()  # until EOF
    child.wait()
    if "No module named mmcli" in output:
        pytest.skip("mmcli is not importable yet")
    assert child.exitstatus == 0, output
    assert output.strip()
