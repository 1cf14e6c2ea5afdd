"""Benchmark: preparing a 24-megapixel JPEG for each provider.

Compares ``media.prepare(media.load(path), provider)`` with a naive pipeline
measured in the same run: a full ``Image.open().convert("RGB")`` decode, a
LANCZOS resize to the same size mmcli produced, and a JPEG encode at the same
quality. Prints the medians and their ratio; the target is <= 0.6x.

    .venv/bin/python bench/bench_media.py [--runs 7]
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
from mmcli.media_limits import PROVIDER_LIMITS  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="mmcli-bench-") as folder:
        path = Path(folder) / "photo.jpg"
        photo_like_jpeg(path)
        print(f"input: {WIDTH}x{HEIGHT} JPEG, {path.stat().st_size / 1e6:.1f} MB, median of {runs} runs\n")
        print(f"{'provider':<11} {'output':>10} {'prepared':>10} {'naive':>10} {'ratio':>7}")
        worst = 0.0
        for provider in PROVIDER_LIMITS:
            prepared = media.prepare(media.load(str(path)), provider)
            size = media.image_size(prepared)
            ours = median_seconds(lambda p=provider: media.prepare(media.load(str(path)), p), runs)
            theirs = median_seconds(lambda s=size: naive(path, s), runs)
            ratio = ours / theirs
            worst = max(worst, ratio)
            shown = f"{size[0]}x{size[1]}"
            print(f"{provider:<11} {shown:>10} {ours * 1000:>8.0f}ms {theirs * 1000:>8.0f}ms {ratio:>6.2f}x")
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"\nworst ratio {worst:.2f}x: {verdict} the {TARGET_RATIO}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
