"""`mmcli live` latency against local fake Gemini Live (TLS) and OpenAI Realtime servers:

- end of speech to first reply audio: from the last audio chunk sent (the user's turn
  ended) to the first reply audio byte written to --audio-out, as `mmcli live --json`
  reports it (`first_audio_s`), against a fake that answers after a fixed delay; mmcli's
  overhead is that time minus the fake's own time from the end of the turn to sending
  the first audio (the delay plus the fake's work), and minus the bare delay;
- barge-in: from the fake sending `interrupted` to the speaker being cleared, with the
  fake audio device (tests/fakes/audio_device.py) in place of sounddevice.

Medians of 9 runs (target: overhead <= 50 ms; playback stopped within 100 ms).
Run: python bench/bench_live.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _stats import report  # noqa: E402

from tests.fakes.live_audio import silence, tone, write_wav  # noqa: E402
from tests.fakes.live_gemini import FakeGeminiLive  # noqa: E402
from tests.fakes.live_openai import FakeOpenAIRealtime  # noqa: E402
from tests.fakes.live_server import make_certificate  # noqa: E402

RUNS = 9
DELAY_S = 0.3
GOOGLE_KEY = "AIzaBench0123456789abcdefghijk"
OPENAI_KEY = "sk-bench-0123456789"


def environment(home: str, cert: Path, gemini: FakeGeminiLive, openai: FakeOpenAIRealtime) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GOOGLE_", "GEMINI_", "MMCLI_"))}
    return {
        **keep,
        "GOOGLE_API_KEY": GOOGLE_KEY, "GOOGLE_GEMINI_BASE_URL": gemini.base_url, "SSL_CERT_FILE": str(cert),
        "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai.base_url,
        "MMCLI_DATA_DIR": f"{home}/data", "MMCLI_CONFIG_DIR": f"{home}/config", "PYTHONPATH": str(ROOT),
    }


def first_audio(env: dict[str, str], home: str, model: str, fake: FakeGeminiLive | FakeOpenAIRealtime) -> list[tuple]:
    question = write_wav(Path(home) / "q.wav", tone(0.5, 16_000), 16_000)
    samples = []
    for _ in range(RUNS + 1):  # the first run warms the file cache and is left out
        done = subprocess.run(
            [sys.executable, "-m", "mmcli", "live", "-m", model, "--audio-in", str(question), "--fast", "--json",
             "--audio-out", f"{home}/answer.wav"],
            env=env, cwd=home, capture_output=True,
        )
        if done.returncode:
            raise SystemExit(done.stderr.decode())
        measured = json.loads(done.stdout)["first_audio_s"]
        fake_own = fake.first_audio_at[-1] - fake.turn_ended_at[-1]
        samples.append((measured, fake_own))
    return samples[1:]


def barge_in(env: dict[str, str], home: str, fake: FakeGeminiLive) -> list[float]:
    """Seconds from the fake sending `interrupted` to the fake speaker being cleared."""
    rate = 16_000
    mic = write_wav(Path(home) / "mic.wav", tone(0.3, rate) + silence(0.5, rate) + tone(0.3, rate)
                    + silence(0.4, rate), rate)
    fake.pace, fake.reply_audio_s, fake.delay_s = 0.5, 2.0, 0.0
    stops = []
    for run in range(RUNS):
        log = Path(home) / f"speaker-{run}.jsonl"
        devices = {**env, "MMCLI_AUDIO_BACKEND": "tests.fakes.audio_device", "MMCLI_FAKE_MIC": str(mic),
                   "MMCLI_FAKE_SPEAKER": str(log)}
        before = len(fake.interrupted_at)
        subprocess.run([sys.executable, "-m", "mmcli", "live", "--mic", "--speak"], env=devices, cwd=home,
                       capture_output=True, check=True)
        cleared = [json.loads(line)["t"] for line in log.read_text().splitlines() if '"cleared"' in line]
        if len(fake.interrupted_at) > before and cleared:
            stops.append(cleared[0] - fake.interrupted_at[before])
    return stops


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        cert, key = make_certificate(Path(home))
        gemini = FakeGeminiLive(api_keys={GOOGLE_KEY}, certificate=(cert, key)).start()
        openai = FakeOpenAIRealtime(api_key=OPENAI_KEY).start()
        try:
            env = environment(home, cert, gemini, openai)
            rows = []
            for label, model, fake in (("gemini", "gemini:gemini-3.1-flash-live-preview", gemini),
                                       ("openai", "openai:gpt-realtime-2", openai)):
                fake.delay_s = DELAY_S
                samples = first_audio(env, home, model, fake)
                measured = statistics.median(s[0] for s in samples)
                over_fake = statistics.median(s[0] - s[1] for s in samples)
                rows.append((f"{label}: end of speech -> first audio byte",
                             f"{measured * 1000:.0f} ms with the fake answering after {DELAY_S * 1000:.0f} ms: "
                             f"+{(measured - DELAY_S) * 1000:.0f} ms over the delay, "
                             f"+{over_fake * 1000:.0f} ms over the fake's own time (target <= 50)"))
            stops = barge_in(env, home, gemini)
            if stops:
                rows.append(("gemini: interrupted -> speaker cleared",
                             f"{statistics.median(stops) * 1000:.1f} ms median, {max(stops) * 1000:.1f} ms worst "
                             f"of {len(stops)} (target <= 100)"))
            report(rows)
        finally:
            gemini.stop()
            openai.stop()


if __name__ == "__main__":
    main()
