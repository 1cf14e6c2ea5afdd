"""Benchmark: media preparation.

1. Images: ``media.prepare(media.load(path), provider)`` on a 24-megapixel
   JPEG against a naive pipeline measured in the same run (a full
   ``Image.open().convert("RGB")`` decode, a LANCZOS resize to the same size
   mmcli produced, a JPEG encode at the same quality); target <= 0.6x.
2. Audio: splitting a long MP3 for transcription (decode, resample to 16 kHz
   mono, find pauses, encode MP3 pieces), as seconds per hour of audio, against
   a bare PyAV decode of the same file (the floor any split must pay).
3. Sniffing: the magic-number sniff against opening the file with PyAV (and
   the cost of importing PyAV at all), which is why ``load`` keeps the sniff.

    .venv/bin/python bench/bench_media.py [--runs 7] [--minutes 10]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from mmcli import media  # noqa: E402
from mmcli.providers.media_limits import BY_PROVIDER as PROVIDER_LIMITS  # noqa: E402

WIDTH, HEIGHT = 6000, 4000
TARGET_RATIO = 0.6


def photo_like_jpeg(path: Path) -> None:
    """Smooth gradients plus sensor-like noise: compresses like a real photo (about 1.5 bits/pixel)."""
    horizontal = Image.linear_gradient("L").rotate(90).resize((WIDTH, HEIGHT))
    vertical = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    radial = Image.radial_gradient("L").resize((WIDTH, HEIGHT))
    base = Image.merge("RGB", (horizontal, vertical, radial))
    noise = Image.merge("RGB", [Image.effect_noise((WIDTH, HEIGHT), 24) for _ in range(3)])
    Image.blend(base, noise, 0.25).save(path, "JPEG", quality=90)


def median_seconds(work: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def naive(path: Path, size: tuple[int, int]) -> bytes:
    with Image.open(path) as image:
        picture = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def bench_images(runs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="mmcli-bench-") as folder:
        path = Path(folder) / "photo.jpg"
        photo_like_jpeg(path)
        print(f"images: {WIDTH}x{HEIGHT} JPEG, {path.stat().st_size / 1e6:.1f} MB, median of {runs} runs\n")
        print(f"{'provider':<11} {'output':>10} {'prepared':>10} {'naive':>10} {'ratio':>7}")
        worst = 0.0
        for provider, limits in PROVIDER_LIMITS.items():
            prepared = media.prepare(media.load(str(path)), limits)
            size = media.image_size(prepared)
            ours = median_seconds(lambda p=limits: media.prepare(media.load(str(path)), p), runs)
            theirs = median_seconds(lambda s=size: naive(path, s), runs)
            ratio = ours / theirs
            worst = max(worst, ratio)
            shown = f"{size[0]}x{size[1]}"
            print(f"{provider:<11} {shown:>10} {ours * 1000:>8.0f}ms {theirs * 1000:>8.0f}ms {ratio:>6.2f}x")
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"\nworst ratio {worst:.2f}x: {verdict} the {TARGET_RATIO}x target\n")
    return worst


def speech_like_mp3(minutes: float) -> bytes:
    """A 44.1 kHz stereo-free MP3 at 128 kbit/s: tone bursts of 2-7 s with 0.4 s pauses, like speech."""
    from tests.media_samples import encode_audio, tone

    rate = 16_000
    pauses, at = [], 0.0
    while at < minutes * 60:
        at += 2 + (len(pauses) * 7919 % 50) / 10  # 2-7 s of "speech"
        pauses.append((at, at + 0.4))
        at += 0.4
    return encode_audio(tone(minutes * 60, rate, tuple(pauses)), rate, "mp3")


def bench_audio(minutes: float, runs: int) -> None:
    from mmcli.conversation import Part
    from mmcli.media import audio
    from mmcli.transcription import chunking

    data = speech_like_mp3(minutes)
    part = Part(kind="audio", data=data, mime_type="audio/mpeg", source="talk.mp3")
    limits = chunking.Limits(max_bytes=None, max_seconds=120.0, label="bench")
    hours = minutes / 60

    def split() -> int:
        with chunking.plan(part, limits) as plan:
            return len(plan.pieces)

    def decode_only() -> None:
        import av

        with av.open(io.BytesIO(data)) as container:
            for _ in container.decode(audio=0):
                pass

    pieces = split()
    ours = median_seconds(split, runs)
    floor = median_seconds(decode_only, runs)
    pcm = median_seconds(lambda: audio.to_pcm(part, 16_000), runs)
    print(f"audio: {minutes:g} min MP3 (44.1 kHz mono, {len(data) / 1e6:.1f} MB) split into {pieces} pieces "
          f"of <= 120 s, median of {runs} runs\n")
    print(f"{'split (decode+resample+pauses+encode)':<40} {ours:>7.2f} s  {ours / hours:>7.1f} s per hour of audio")
    print(f"{'to_pcm at 16 kHz (decode+resample)':<40} {pcm:>7.2f} s  {pcm / hours:>7.1f} s per hour of audio")
    print(f"{'baseline: bare PyAV decode':<40} {floor:>7.2f} s  {floor / hours:>7.1f} s per hour of audio")
    print(f"split / bare decode: {ours / floor:.1f}x\n")


def bench_sniff(runs: int) -> None:
    import subprocess

    from tests.media_samples import audio_file

    data = audio_file("mp3", 60.0)

    def with_pyav() -> None:
        import av

        with av.open(io.BytesIO(data)) as container:
            next(container.decode(audio=0))

    ours = median_seconds(lambda: media.sniff(data), runs * 20)
    theirs = median_seconds(with_pyav, runs * 20)
    bare = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), runs)
    imported = median_seconds(lambda: subprocess.run([sys.executable, "-c", "import av"], check=True), runs)
    print(f"sniff a 1-minute MP3: magic numbers {ours * 1e6:.0f} us, PyAV open + first frame "
          f"{theirs * 1e6:.0f} us ({theirs / ours:.0f}x), plus importing PyAV: {(imported - bare) * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the audio split (default 10)")
    parser.add_argument("--only", choices=("images", "audio", "sniff"))
    options = parser.parse_args()
    if options.only in (None, "images"):
        bench_images(options.runs)
    if options.only in (None, "audio"):
        bench_audio(options.minutes, max(1, options.runs // 2))
    if options.only in (None, "sniff"):
        bench_sniff(options.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
