"""clap + sync on a generated 60-minute recording, against a bare ffmpeg decode of it.

The recording is cheap to make: audio-only WebM, Opus at 24 kb/s, mono 48 kHz, made by
ffmpeg from a short generated lesson (clap + speech-like narration) looped for an hour.
Three timings in the same run, each the best of ``REPEATS``:

* decode    ``ffmpeg -i REC -map 0:a:0 -f null -``: the audio decoded and thrown away
* clap      ``find_claps``: one streamed decode to 16 kHz mono + clap scoring
* sync      ``measure_sync``: the same single decode feeding both the clap envelope and
            the speech track, then the FFT match (the clap comes with it)

``python -m benchmarks audio`` runs it.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from pipeline import ffmpeg
from pipeline.audio.clap import find_claps
from pipeline.audio.sync import measure_sync
from pipeline.models import Caption

MINUTES = 60
REPEATS = 2
RATE = 16_000


def _make(folder: Path) -> tuple[Path, list[Caption]]:
    from tests import audio_gen as gen

    rng = np.random.default_rng(1)
    caps = gen.captions_script(12, rng)  # ~40 s of captions
    loop = (caps[-1].end + 2000) // 1000 * 1000
    x = gen.room(rng, loop * RATE // 1000, 0.002)
    x += gen.narrate(rng, len(x), caps, 1500)
    gen.place(x, gen.clap(rng), 500.0)
    seed = gen.write(folder / "seed.wav", x)
    recording = folder / "hour.webm"
    ffmpeg.run(["-stream_loop", "-1", "-i", ffmpeg.media_arg(seed), "-t", str(MINUTES * 60),
                "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k",
                ffmpeg.media_arg(recording)], what=recording)
    # the captions of every pass through the loop, on one timeline
    repeats = MINUTES * 60_000 // loop
    timeline = [Caption(len(caps) * k + c.index, c.start + k * loop, c.end + k * loop, c.text)
                for k in range(repeats) for c in caps]
    return recording, timeline


def _best(fn: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"making a {MINUTES}-minute Opus/WebM recording ...", flush=True)
        recording, captions = _make(Path(tmp))
        hours = MINUTES / 60
        decode, _ = _best(lambda: ffmpeg.run(
            ["-i", ffmpeg.media_arg(recording), "-map", "0:a:0", "-f", "null", "-"],
            what=recording))
        clap, claps = _best(lambda: find_claps(recording))
        sync, result = _best(lambda: measure_sync(recording, captions))
        tracemalloc.start()
        measure_sync(recording, captions)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"bare ffmpeg decode : {decode / hours:7.2f} s per hour of audio")
    print(f"clap               : {clap / hours:7.2f} s per hour  ({clap / decode:.2f}x decode)"
          f"  -> {len(claps.claps)} claps")  # type: ignore[union-attr]
    print(f"sync (clap+offset) : {sync / hours:7.2f} s per hour  ({sync / decode:.2f}x decode)"
          f"  -> {result.to_json()}")  # type: ignore[union-attr]
    print(f"peak Python memory in sync: {peak / 2**20:.0f} MB for {MINUTES} min")
    print(f"ratio clap+sync (one pass) / decode: {sync / decode:.2f}  (target < 1.5)")


if __name__ == "__main__":
    main()
