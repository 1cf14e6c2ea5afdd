"""Local fake provider servers that speak each provider's real wire protocol.

Start one with ``FakeOpenAI().start()`` (or use the pytest fixtures in
``tests/conftest.py``), point the SDK at ``.base_url``, script answers with
``.queue(Reply(...))`` or ``.replay(cassette, index)``, and inspect
``.requests`` afterwards.
"""

from .anthropic import FakeAnthropic
from .cassettes import Interaction, load_cassette, recorded_dir, streamed_generations
from .gemini import FakeGemini, GeminiCall, parse_call
from .google_auth import write_adc_file
from .openai import FakeOpenAI
from .perplexity import FakePerplexity
from .recording import FormFile, RecordedRequest
from .reply import Reply, split_words
from .server import FakeServer

__all__ = [
    "FakeAnthropic",
    "FakeGemini",
    "FakeOpenAI",
    "FakePerplexity",
    "FakeServer",
    "FormFile",
    "GeminiCall",
    "Interaction",
    "RecordedRequest",
    "Reply",
    "load_cassette",
    "parse_call",
    "recorded_dir",
    "split_words",
    "streamed_generations",
    "write_adc_file",
]
