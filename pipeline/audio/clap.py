"""Hand-clap (sync marker) detection.

A clap is a very sharp, broadband transient that dies away quickly. One streaming pass
gathers two 1 ms energy envelopes (the whole band, and the band above 1 kHz) and keeps the
samples around every sharp rise. Each loud high-band peak is scored on six features, each
mapped to 0..1 and multiplied into the confidence:

* jump       the 2 ms after the onset against the 10 ms before it (dB)
* rise       the peak against the 200 ms before the onset (dB)
* transient  the peak against 60-200 ms after the onset (short decay, dB)
* isolation  the peak against any other peak within ISOLATION ms (dB)
* broadband  the share above 1 kHz of the energy the event adds (a door thump, a kick or
             snare drum, a plosive or a wood block put theirs below 1 kHz)
* body       ms within 10 dB of the peak in the first 30: a keyboard click is a 1-2 ms tick

Speech fails rise/transient, thumps and plosives fail broadband, clicks fail body, music
and beep tracks fail isolation. Survivors are looked at sample by sample: an event with a
narrow spectrum (a mouth click, a tone burst) is dropped on its spectral flatness, and the
onset of the rest is refined to the first sample of its attack.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.audio.decode import FRAME, RATE, read_window, scan
from pipeline.audio.filters import IIR, butter_highpass, running_max

log = logging.getLogger(__name__)

HIGH_HZ = 1000  # lower edge of the "clap band"
MIN_CONFIDENCE = 0.5  # claps below this are not reported
ABS_FLOOR = 1e-9  # mean-square floor (-90 dBFS): digital silence is not a background
MIN_PEAK = 1e-7  # a 1 ms high-band peak below -70 dBFS is never a clap
LOOKBACK = 45  # ms searched before a peak for the event's start
ISOLATION = 600  # ms each side where no comparable transient may occur (beep tracks, music)
WINDOW_BEFORE = 60  # ms before a candidate's onset looked at (noise floor + seek error)
FLAT_LOW, FLAT_HIGH = 500, 5000  # Hz: what low-bitrate codecs keep (MP3 at 16 kHz: < 5.5 kHz)
# the clap band's filter: 4th-order Butterworth, its impulse response under 1e-17 after 16 ms
HIGH_PASS = IIR(butter_highpass(4, HIGH_HZ, RATE), reach=256)


@dataclass(frozen=True, slots=True)
class ClapHit:
    time: float  # ms into the recording, sub-ms precision from the sample-level refinement
    confidence: float  # 0..1

    @property
    def ms(self) -> int:
        return round(self.time)

    def to_json(self) -> dict[str, Any]:
        return {"time": round(self.time / 1000, 3), "confidence": round(self.confidence, 3)}


@dataclass(frozen=True, slots=True)
class ClapResult:
    duration: int  # ms
    claps: tuple[ClapHit, ...]

    @property
    def first(self) -> ClapHit | None:
        return self.claps[0] if self.claps else None

    def to_json(self) -> dict[str, Any]:
        return {"duration": round(self.duration / 1000, 3),
                "claps": [c.to_json() for c in self.claps]}


KEEP = 100  # ms of samples kept each side of a sharp rise, for the sample-level look
SHARP = 10 ** 1.5  # a 1 ms frame 15 dB over the 50 ms before it is a sharp rise
MAX_SNIPPETS = 2000  # at most ~25 MB of kept samples; the weakest rises give way


@dataclass(frozen=True, slots=True)
class Envelope:
    """Mean-square energy per 1 ms frame (the whole band and the band above HIGH_HZ), and
    the samples around every sharp rise: ``snippets`` maps a snippet's first frame (ms) to
    its samples, so onsets are refined without decoding again (seeking is not
    sample-exact in every container: Opus in WebM, AAC and Vorbis land 10-40 ms off)."""

    energy: np.ndarray
    high: np.ndarray
    snippets: Mapping[int, np.ndarray] = field(default_factory=dict)

    def samples(self, first: int, last: int) -> tuple[int, np.ndarray] | None:
        """A kept snippet covering frames [first, last): (its first frame, its samples)."""
        for start, x in self.snippets.items():
            if start <= first and start + len(x) // FRAME >= last:
                return start, x
        return None


class EnvelopeTap:
    """Streams samples into an Envelope (a decode Tap).

    Besides the two 1 ms envelopes it keeps a short tail of recent samples and envelope,
    and copies out KEEP ms either side of every sharp high-band rise once the samples
    after it have arrived. Memory stays bounded by the envelopes and MAX_SNIPPETS.
    """

    def __init__(self) -> None:
        self._before = np.zeros(HIGH_PASS.reach, dtype=np.float32)  # the filter's state
        self._rest = np.zeros(0, dtype=np.float32)
        self._frames = 0  # frames in the envelopes so far
        self._energy = np.zeros(0, dtype=np.float32)  # grown in place (see _put)
        self._high = np.zeros(0, dtype=np.float32)
        self._tail_start = 0  # frame of the tail's first sample
        self._tail_x = np.zeros(0, dtype=np.float32)
        self._tail_high = np.zeros(0, dtype=np.float32)
        self._checked = 0  # frames before this were searched for sharp rises
        self._last_kept = -KEEP
        self._kept: list[tuple[float, int]] = []  # heap of (strength, start frame)
        self._snippets: dict[int, np.ndarray] = {}

    def feed(self, samples: np.ndarray) -> None:
        x = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        n = len(x) // FRAME * FRAME
        self._rest = x[n:].copy()
        x = x[:n].astype(np.float32, copy=False)
        high = HIGH_PASS(x, self._before)
        self._before = np.concatenate([self._before, x])[-HIGH_PASS.reach :]
        high_energy = np.square(high, dtype=np.float32).reshape(-1, FRAME).mean(axis=1)
        _put(self._energy, self._frames,
             np.square(x).reshape(-1, FRAME).mean(axis=1, dtype=np.float32))
        _put(self._high, self._frames, high_energy)
        self._frames += len(high_energy)
        self._tail_x = np.concatenate([self._tail_x, x])
        self._tail_high = np.concatenate([self._tail_high, high_energy])
        self._keep_sharp(self._tail_start + len(self._tail_high) - KEEP)

    def _keep_sharp(self, until: int) -> None:
        """Copy out the samples around sharp rises in frames [checked, until)."""
        h, base = self._tail_high, self._tail_start
        lo = max(self._checked, base + 55)
        if until > lo:
            idx = np.arange(lo, until) - base
            sums = np.concatenate([[0.0], np.cumsum(h, dtype=np.float64)])
            before = (sums[idx - 5] - sums[idx - 55]) / 50
            sharp = idx[(h[idx] > MIN_PEAK) & (h[idx] > SHARP * np.maximum(before, ABS_FLOOR))]
            for i in sharp:
                frame = int(i) + base
                if frame < self._last_kept + KEEP // 2:
                    continue  # inside the snippet just kept
                self._last_kept = frame
                first = max(base, frame - KEEP)
                snippet = self._tail_x[(first - base) * FRAME : (frame + KEEP - base) * FRAME]
                strength = float(h[i] / max(before[i - lo + base], ABS_FLOOR))
                heapq.heappush(self._kept, (strength, first))
                self._snippets[first] = snippet.copy()
                if len(self._kept) > MAX_SNIPPETS:
                    self._snippets.pop(heapq.heappop(self._kept)[1], None)
            self._checked = until
        cut = self._checked - base - KEEP - 60  # keep enough history for the next check
        if cut > 0:
            self._tail_x = self._tail_x[cut * FRAME :]
            self._tail_high = self._tail_high[cut:]
            self._tail_start += cut

    def envelope(self) -> Envelope:
        self._keep_sharp(self._tail_start + len(self._tail_high))  # the last KEEP ms
        for envelope in self._energy, self._high:
            envelope.resize(self._frames, refcheck=False)  # the tap's own arrays: no views
        return Envelope(self._energy, self._high, dict(self._snippets))


GROW = 1 << 18  # frames an envelope grows by (4.4 minutes, 1 MB)


def _put(envelope: np.ndarray, at: int, values: np.ndarray) -> None:
    """Write ``values`` at frame ``at``, growing ``envelope`` in place: an hour's envelope
    made of 8 s pieces joined at the end left their 29 MB freed between the samples that
    the speech step keeps (heap the process could not give back)."""
    if at + len(values) > len(envelope):
        envelope.resize(at + len(values) + GROW, refcheck=False)  # the tap's own array
    envelope[at : at + len(values)] = values


@dataclass(frozen=True, slots=True)
class Candidate:
    """A scored high-band peak (frames are 1 ms; levels in dB of 10 ms high-band energy)."""

    onset: int  # frame where the event starts (its sharpest 2 ms rise)
    peak: int  # frame of its high-band maximum
    jump: float  # dB: 2 ms after the onset against the 10 ms before it
    rise: float  # dB: the peak against the 200 ms before the onset
    transient: float  # dB: the peak against 60-200 ms after the onset
    isolation: float  # dB: the peak against any other peak within ISOLATION ms
    broadband: float  # 0..1: share of the event's energy above HIGH_HZ
    body: int  # ms within 10 dB of the peak, in the event's first 30 ms
    confidence: float


def _ramp(value: float, zero: float, one: float) -> float:
    """0 at ``zero``, 1 at ``one``, linear between (either direction), clipped."""
    return float(np.clip((value - zero) / (one - zero), 0.0, 1.0))


def _db(a: float, b: float) -> float:
    return float(10 * np.log10(max(a, ABS_FLOOR) / max(b, ABS_FLOOR)))


SEGMENT = 1 << 16  # frames looked at together for peaks: bounded temporaries


def loudest(high: np.ndarray) -> np.ndarray:
    """Frames over MIN_PEAK that are the loudest within ISOLATION ms either side (a clap
    is, else its isolation is under 0 dB), a SEGMENT of frames at a time."""
    found = [np.zeros(0, dtype=np.intp)]
    for start in range(0, len(high), SEGMENT):
        lo = max(0, start - ISOLATION)
        part = high[lo : start + SEGMENT + ISOLATION]
        mine = slice(start - lo, min(start + SEGMENT, len(high)) - lo)
        widest = running_max(part, ISOLATION)[mine]
        found.append(np.flatnonzero((part[mine] == widest) & (part[mine] > MIN_PEAK)) + start)
    return np.concatenate(found)


def score(env: Envelope) -> list[Candidate]:
    """Every isolated high-band peak that might be a clap, with its features and confidence."""
    high, energy = env.high, env.energy
    n = len(high)
    if n == 0:
        return []
    sums = np.zeros(n + 1)  # 0, then the running sum in float64: 29 MB an hour, made in
    sums[1:] = high  # place (a cumsum of float32 to float64 casts a copy first)
    np.cumsum(sums, out=sums)

    def mean(cs: np.ndarray, a: int, b: int) -> float:
        a, b = max(0, a), min(n, b)
        return float((cs[b] - cs[a]) / (b - a)) if b > a else 0.0

    peaks = loudest(high)
    # cheap vectorised prefilter: the peak must stand 12 dB above the 200 ms before and
    # 10 dB above the 60-200 ms after (the rise and transient ramps start there)
    def means(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.clip(a, 0, n), np.clip(b, 0, n)
        return (sums[b] - sums[a]) / np.maximum(b - a, 1)
    near_before = means(peaks - LOOKBACK - 200, peaks - LOOKBACK)
    near_after = means(peaks + 60, peaks + 200)
    keep = (high[peaks] >= 10 ** 1.2 * np.maximum(near_before, ABS_FLOOR)) & (
        (high[peaks] >= 10 ** 1.0 * np.maximum(near_after, ABS_FLOOR)) | (peaks + 100 >= n))
    found: list[Candidate] = []
    for p in peaks[keep]:
        p = int(p)
        peak = float(high[p])
        lo = max(0, p - LOOKBACK)
        starts = np.arange(lo, p + 1)
        ahead = (sums[np.minimum(starts + 2, n)] - sums[starts]) / 2
        behind = (sums[starts] - sums[np.maximum(starts - 10, 0)]) / np.maximum(
            np.minimum(starts, 10), 1)
        jumps = 10 * np.log10(np.maximum(ahead, ABS_FLOOR) / np.maximum(behind, ABS_FLOOR))
        jumps[ahead < peak * 10 ** -2.5] = -np.inf  # the start of *this* event, not noise
        onset = int(starts[int(np.argmax(jumps))])
        jump = float(jumps.max())
        event = mean(sums, onset, onset + 10)
        before = mean(sums, onset - 200, onset - 5)
        after = mean(sums, onset + 60, onset + 200)
        rise = _db(peak, before)
        transient = _db(peak, after) if onset + 100 < n else 40.0
        others = np.concatenate([high[max(0, onset - ISOLATION) : max(0, onset - 10)],
                                 high[onset + 150 : onset + ISOLATION]])
        isolation = _db(peak, float(others.max())) if len(others) else 30.0
        body = int(np.count_nonzero(high[onset : onset + 30] >= peak * 0.1))
        # what the event added in its first 10 ms over the 10 ms before it, above HIGH_HZ
        # and in all: a local difference, so steady speech or hum underneath cancels out
        added_high = event - mean(sums, onset - 10, onset)
        added_all = float(energy[onset : onset + 10].mean(dtype=np.float64)) - (
            float(energy[max(0, onset - 10) : onset].mean(dtype=np.float64)) if onset else 0.0)
        broadband = float(np.clip(added_high / added_all, 0, 1)) if added_all > 0 else 0.0
        confidence = (
            _ramp(jump, 6, 10)
            * _ramp(rise, 12, 20)
            * _ramp(transient, 10, 18)
            * _ramp(isolation, 3, 8)
            * _ramp(broadband, 0.08, 0.2)
            * _ramp(body, 1.5, 3.5)
        )
        found.append(Candidate(onset, p, jump, rise, transient, isolation, broadband, body,
                               confidence))
    return found



def _power(x: np.ndarray) -> np.ndarray:
    return np.abs(np.fft.rfft(x * np.hanning(len(x)), 512)) ** 2


def flatness(x: np.ndarray, before: np.ndarray | None = None) -> float:
    """Spectral flatness (0 tonal .. 1 white) of ``x`` between FLAT_LOW and FLAT_HIGH.

    With ``before`` (as long as ``x``), of what ``x`` adds to it: speech running under a
    clap does not make the clap look tonal.
    """
    if len(x) < FRAME:
        return 0.0
    power = _power(x)
    if before is not None and len(before) == len(x):
        power = np.maximum(power - _power(before), power * 0.01)
    freqs = np.fft.rfftfreq(512, 1 / RATE)
    band = power[(freqs >= FLAT_LOW) & (freqs <= FLAT_HIGH)] + 1e-20
    return float(np.exp(np.mean(np.log(band))) / np.mean(band))


def attack_start(x: np.ndarray, coarse: int) -> float:
    """Sample index where the attack starts in ``x``, near sample ``coarse``.

    The first sample whose high-band amplitude reaches a tenth of the event's peak (and
    three times the noise before it), then back to where it leaves the noise floor, the
    way librosa backtracks onsets to the preceding energy minimum.
    """
    high = np.abs(HIGH_PASS.filtfilt(x)) if len(x) > 30 else np.abs(x)
    noise = float(np.percentile(high[: max(coarse - 3 * FRAME, FRAME)], 90))
    top = float(high[max(0, coarse - 5 * FRAME):].max())
    first = np.flatnonzero(high[max(0, coarse - 10 * FRAME):] >= max(noise * 3, top * 0.1))
    if len(first) == 0:
        return float(coarse)
    i = max(0, coarse - 10 * FRAME) + int(first[0])
    floor = max(noise * 1.5, top * 0.02)
    lowest = max(0, i - 3 * FRAME)
    while i > lowest and high[i - 1] > floor:
        i -= 1
    return float(i)


def window_shift(x: np.ndarray, high: np.ndarray, start: int, onset: int, span: int = 30) -> int:
    """Samples to add to positions in a window decoded from ``start`` ms.

    Seeking is not sample-exact in every container (Opus in WebM lands ~6 ms off), so the
    window's 1 ms high-band energies are matched against the full pass's over shifts of up
    to ``span`` ms, and the best shift is returned.
    """
    power = np.square(HIGH_PASS(x))
    first = start + span + 2  # skip the filter's settling at the window start
    frames = min(onset + 40 - first, len(high) - first, (len(x) - 2 * span * FRAME) // FRAME - span - 2)
    if frames < 10:
        return 0
    target = np.log10(high[first : first + frames] + ABS_FLOOR)
    best, best_err = 0, np.inf
    for shift in range(-span * FRAME, span * FRAME + 1):
        i = (first - start) * FRAME - shift
        mine = power[i : i + frames * FRAME].reshape(-1, FRAME).mean(axis=1)
        err = float(np.sum((np.log10(mine + ABS_FLOOR) - target) ** 2))
        if err < best_err:
            best, best_err = shift, err
    return best


def find_claps(path: str | Path, *, min_confidence: float = MIN_CONFIDENCE) -> ClapResult:
    """All claps in a recording, in time order. MediaError when it cannot be decoded."""
    tap = EnvelopeTap()
    duration = scan(path, [tap])
    return claps_from(path, tap.envelope(), duration, min_confidence=min_confidence)


def claps_from(
    path: str | Path, env: Envelope, duration: int, *, min_confidence: float = MIN_CONFIDENCE
) -> ClapResult:
    """Claps from an envelope already gathered by a scan of ``path``.

    Candidates that pass on the envelope are looked at sample by sample (in the snippet
    the scan kept, else a re-decoded window): an event with a narrow spectrum (a tick,
    a beep, a mouth click) is dropped on its spectral flatness, and the onset of the rest
    is refined to the sample.
    """
    hits = []
    for cand in score(env):
        if cand.confidence < min_confidence:
            continue
        kept = env.samples(cand.onset - WINDOW_BEFORE, cand.onset + 20)
        if kept is not None:
            start, x = kept
            shift = 0
        else:  # more sharp rises than MAX_SNIPPETS: decode the window and align it
            start = max(0, cand.onset - WINDOW_BEFORE)
            x = read_window(path, start, cand.onset - start + 120)
            shift = window_shift(x, env.high, start, cand.onset)
        lead = max(0, (cand.onset - start) * FRAME - shift)  # the coarse onset's sample in x
        flat = flatness(x[lead : lead + 10 * FRAME], x[max(0, lead - 10 * FRAME) : lead])
        confidence = cand.confidence * _ramp(flat, 0.035, 0.055)
        log.info("clap candidate %s flatness %.3f -> %.2f", cand, flat, confidence)
        if confidence < min_confidence:
            continue
        if len(x) <= lead + FRAME:
            hits.append(ClapHit(float(cand.onset), confidence))
            continue
        time = start + (attack_start(x, lead) + shift) * 1000 / RATE
        hits.append(ClapHit(time, confidence))
    return ClapResult(duration, tuple(sorted(hits, key=lambda h: h.time)))
