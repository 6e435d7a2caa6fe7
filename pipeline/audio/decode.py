"""Audio of any media file as mono float32 numpy, through ffmpeg, in bounded memory.

Long recordings are never held whole: :func:`scan` streams the decoded samples in chunks
of a few seconds to "taps" that each keep a small per-frame summary (1 ms envelopes for
clap detection, 10 ms speech decisions for sync). :func:`read_window` decodes a short
stretch exactly, for refining a candidate found in the summaries.

A 2-hour recording at 16 kHz costs ~28 MB per 1 ms float32 envelope and ~0.7 MB of
speech decisions, instead of the 460 MB its samples would take.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline import ffmpeg
from pipeline.errors import MediaError
from pipeline.timecode import seconds

log = logging.getLogger(__name__)

RATE = 16_000  # analysis sample rate (Hz): enough for claps (energy to 8 kHz) and for VAD
FRAME = 16  # samples per 1 ms
CHUNK = RATE * 8  # samples per streamed chunk (8 s, a multiple of 10 ms)


class Tap(Protocol):
    """Something that summarises a stream of samples, chunk by chunk, in order."""

    def feed(self, samples: np.ndarray) -> None: ...


def decode_args(
    path: str | Path, *, rate: int = RATE, start: int | None = None, length: int | None = None,
    delay: int = 0,
) -> list[str]:
    """ffmpeg arguments decoding the first audio stream to mono float32 PCM on stdout.

    ``start``/``length`` (ms) select a window (input seeking: ffmpeg decodes from the
    nearest seek point and drops samples before ``start``). ``delay``: ms the audio stream
    starts after the file (MediaInfo.audio_delay); that much silence is put before it, so
    sample times are the file's times, where the video is cut.
    """
    pad = max(0, delay - max(0, start or 0))
    args: list[str] = []
    if start is not None:
        args += ["-ss", f"{seconds(max(0, start)):.3f}"]
    if length is not None:
        args += ["-t", f"{seconds(length):.3f}"]
    args += ["-i", ffmpeg.media_arg(path), "-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1",
             # a short resampling filter: ~35% less ffmpeg time than the default, and the
             # little aliasing it lets through near 8 kHz is harmless for claps and VAD;
             # rematrix_maxval=1: a stereo recording decodes to (L+R)/2, not (L+R)/sqrt 2,
             # so identical channels give the channel itself (loudness.py counts two)
             "-af", (f"adelay={pad}:all=1," if pad else "")
             + f"aresample={rate}:filter_size=8:phase_shift=6:rematrix_maxval=1",
             # write 32 KB blocks, not one small write per decoded packet: a fifth of the
             # reader's CPU (system calls are dear in containers)
             "-flush_packets", "0",
             "-f", "f32le", "pipe:1"]
    return args


def _check_audio(path: Path) -> ffmpeg.MediaInfo:
    info = ffmpeg.probe(path)
    if info.audio is None:
        raise MediaError("recording has no audio stream", path)
    return info


def scan(path: str | Path, taps: Sequence[Tap], *, chunk: int = CHUNK) -> int:
    """Decode the whole audio of ``path`` once, feeding every chunk to every tap.

    Returns the decoded duration in ms. Raises MediaError naming the file when it is
    missing, empty, not media, has no audio, or decodes to no samples.
    """
    path = Path(path)
    info = _check_audio(path)
    total = 0
    carry = b""
    args = decode_args(path, delay=info.audio_delay)
    for data in ffmpeg.stream(args, chunk_bytes=chunk * 4, what=path):
        data = carry + data
        usable = len(data) // 4 * 4
        carry = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<f4")
        total += len(samples)
        for tap in taps:
            tap.feed(samples)
    if total == 0:
        raise MediaError("recording's audio is empty (no samples decoded)", path)
    log.info("decoded %s: %.1f s of audio", path, total / RATE)
    return total * 1000 // RATE


def read_window(path: str | Path, start: int, length: int, *, rate: int = RATE) -> np.ndarray:
    """Decode ``length`` ms of audio from ``start`` ms (mono float32 at ``rate``)."""
    path = Path(path)
    chunks = [
        np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4")
        for data in ffmpeg.stream(
            decode_args(path, rate=rate, start=start, length=length,
                        delay=ffmpeg.probe(path).audio_delay),
            chunk_bytes=1 << 20, what=path,
        )
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def read_all(path: str | Path) -> np.ndarray:
    """Decode a short file whole at RATE (tests, small clips); long ones go through scan()."""
    chunks: list[np.ndarray] = []

    class _Keep:
        def feed(self, samples: np.ndarray) -> None:
            chunks.append(samples.copy())

    scan(path, [_Keep()])
    return np.concatenate(chunks)
