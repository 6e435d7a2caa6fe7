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

A 48 kHz recording of 2 minutes or more (``HALVES``) is decoded as two halves at once, one
per core: the first streamed, the second written meanwhile to a temporary file and handed
on after it (:func:`_halves`); the taps see the one stream they would see otherwise, to
float rounding.

A 2-hour recording at 16 kHz costs ~28 MB per 1 ms float32 envelope and ~0.7 MB of
speech decisions, instead of the 460 MB its samples would take.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline import ffmpeg
from pipeline.errors import MediaError
from pipeline.timecode import seconds

log = logging.getLogger(__name__)

RATE = 16_000  # analysis sample rate (Hz): enough for claps (energy to 8 kHz) and for VAD
FRAME = 16  # samples per 1 ms
CHUNK = RATE * 8  # samples per streamed chunk (8 s, a multiple of 10 ms)
HALVES = 120_000  # ms: a recording this long is decoded as two halves at once (two cores)
OVERLAP = 1_000  # ms the halves share: the second is aligned on the first there
MAX_LAG = 800  # samples (50 ms): how far ffmpeg's input seek may land from where it was asked


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
    kw: dict[str, Any] = {"delay": info.audio_delay,
                          "power": ("mono" if info.mono else "stereo") if power else None}
    size = chunk * 4 * width
    # at 48 kHz only: from other rates ffmpeg resamples before or after the graph's split,
    # as it sees fit, and a graph with -ss/-t in it can choose otherwise than one without
    if (info.duration or 0) >= HALVES and info.sample_rate == POWER_RATE \
            and (os.cpu_count() or 1) >= 2:
        pieces = _halves(path, info.duration or 0, kw, 4 * width, size)
    else:
        pieces = ffmpeg.stream(decode_args(path, **kw), chunk_bytes=size, what=path)
    for data in pieces:
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


def _halves(path: Path, duration: int, kw: dict[str, Any], frame: int, size: int,
            ) -> Iterator[bytes]:
    """The decode's output (``frame`` bytes a sample) of a long recording, from two ffmpeg
    runs at once: the first half streamed, the second (from ``OVERLAP`` before the middle,
    ffmpeg's input seek) written to a temporary file meanwhile, then read on from the
    sample where it lines up with the first half's last ``OVERLAP`` (ffmpeg lands up to
    a packet away from the time asked; a second of decoding later both decodes agree to
    float rounding). Where that cannot be told (the overlap is digital silence) or the
    second run failed, the rest comes from a decode of the whole."""
    cut = duration // 2 // 10 * 10
    head = cut * RATE // 1000 * frame  # bytes of the first half
    shared = (cut - OVERLAP) * RATE // 1000 * frame  # where the overlap starts
    with tempfile.TemporaryDirectory(prefix="decode-") as tmp:
        rest = Path(tmp) / "rest.f32"
        failed: list[BaseException] = []

        def second() -> None:
            try:
                ffmpeg.run([*decode_args(path, start=cut - OVERLAP, **kw)[:-1], str(rest)],
                           what=path)
            except (MediaError, OSError) as e:  # the whole is decoded instead (below)
                failed.append(e)

        thread = threading.Thread(target=second)
        thread.start()
        try:
            around: list[bytes] = []
            at = 0
            for data in ffmpeg.stream(decode_args(path, length=cut + OVERLAP, **kw),
                                      chunk_bytes=size, what=path):
                if at < head:
                    yield data[:head - at]
                if at + len(data) > shared:
                    around.append(data[max(0, shared - at):])
                at += len(data)
        finally:
            thread.join()
        if at <= head:  # the first half held it all (the container's length was long)
            return
        lag = None if failed else _lag(b"".join(around), rest, frame)
        if lag is None:
            log.info("%s: the halves could not be lined up; decoding the rest again", path)
            skip = head
            for data in ffmpeg.stream(decode_args(path, **kw), chunk_bytes=size, what=path):
                if len(data) > skip:
                    yield data[skip:]
                skip = max(0, skip - len(data))
            return
        with rest.open("rb") as f:
            f.seek((OVERLAP * RATE // 1000 - lag) * frame)
            while data := f.read(size):
                yield data


def _lag(around: bytes, rest: Path, frame: int) -> int | None:
    """Samples the second half starts after where it was asked (its sample j is the first
    half's ``j + lag`` from the overlap's start): the one shift at which the second
    overlap second of both decodes agrees; None when none or several do."""
    width = frame // 4
    a = np.frombuffer(around[:len(around) // frame * frame], "<f4").reshape(-1, width)
    n = OVERLAP * RATE // 1000
    with rest.open("rb") as f:
        b = np.frombuffer(f.read((2 * n + MAX_LAG) * frame), "<f4").reshape(-1, width)
    if len(a) < 2 * n or len(b) < n + MAX_LAG:
        return None
    end = 2 * n - RATE // 100  # the first half's last 10 ms: its resampler's flush
    target = a[n:end]
    probe = 256  # samples compared at every shift first; the few that agree, in full
    fits = [lag for lag in range(-MAX_LAG, MAX_LAG + 1)
            if np.abs(b[n - lag:n - lag + probe] - target[:probe]).max() <= 1e-5
            and np.abs(b[n - lag:end - lag] - target).max() <= 1e-5]
    return fits[0] if len(fits) == 1 else None


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
