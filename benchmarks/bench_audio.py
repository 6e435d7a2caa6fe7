"""clap + sync on a generated 60-minute recording, against a bare ffmpeg decode of it.

The recording is cheap to make: audio-only WebM, Opus at 24 kb/s, mono 48 kHz, made by
ffmpeg from six generated 50 s stretches of speech-like narration in a random order (the
first with a clap at 0.5 s; the captions 1.5 s behind the narration).
Three timings in the same run, interleaved, each the best of ``REPEATS``:

* decode    ``ffmpeg -i REC -map 0:a:0 -f null -``: the audio decoded and thrown away
* clap      ``find_claps``: one streamed decode to 16 kHz mono + clap scoring
* sync      ``measure_sync``: the same single decode feeding both the clap envelope and
            the speech track, then the FFT match (the clap comes with it)
* analyse   ``analyse``: what a lesson build runs: the same single decode feeding the clap
            envelope, the speech track and the loudness tap (BS.1770 loudness, true peak,
            clipping, hum), then the match

``BENCH_MINUTES=10`` makes a shorter recording (the ratios hold; an hour takes minutes).

``python -m benchmarks audio`` runs it.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from pipeline import ffmpeg
from pipeline.audio.clap import find_claps
from pipeline.audio.sync import analyse, measure_sync
from pipeline.models import Caption

MINUTES = int(os.environ.get("BENCH_MINUTES", "60"))
SEGMENTS = 6
SEGMENT = 50_000  # ms
REPEATS = 3
RATE = 16_000


def _make(folder: Path) -> tuple[Path, list[Caption]]:
    """An hour of narration (one clap at 0.5 s), never periodic: six different 50 s
    segments in a random order, so the caption match has one right answer."""
    from tests import audio_gen as gen

    rng = np.random.default_rng(1)
    segments: list[tuple[Path, list[Caption]]] = []
    for k in range(SEGMENTS):
        caps = gen.captions_script(14, rng)
        x = gen.room(rng, SEGMENT * RATE // 1000, 0.002)
        x += gen.narrate(rng, len(x), [c for c in caps if c.end + 1500 < SEGMENT], 1500)
        if k == 0:
            gen.place(x, gen.clap(rng), 500.0)
        segments.append((gen.write(folder / f"seg{k}.wav", x),
                         [c for c in caps if c.end + 1500 < SEGMENT]))
    order = [0] + list(rng.integers(1, SEGMENTS, MINUTES * 60_000 // SEGMENT - 1))
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{segments[k][0]}'\n" for k in order))
    recording = folder / "hour.webm"
    ffmpeg.run(["-f", "concat", "-safe", "0", "-i", ffmpeg.media_arg(listing),
                "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k",
                ffmpeg.media_arg(recording)], what=recording)
    timeline: list[Caption] = []
    for slot, k in enumerate(order):
        for c in segments[k][1]:
            timeline.append(Caption(len(timeline) + 1, c.start + slot * SEGMENT,
                                    c.end + slot * SEGMENT, c.text))
    return recording, timeline


T = TypeVar("T")


CPU: dict[str, float] = {}  # best CPU seconds (this process + ffmpeg) per step


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn: Callable[[], T], name: str = "") -> tuple[float, T]:
    start, cpu = time.perf_counter(), _cpu()
    result = fn()
    if name:
        CPU[name] = min(CPU.get(name, float("inf")), _cpu() - cpu)
    return time.perf_counter() - start, result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"making a {MINUTES}-minute Opus/WebM recording ...", flush=True)
        recording, captions = _make(Path(tmp))
        hours = MINUTES / 60
        decode = clap = sync = full = float("inf")
        for _ in range(REPEATS):  # interleaved, best of each: the machine is shared
            seconds, _ = _timed(lambda: ffmpeg.run(
                ["-i", ffmpeg.media_arg(recording), "-map", "0:a:0", "-f", "null", "-"],
                what=recording), "decode")
            decode = min(decode, seconds)
            seconds, claps = _timed(lambda: find_claps(recording))
            clap = min(clap, seconds)
            seconds, result = _timed(lambda: measure_sync(recording, captions), "sync")
            sync = min(sync, seconds)
            seconds, analysis = _timed(lambda: analyse(recording, captions), "analyse")
            full = min(full, seconds)
        tracemalloc.start()
        measure_sync(recording, captions)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"bare ffmpeg decode : {decode / hours:7.2f} s per hour of audio")
    print(f"clap               : {clap / hours:7.2f} s per hour  ({clap / decode:.2f}x decode)"
          f"  -> {len(claps.claps)} claps")
    print(f"sync (clap+offset) : {sync / hours:7.2f} s per hour  ({sync / decode:.2f}x decode)"
          f"  -> {result.to_json()}")
    print(f"sync + loudness    : {full / hours:7.2f} s per hour  ({full / decode:.2f}x decode)"
          f"  -> {analysis.sync.to_json()}")
    print(f"peak Python memory in sync: {peak / 2**20:.0f} MB for {MINUTES} min")
    print(f"ratio clap+sync (one pass) / decode: {sync / decode:.2f}  (target < 1.5)")
    print(f"ratio clap+sync+loudness (one pass) / decode: {full / decode:.2f}"
          f"  (loudness adds {(full - sync) / decode:+.2f}x)")
    cpu = {k: v / hours for k, v in CPU.items()}
    print(f"CPU seconds per hour (ours + ffmpeg's), steadier on a shared machine: decode "
          f"{cpu['decode']:.2f}, sync {cpu['sync']:.2f} ({cpu['sync'] / cpu['decode']:.2f}x), "
          f"sync + loudness {cpu['analyse']:.2f} ({cpu['analyse'] / cpu['decode']:.2f}x)")


if __name__ == "__main__":
    main()
