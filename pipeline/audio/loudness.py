"""Loudness (ITU-R BS.1770 / EBU R128), true peak, clipping and hum, in the one audio pass.

:class:`LoudnessTap` joins the streaming decode (see decode.py) and keeps, per 100 ms
block, three small numbers: the BS.1770 power (the mean of the decode's power signal:
each channel K-weighted at 48 kHz and squared, the channels summed, never a downmix, which
reads decorrelated stereo low; see decode.py), the true peak of the 16 kHz mono signal (4x
oversampled around the block's largest sample) and the count of its samples at full scale;
and per chunk (8 s) the mains-hum measurement of its quietest moments. That
:class:`LoudnessTrack` (0.6 MB per hour; 0.8 MB as base64 JSON in the step cache) is all
that is kept: where the take is trimmed is known only after sync, and :func:`measure`
computes a span's figures from it.

Numbers are for playback on two speakers: a mono recording is measured as dual mono
(its power counted twice, as ``ebur128=dualmono=true``), which is what the always-stereo
output carries. The K-weighting biquads are derived for 48 kHz from the analog prototype
by the bilinear transform (libebur128's constants), so the whole band counts; the true
peak is that of the 16 kHz mono signal (README: the measured error against ffmpeg's
``ebur128=peak=true`` on the original files).
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.audio.decode import RATE
from pipeline.audio.filters import lowpass_fir
from pipeline.errors import MediaError

BLOCK = 100  # ms per block: the hop of BS.1770's gating blocks and of the short-term track
BLOCK_SAMPLES = RATE * BLOCK // 1000
FRAME = 10  # ms per frame of the level track (a cut's quietest spot)
FRAME_SAMPLES = RATE * FRAME // 1000
GATE_BLOCKS = 4  # 400 ms gating (momentary) blocks
SHORT_BLOCKS = 30  # 3 s short-term windows (loudness range)
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU under the ungated mean (integrated loudness)
LRA_GATE = -20.0  # LU (loudness range, EBU Tech 3342)
CLIP = 0.99  # a decoded sample at or above this magnitude is at full scale
OVERSAMPLE = 4
TAPS_PER_PHASE = 12
MAINS = (50, 60)  # Hz
HARMONICS = 4
SILENT_DB = -120.0  # the level given to digital silence
GUARD_MS = 100  # ms kept clear of speech where the noise floor and hum are measured
MIN_QUIET = 5  # blocks away from speech needed to measure the noise floor


def k_weighting(rate: int) -> np.ndarray:
    """BS.1770's K-weighting (high shelf, then high-pass) at ``rate`` as second-order sections.

    The analog prototype's constants are libebur128's; at 48 kHz this gives the
    coefficients printed in BS.1770-4 to 1e-8.
    """
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0,
             (vh - vb * k / q + k * k) / a0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def _phases() -> np.ndarray:
    """The 4x interpolation filter split into its phases: (OVERSAMPLE, TAPS_PER_PHASE)."""
    taps = lowpass_fir(OVERSAMPLE * TAPS_PER_PHASE, 0.9 / OVERSAMPLE, beta=6.0)
    taps *= OVERSAMPLE / taps.sum()
    return np.asarray(taps.reshape(TAPS_PER_PHASE, OVERSAMPLE).T[:, ::-1], dtype=np.float64)


HUM_FRAME = 2 * BLOCK_SAMPLES  # 200 ms: 5 Hz bins, every mains harmonic on a bin
HUM_BIN = RATE // HUM_FRAME
HUM_FRAMES = 4  # the quietest frames of each chunk looked at
_HANN = np.hanning(HUM_FRAME).astype(np.float32)
_PHASES = _phases()
_REACH = TAPS_PER_PHASE // 2  # samples of context each side of an interpolated point


def _level(mean_square: float | np.ndarray) -> Any:
    """BS.1770 loudness (LUFS) of a power (the channels' K-weighted mean squares summed)."""
    with np.errstate(divide="ignore"):
        return np.maximum(-0.691 + 10 * np.log10(mean_square), SILENT_DB)


def _db(amplitude: float | np.ndarray) -> Any:
    with np.errstate(divide="ignore"):
        return np.maximum(20 * np.log10(amplitude), SILENT_DB)


@dataclass(frozen=True, slots=True)
class LoudnessTrack:
    """Per 100 ms block: BS.1770 power, true peak (linear), full-scale samples;
    per quiet 200 ms frame looked at for hum: its first block and [mean square, then for
    50 and 60 Hz: power in the mains harmonics' bins, power expected there from the bins
    beside them]."""

    power: np.ndarray  # float64
    peak: np.ndarray  # float32
    clipped: np.ndarray  # int32
    hum_block: np.ndarray  # int32
    hum: np.ndarray  # float32 (chunks, 5)
    # per 10 ms frame: the level in whole dB (int8, -127 for digital silence): where a cut
    # finds the quietest spot of a pause (pipeline.cuts)
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    def to_json(self) -> dict[str, Any]:
        def pack(a: np.ndarray, dtype: str) -> str:
            return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode()
        return {"power": pack(self.power, "<f8"), "peak": pack(self.peak, "<f4"),
                "clipped": pack(self.clipped, "<i4"), "hum_block": pack(self.hum_block, "<i4"),
                "hum": pack(self.hum, "<f4"), "frames": pack(self.frames, "i1")}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LoudnessTrack:
        def unpack(key: str, dtype: str) -> np.ndarray:
            return np.frombuffer(base64.b64decode(doc[key]), dtype=dtype)
        return cls(unpack("power", "<f8"), unpack("peak", "<f4"), unpack("clipped", "<i4"),
                   unpack("hum_block", "<i4"), unpack("hum", "<f4").reshape(-1, 5),
                   unpack("frames", "i1") if "frames" in doc else np.zeros(0, dtype=np.int8))


class LoudnessTap:
    """Streams the decode's (mono signal, power) frames into a LoudnessTrack (a decode Tap
    asking for the power): a block reshape, and a few interpolated points per block; one
    FFT per chunk for hum."""

    power = True  # scan() feeds (samples, 2) frames: the mono signal, the BS.1770 power

    def __init__(self) -> None:
        self._rest = np.zeros((0, 2), dtype=np.float32)
        self._left = np.zeros(_REACH + 2, dtype=np.float32)  # samples before the next block
        self._blocks = 0
        self._power: list[np.ndarray] = []
        self._peak: list[np.ndarray] = []
        self._clipped: list[np.ndarray] = []
        self._hum_block: list[int] = []
        self._hum: list[list[float]] = []
        self._frames: list[np.ndarray] = []

    def feed(self, frames: np.ndarray) -> None:
        both = np.concatenate([self._rest, frames]) if len(self._rest) else frames
        n = len(both) // BLOCK_SAMPLES * BLOCK_SAMPLES
        self._rest = both[n:].copy()
        if n == 0:
            return
        x = np.ascontiguousarray(both[:n, 0])
        self._power.append(both[:n, 1].reshape(-1, BLOCK_SAMPLES).mean(axis=1, dtype=np.float64))
        blocks = x.reshape(-1, BLOCK_SAMPLES)
        with np.errstate(divide="ignore"):
            level = 10 * np.log10(np.square(x).reshape(-1, FRAME_SAMPLES).mean(axis=1))
        self._frames.append(np.clip(np.round(level), -127, 0).astype(np.int8))
        magnitude = np.abs(blocks)
        self._clipped.append(np.count_nonzero(magnitude >= CLIP, axis=1).astype(np.int32))
        self._peak.append(self._true_peaks(x, magnitude))
        self._hum_of(blocks)
        self._blocks += len(blocks)

    def _true_peaks(self, x: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
        """Per block: the largest of its biggest sample and the 4x-interpolated points in
        the two sample intervals either side of it (intersample peaks sit beside it)."""
        right = self._rest[: _REACH + 2, 0]
        padded = np.concatenate([self._left, x, right,
                                 np.zeros(_REACH + 2 - len(right), dtype=np.float32)])
        self._left = x[-(_REACH + 2):].copy()
        top = magnitude.argmax(axis=1)
        centre = np.arange(len(top)) * BLOCK_SAMPLES + top + len(self._left)
        # interpolated points between samples c+d and c+d+1 for d in -2..1
        offsets = np.arange(-2 - _REACH + 1, 2 + _REACH + 1)
        window = padded[centre[:, None] + offsets[None, :]].astype(np.float64)
        best = magnitude[np.arange(len(top)), top].astype(np.float64)
        for d in range(4):
            span = window[:, d : d + TAPS_PER_PHASE]
            values = span @ _PHASES[1:].T  # (blocks, 3): the three points between samples
            best = np.maximum(best, np.abs(values).max(axis=1))
        return best.astype(np.float32)

    def _hum_of(self, blocks: np.ndarray) -> None:
        """Mains hum in the chunk's quietest moments (its HUM_FRAMES quietest 200 ms
        frames, speech pauses): power at 50/60 Hz and harmonics against the bins beside."""
        frames = blocks[: len(blocks) // 2 * 2].reshape(-1, HUM_FRAME)
        if len(frames) < HUM_FRAMES:
            return
        energy = np.einsum("ij,ij->i", frames, frames) / HUM_FRAME
        quiet = np.sort(np.argsort(energy)[:HUM_FRAMES])
        spectra = np.abs(np.fft.rfft(frames[quiet] * _HANN, axis=1)) ** 2
        rows = [energy[quiet].astype(np.float64)]
        for mains in MAINS:
            narrow, near = np.zeros(len(quiet)), np.zeros(len(quiet))
            for k in range(1, HARMONICS + 1):
                centre = k * mains // HUM_BIN
                narrow += spectra[:, centre - 1 : centre + 2].sum(axis=1)
                side = np.concatenate([spectra[:, centre - 8 : centre - 2],
                                       spectra[:, centre + 3 : centre + 9]], axis=1)
                near += 3 * np.median(side, axis=1).astype(np.float64)
            rows += [narrow, near]
        self._hum_block += (self._blocks + 2 * quiet).tolist()
        self._hum += np.column_stack(rows).tolist()

    def track(self) -> LoudnessTrack:
        def join(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
        return LoudnessTrack(
            join(self._power, np.float64), join(self._peak, np.float32),
            join(self._clipped, np.int32), np.array(self._hum_block, dtype=np.int32),
            np.array(self._hum, dtype=np.float32).reshape(-1, 5), join(self._frames, np.int8))


# --- figures for a span of the track ---------------------------------------------------


def integrated(power: np.ndarray) -> float:
    """Gated integrated loudness (LUFS) of 100 ms block powers (BS.1770-4); shorter than one
    400 ms gating block: nothing to measure (SILENT_DB), as ffmpeg's ebur128 says -70."""
    if len(power) < GATE_BLOCKS:
        return SILENT_DB
    blocks = np.convolve(power, np.ones(GATE_BLOCKS) / GATE_BLOCKS, mode="valid")
    kept = blocks[_level(blocks) > ABSOLUTE_GATE]
    if not len(kept):
        return SILENT_DB
    kept = kept[_level(kept) > _level(float(kept.mean())) + RELATIVE_GATE]
    return float(_level(float(kept.mean())))


def loudness_range(power: np.ndarray) -> float:
    """EBU Tech 3342 loudness range (LU): 10th to 95th percentile of gated short-term."""
    if len(power) < SHORT_BLOCKS:
        return 0.0
    windows = np.convolve(power, np.ones(SHORT_BLOCKS) / SHORT_BLOCKS, mode="valid")
    levels = _level(windows)
    above = levels > ABSOLUTE_GATE
    if not above.any():
        return 0.0
    short = levels[above & (levels > _level(float(windows[above].mean())) + LRA_GATE)]
    low, high = np.percentile(short, [10, 95])
    return float(high - low)


@dataclass(frozen=True, slots=True)
class Silence:
    start: int  # ms, recording time
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Levels:
    """A take's figures over the span that ships (recording ms [start, end))."""

    start: int
    end: int
    integrated: float  # LUFS
    loudness_range: float  # LU
    true_peak: float  # dBTP
    clipped: int  # samples at full scale (16 kHz)
    noise_floor: float | None  # LUFS: median 100 ms loudness away from speech; None: no pause
    hum: float  # dB the strongest mains hum stands above its neighbour bins in silence
    hum_hz: int  # 50 or 60 (0: no quiet second to measure)
    hum_level: float  # dBFS of the hum components
    head: int  # ms of silence after the trim before the first speech
    tail: int  # ms of silence after the last speech
    silences: tuple[Silence, ...]  # pauses between speech, longest first

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start / 1000, "end": self.end / 1000,
                "integrated": round(self.integrated, 2),
                "loudness_range": round(self.loudness_range, 2),
                "true_peak": round(self.true_peak, 2), "clipped": self.clipped,
                "noise_floor": None if self.noise_floor is None else round(self.noise_floor, 2),
                "hum": round(self.hum, 1),
                "hum_hz": self.hum_hz, "hum_level": round(self.hum_level, 1),
                "head_silence": self.head / 1000, "tail_silence": self.tail / 1000,
                "silences": [[s.start / 1000, s.end / 1000] for s in self.silences]}


def measure(track: LoudnessTrack, speech: Sequence[tuple[int, int]], start: int,
            end: int | None = None) -> Levels:
    """The figures of recording ms [start, end) from the track and the speech stretches."""
    total = len(track.power) * BLOCK
    end = total if end is None else min(end, total)
    first, last = min(start // BLOCK, len(track.power)), max(start // BLOCK, end // BLOCK)
    power = track.power[first:last]
    quiet = _away_from_speech(len(track.power), speech)
    between = power[quiet[first:last]]
    floor = float(np.median(_level(between))) if len(between) >= MIN_QUIET else None
    peak = float(_db(float(track.peak[first:last].max()))) if last > first else SILENT_DB
    hum, hum_hz, hum_level = _hum(track, first, last, quiet)
    spoken = [(max(a, start), min(b, end)) for a, b in speech if b > start and a < end]
    head = (spoken[0][0] - start) if spoken else end - start
    tail = (end - spoken[-1][1]) if spoken else end - start
    pauses = [Silence(a[1], b[0]) for a, b in itertools.pairwise(spoken)]
    return Levels(start, end, integrated(power), loudness_range(power), peak,
                  int(track.clipped[first:last].sum()), floor, hum, hum_hz, hum_level,
                  max(0, head), max(0, tail),
                  tuple(sorted(pauses, key=lambda s: -s.length)[:20]))


def _away_from_speech(blocks: int, speech: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per 100 ms block: True when no speech stretch comes within GUARD_MS of it."""
    quiet = np.ones(blocks, dtype=bool)
    for a, b in speech:
        quiet[max(0, (a - GUARD_MS) // BLOCK) : max(0, (b + GUARD_MS + BLOCK - 1) // BLOCK)] = False
    return quiet


def _hum(track: LoudnessTrack, first: int, last: int,
         quiet: np.ndarray) -> tuple[float, int, float]:
    """The strongest mains hum over the span's quiet frames away from speech (speech
    harmonics would pass for hum): (dB over the bins beside it, Hz, level dBFS)."""
    at = track.hum_block
    inside = (at >= first) & (at + 1 < last)
    inside[inside] &= quiet[at[inside]] & quiet[np.minimum(at[inside] + 1, len(quiet) - 1)]
    rows = track.hum[inside].astype(np.float64)
    if not len(rows):
        return 0.0, 0, SILENT_DB
    best = (0.0, 0, SILENT_DB)
    for k, mains in enumerate(MAINS):
        narrow, near = float(rows[:, 1 + 2 * k].mean()), float(rows[:, 2 + 2 * k].mean())
        prominence = 10 * math.log10((narrow + 1e-30) / (near + 1e-30))
        if prominence > best[0]:
            # a sine of amplitude A peaks at A*N/4 in a Hann-windowed FFT; 3 bins hold 1.5x
            best = (prominence, mains, float(_db(math.sqrt(narrow / 1.5) * 4 / HUM_FRAME)))
    return best


def joined_integrated(tracks: Sequence[tuple[LoudnessTrack, int, int, float]]) -> float:
    """Integrated loudness of takes joined, each (track, start ms, end ms, gain dB)."""
    parts = [t.power[s // BLOCK : max(s // BLOCK, e // BLOCK)] * 10 ** (g / 10)
             for t, s, e, g in tracks]
    return integrated(np.concatenate(parts)) if parts else SILENT_DB


_SUMMARY_I = re.compile(r"I:\s+(-?[\d.]+) LUFS")
_SUMMARY_PEAK = re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS")


def file_loudness(path: str | Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's first audio stream as ffmpeg's
    ``ebur128=peak=true`` measures it: the rendered output's "after" figures (one decode of
    its audio, no video). A silent or too short file reads -70 LUFS."""
    from pipeline import ffmpeg

    text = subprocess.run(
        [ffmpeg.executable(), "-hide_banner", "-nostdin", "-nostats", "-i", ffmpeg.media_arg(path),
         "-map", "0:a:0", "-vn", "-sn", "-dn", "-af", "ebur128=peak=true:framelog=quiet",
         "-f", "null", "-"], capture_output=True, text=True, errors="replace", check=False,
    ).stderr
    summary = text[text.rfind("Summary:"):]
    integrated_, peak = _SUMMARY_I.search(summary), _SUMMARY_PEAK.search(summary)
    if "Summary:" not in text or integrated_ is None or peak is None:
        raise MediaError(f"ffmpeg's ebur128 gave no summary: {text.strip()[-200:]}", path)
    return float(integrated_[1]), max(float(peak[1]), SILENT_DB)