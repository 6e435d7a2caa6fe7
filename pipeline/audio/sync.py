"""Caption-to-recording offset, measured the way ffsubsync does.

The recording's speech activity (10 ms frames, see speech.py) and the captions' on/off
track are turned into +1/-1 signals and cross-correlated with an FFT over every possible
lag. The best lag (refined between frames by a parabola through the peak) is the offset to
add to caption times, then refined to the millisecond by the same correlation at 1 ms
within 20 ms of it (see refine). Confidence says how distinct the peak is: how far it stands above
the best lag more than a second away, relative to the typical correlation.

Rules, in order:
1. A ``caption_offset`` from the lesson's frontmatter always wins (method "frontmatter").
2. Confidence >= MIN_CONFIDENCE: the measured offset (method "speech").
3. Otherwise, when a clap was found, the captions are taken as timed from the clap: offset
   = clap time (method "clap-fallback"); the low confidence is reported as measured.
4. Otherwise the measured offset is still reported (method "speech-low-confidence").

``analyse`` is the lesson's one audio pass: the same decode also feeds the loudness tap
(loudness.py), and its result (sync, speech stretches, loudness tracks) is what the build
caches, so a cached build never decodes the recording again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.audio.clap import EnvelopeTap, claps_from
from pipeline.audio.decode import Tap, scan
from pipeline.audio.loudness import LoudnessTap, LoudnessTrack
from pipeline.audio.speech import ABOVE_FLOOR, STEP, SpeechTap, segments
from pipeline.errors import CaptionError
from pipeline.models import Caption, Lesson
from pipeline.timecode import parse_timestamp, seconds, to_ms

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.3
EXCLUDE = 1000  # ms around the best lag ignored when looking for the runner-up


@dataclass(frozen=True, slots=True)
class SyncResult:
    clap: int | None  # ms into the recording of the first clap
    offset: int  # ms: caption time + offset = recording time
    confidence: float  # 0..1
    method: str

    def to_json(self) -> dict[str, Any]:
        return {"clap": None if self.clap is None else seconds(self.clap),
                "offset": seconds(self.offset), "confidence": round(self.confidence, 3),
                "method": self.method}


@dataclass(frozen=True, slots=True)
class Match:
    offset: int  # ms
    confidence: float


def caption_track(captions: Sequence[Caption], step: int = STEP) -> np.ndarray:
    """On/off per ``step`` ms frame: True while any caption is shown."""
    end = max((c.end for c in captions), default=0)
    track = np.zeros(end // step + 1, dtype=bool)
    for c in captions:
        if c.end > c.start >= 0:
            track[c.start // step : max(c.end // step, c.start // step + 1)] = True
    return track


def match(speech: np.ndarray, captions: np.ndarray, step: int = STEP) -> Match:
    """Best lag of the caption track against the speech track, and how distinct it is."""
    from scipy import signal  # ~75 MB and 0.7 s: only when captions are matched

    if not speech.any() or not captions.any():
        return Match(0, 0.0)
    a = speech.astype(np.float64) * 2 - 1
    b = captions.astype(np.float64) * 2 - 1
    corr = signal.correlate(a, b, mode="full", method="fft")
    lags = signal.correlation_lags(len(a), len(b), mode="full")
    best = int(np.argmax(corr))
    shift = 0.0
    if 0 < best < len(corr) - 1:  # parabola through the peak and its neighbours
        left, mid, right = corr[best - 1 : best + 2]
        denom = left - 2 * mid + right
        shift = float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5)) if denom else 0.0
    away = np.abs(lags - lags[best]) > EXCLUDE // step
    runner_up = float(corr[away].max()) if away.any() else float(np.median(corr))
    typical = float(np.median(corr))
    spread = float(corr[best]) - typical
    distinct = (float(corr[best]) - runner_up) / spread if spread > 0 else 0.0
    # a few loud frames (a clap, a cough) are not enough speech to place the captions on
    coverage = min(1.0, float(speech.sum()) / (0.5 * float(captions.sum())))
    confidence = float(np.clip(distinct / 0.5, 0.0, 1.0)) * coverage
    return Match(round(float(lags[best] + shift) * step), confidence)


def refine(coarse: int, energy: np.ndarray, speech: np.ndarray,
           captions: Sequence[Caption], span: int = 2 * STEP) -> int:
    """The offset to the millisecond within ``span`` ms of a 10 ms ``coarse`` match.

    Same ±1 correlation at 1 ms: the recording is "on" where its 5 ms loudness stands
    ABOVE_FLOOR dB over the noise floor inside the (30 ms widened) speech track.
    """
    if len(energy) == 0 or not speech.any():
        return coarse
    from scipy import ndimage

    smooth = ndimage.uniform_filter1d(energy, 5)
    floor = max(float(np.percentile(10 * np.log10(smooth[::STEP] + 1e-10), 10)), -80.0)
    near = np.repeat(ndimage.binary_dilation(speech, iterations=3), STEP)
    n = min(len(smooth), len(near))
    on = (smooth[:n] > 10 ** ((floor + ABOVE_FLOOR) / 10)) & near[:n]
    del smooth, near
    shown = caption_track(captions, 1)

    def agreement(lag: int) -> float:  # sum of (±1)(±1) over the overlap, kept as booleans
        lo, hi = max(0, lag), min(n, len(shown) + lag)
        if hi <= lo:
            return -np.inf
        same = np.count_nonzero(on[lo:hi] == shown[lo - lag : hi - lag])
        return float(2 * same - (hi - lo))

    lags = np.arange(coarse - span, coarse + span + 1)
    scores = np.array([agreement(int(lag)) for lag in lags])
    best = int(np.argmax(scores))
    # the plateau's middle when several lags tie
    ties = np.flatnonzero(scores == scores[best])
    return int(lags[round(float(np.mean(ties)))])


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything one decode of a recording gives: sync, speech stretches, loudness."""

    sync: SyncResult
    speech: tuple[tuple[int, int], ...]  # ms, pauses under 300 ms bridged
    loudness: LoudnessTrack
    duration: int  # ms decoded

    def to_json(self) -> dict[str, Any]:
        """A JSON document (the step cache's), read back by :meth:`from_json`."""
        return {"clap": self.sync.clap, "offset": self.sync.offset,
                "confidence": self.sync.confidence, "method": self.sync.method,
                "speech": [list(s) for s in self.speech], "loudness": self.loudness.to_json(),
                "duration": self.duration}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Analysis:
        return cls(SyncResult(doc["clap"], doc["offset"], doc["confidence"], doc["method"]),
                   tuple((int(a), int(b)) for a, b in doc["speech"]),
                   LoudnessTrack.from_json(doc["loudness"]), int(doc["duration"]))


def analyse(path: str | Path, captions: Sequence[Caption], *,
            caption_offset: int | None = None) -> Analysis:
    """Clap, caption offset, speech stretches and loudness track from one decode."""
    loudness, speech = LoudnessTap(), SpeechTap()
    result, duration = _measure(path, captions, caption_offset, speech, [loudness])
    return Analysis(result, tuple(segments(speech.track())), loudness.track(), duration)


def measure_sync(
    path: str | Path, captions: Sequence[Caption], *, caption_offset: int | None = None
) -> SyncResult:
    """Clap and caption offset of one recording (one decode pass for both)."""
    return _measure(path, captions, caption_offset, SpeechTap(), [])[0]


def _measure(path: str | Path, captions: Sequence[Caption], caption_offset: int | None,
             speech: SpeechTap, taps: Sequence[Tap]) -> tuple[SyncResult, int]:
    """The one decode: clap envelope, speech track and any further ``taps``."""
    envelope = EnvelopeTap()
    duration = scan(path, [envelope, speech, *taps])
    env = envelope.envelope()
    first = claps_from(path, env, duration).first
    clap = first.ms if first else None
    if caption_offset is not None:
        return SyncResult(clap, caption_offset, 1.0, "frontmatter"), duration
    track = speech.track()
    coarse = match(track, caption_track(captions))
    offset = refine(coarse.offset, env.energy, track, captions)
    log.info("speech match: offset %d ms (%d ms at 10 ms), confidence %.2f",
             offset, coarse.offset, coarse.confidence)
    if coarse.confidence >= MIN_CONFIDENCE:
        return SyncResult(clap, offset, coarse.confidence, "speech"), duration
    if clap is not None:
        return SyncResult(clap, clap, coarse.confidence, "clap-fallback"), duration
    return SyncResult(clap, offset, coarse.confidence, "speech-low-confidence"), duration


def load_captions(path: str | Path) -> tuple[list[Caption], int | None]:
    """Captions and the frontmatter ``caption_offset`` (ms) of a script, or an SRT/VTT's.

    CaptionError when there is nothing to sync against: no captions and no offset.
    """
    from pipeline.script.parse import is_script, parse_script

    path = Path(path)
    if is_script(path):  # by content: a script saved as .txt is still a script
        lesson = parse_script(path)
        offset = caption_offset_of(lesson)
        if not lesson.captions and offset is None:
            raise CaptionError("script has no embedded captions (SRT block) and no "
                               "caption_offset in its frontmatter", path)
        return list(lesson.captions), offset
    from pipeline.captions.io import read_captions

    captions, _issues = read_captions(path)
    if not captions:
        raise CaptionError("no captions could be read from this file", path)
    return captions, None


def caption_offset_of(lesson: Lesson) -> int | None:
    """The frontmatter ``caption_offset`` in ms: seconds (a number, "2.31") or a timestamp
    ("0:02.310"); None when the script does not pin it."""
    value, path = lesson.frontmatter.get("caption_offset"), lesson.path
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return to_ms(float(value))
    text = str(value).strip()
    sign = -1 if text.startswith("-") else 1
    parsed = parse_timestamp(text.lstrip("+-"))
    if parsed is not None:
        return sign * parsed
    try:
        return to_ms(float(text))
    except ValueError:
        raise CaptionError(f"frontmatter caption_offset {text!r} is not seconds or a timestamp",
                           path, frontmatter_line(path, "caption_offset")) from None


def frontmatter_line(path: Path, key: str) -> int | None:
    """The line of ``key:`` in a file's frontmatter, for error messages."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((i for i, line in enumerate(lines, 1) if line.strip().startswith(f"{key}:")),
                None)
