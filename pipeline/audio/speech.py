"""Speech activity at 10 ms frames, gathered in the same streaming pass as the clap envelope.

Each frame gets its energy and webrtcvad's decision (aggressiveness 2, asked once per 30 ms
frame: a third of the calls; the 10 ms energy test keeps the edges sharp). The track is a
frame that webrtcvad calls speech *and* that stands 6 dB above the recording's noise
floor (webrtcvad alone fires on loud room noise). When webrtcvad recognises almost none
of the loud frames (synthetic or heavily processed voices), the energy test alone is used.
"""

from __future__ import annotations

import logging

import numpy as np
import webrtcvad

from pipeline.audio.decode import RATE

log = logging.getLogger(__name__)

STEP = 10  # ms per frame
SAMPLES = RATE * STEP // 1000
VAD_FRAMES = 3  # 10 ms frames per webrtcvad call (it takes 10, 20 or 30 ms)
AGGRESSIVENESS = 2
ABOVE_FLOOR = 6.0  # dB above the 10th-percentile frame energy that counts as "loud"


class SpeechTap:
    """Streams samples into per-10-ms webrtcvad decisions and energies (a decode Tap)."""

    def __init__(self) -> None:
        self._vad = webrtcvad.Vad(AGGRESSIVENESS)
        self._rest = np.zeros(0, dtype=np.float32)
        self._voiced: list[np.ndarray] = []
        self._energy: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        x = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        n = len(x) // (SAMPLES * VAD_FRAMES) * SAMPLES * VAD_FRAMES
        self._rest = x[n:].copy()
        frames = x[:n].reshape(-1, SAMPLES)
        self._energy.append(np.square(frames).mean(axis=1, dtype=np.float32))
        pcm = (np.clip(x[:n], -1, 1) * 32767).astype("<i2").tobytes()
        size = SAMPLES * VAD_FRAMES * 2
        is_speech = self._vad.is_speech
        calls = len(frames) // VAD_FRAMES
        voiced = np.fromiter(
            (is_speech(pcm[i : i + size], RATE) for i in range(0, len(pcm), size)),
            dtype=bool, count=calls,
        )
        self._voiced.append(np.repeat(voiced, VAD_FRAMES))

    def track(self) -> np.ndarray:
        """Speech activity per 10 ms frame (bool)."""
        if not self._energy:
            return np.zeros(0, dtype=bool)
        return speech_track(np.concatenate(self._voiced), np.concatenate(self._energy))


def speech_track(voiced: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Combine webrtcvad decisions with an energy-above-floor test (see module doc)."""
    level = 10 * np.log10(np.maximum(energy.astype(np.float64), 1e-10))
    loud = level > max(float(np.percentile(level, 10)), -80.0) + ABOVE_FLOOR
    both = voiced & loud
    if loud.any() and both.sum() < 0.05 * loud.sum():
        log.info("webrtcvad recognised %d of %d loud frames: using energy alone",
                 int(both.sum()), int(loud.sum()))
        return loud
    return both


def segments(track: np.ndarray, *, min_gap: int = 300, min_length: int = 100
             ) -> list[tuple[int, int]]:
    """Speech stretches (start, end) in ms: pauses under ``min_gap`` bridged, then blips
    under ``min_length`` dropped. For reports and checks; sync correlates the raw track."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], track.astype(np.int8), [0]])))
    runs = [(int(a) * STEP, int(b) * STEP) for a, b in zip(edges[::2], edges[1::2])]
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < min_gap:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(a, b) for a, b in merged if b - a >= min_length]
