"""Audio of any media file as mono float32 numpy, through ffmpeg, in bounded memory.

Long recordings are never held whole: :func:`scan` streams the decoded samples in chunks
of a few seconds to "taps" that each keep a small per-frame summary (1 ms envelopes for
clap detection, 10 ms speech decisions for sync). :func:`read_window` decodes a short
stretch exactly, for refining a candidate found in the summaries.

The same decode also carries, beside the 16 kHz mono signal, the recording's BS.1770 power
at full bandwidth: each channel K-weighted at 48 kHz, squared, the channels summed (a mono
recording counted twice: it plays on two speakers), brought to 16 kHz (see loudness.py).
ffmpeg computes it in the decode's own filter graph, so loudness costs no second decode
and the pipe carries two numbers per 16 kHz frame.

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
    """Something that summarises a stream of samples, chunk by chunk, in order: the mono
    signal, or, when the tap's ``power`` is True, (samples, 2) frames of the mono signal
    and the K-weighted power (loudness.py)."""

    def feed(self, samples: np.ndarray) -> None: ...


def decode_args(
    path: str | Path, *, rate: int = RATE, start: int | None = None, length: int | None = None,
    delay: int = 0, power: str | None = None,
) -> list[str]:
    """ffmpeg arguments decoding the first audio stream to mono float32 PCM on stdout.

    ``start``/``length`` (ms) select a window (input seeking: ffmpeg decodes from the
    nearest seek point and drops samples before ``start``). ``delay``: ms the audio stream
    starts after the file (MediaInfo.audio_delay); that much silence is put before it, so
    sample times are the file's times, where the video is cut. ``power`` ("mono" or
    "stereo": the recording's channels; wider is mixed to stereo): two channels out, the
    mono signal and the recording's BS.1770 power beside it (see the module's doc).
    """
    pad = max(0, delay - max(0, start or 0))
    args: list[str] = []
    if start is not None:
        args += ["-ss", f"{seconds(max(0, start)):.3f}"]
    if length is not None:
        args += ["-t", f"{seconds(length):.3f}"]
    # a short resampling filter: ~35% less ffmpeg time than the default, and the little
    # aliasing it lets through near 8 kHz is harmless for claps and VAD; rematrix_maxval=1:
    # a stereo recording decodes to (L+R)/2, not (L+R)/sqrt 2
    mono = (f"aresample={rate}:filter_size=8:phase_shift=6:rematrix_maxval=1,"
            "aformat=sample_fmts=flt:channel_layouts=mono")
    head = f"adelay={pad}:all=1," if pad else ""
    # the filters' output in frames of 0.5 s, not one per packet (20 ms of Opus): ffmpeg
    # hands each frame from thread to thread (filters, encoder, muxer), and those hand-offs
    # were a seventh of its CPU (benchmarks/bench_speech.py); the samples are the same
    batch = f"asetnsamples=n={rate // 2}:p=0"
    args += ["-i", ffmpeg.media_arg(path)]
    if power is None:
        args += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-af", f"{head}{mono},{batch}"]
    else:
        graph = (f"[0:a:0]{head}asplit=2[m][p];[m]{mono}[mono];"
                 f"[p]{_power_chain(power, rate)}[pw];[mono][pw]amerge=inputs=2,{batch}[out]")
        args += ["-filter_complex", graph, "-map", "[out]"]
    # write 32 KB blocks, not one small write per decoded packet: a fifth of the reader's
    # CPU (system calls are dear in containers)
    return [*args, "-flush_packets", "0", "-f", "f32le", "pipe:1"]


POWER_RATE = 48_000  # Hz: the K-weighting runs at this rate, whatever the recording's


def _power_chain(layout: str, rate: int) -> str:
    """The filters from the recording's audio to its BS.1770 power at ``rate``: each channel
    K-weighted, squared, the channels summed (a mono recording twice: dual mono)."""
    from pipeline.audio.loudness import k_weighting

    weight = ",".join(f"biquad=b0={b0!r}:b1={b1!r}:b2={b2!r}:a0=1:a1={a1!r}:a2={a2!r}"
                      for b0, b1, b2, _, a1, a2 in k_weighting(POWER_RATE).tolist())
    total = "2*c0" if layout == "mono" else "c0+c1"
    return (f"aformat=sample_fmts=dblp:sample_rates={POWER_RATE}:channel_layouts={layout},"
            f"{weight},asplit=2[k1][k2];[k1][k2]amultiply,pan=mono|c0={total},"
            f"aresample={rate}:filter_size=8:phase_shift=6,"
            f"aformat=sample_fmts=flt:sample_rates={rate}:channel_layouts=mono")


def _check_audio(path: Path) -> ffmpeg.MediaInfo:
    info = ffmpeg.probe(path)
    if info.audio is None:
        raise MediaError("recording has no audio stream", path)
    return info


def scan(path: str | Path, taps: Sequence[Tap], *, chunk: int = CHUNK) -> int:
    """Decode the whole audio of ``path`` once, feeding every chunk to every tap (the
    BS.1770 power is computed only when a tap asks for it).

    Returns the decoded duration in ms. Raises MediaError naming the file when it is
    missing, empty, not media, has no audio, or decodes to no samples.
    """
    path = Path(path)
    info = _check_audio(path)
    total = 0
    carry = b""
    power = any(getattr(tap, "power", False) for tap in taps)  # else the mono signal alone
    width = 2 if power else 1
    args = decode_args(path, delay=info.audio_delay,
                       power=("mono" if info.mono else "stereo") if power else None)
    for data in ffmpeg.stream(args, chunk_bytes=chunk * 4 * width, what=path):
        data = carry + data
        usable = len(data) // (4 * width) * (4 * width)
        carry = data[usable:]
        frames = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, width)
        samples = np.ascontiguousarray(frames[:, 0]) if power else frames[:, 0]
        total += len(frames)
        for tap in taps:
            tap.feed(frames if getattr(tap, "power", False) else samples)
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
