"""Generated test audio for the clap and sync tests: a clap, speech-like narration, distractors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import signal
from scipy.io import wavfile

from pipeline.models import Caption

RATE = 16_000


def clap(rng: np.random.Generator, level: float = 0.8) -> np.ndarray:
    """A hand clap: three fast noise bursts (0.7-5 kHz) in 6 ms, then a 15 ms decay."""
    t = np.arange(int(0.15 * RATE)) / RATE
    env = np.exp(-t / 0.012)
    for delay, gain in [(0.0025, 0.6), (0.005, 0.4)]:
        env += gain * np.exp(-np.clip(t - delay, 0, None) / 0.010) * (t >= delay)
    noise = signal.sosfilt(signal.butter(2, [700, 5000], "bandpass", fs=RATE, output="sos"),
                           rng.standard_normal(len(t)))
    x = noise * env
    return x / np.abs(x).max() * level


def click(level: float) -> np.ndarray:
    """A keyboard key: a 1 ms ringing tick at 3 kHz, released 90 ms later."""
    t = np.arange(int(0.004 * RATE)) / RATE
    tick = np.sin(2 * np.pi * 3000 * t) * np.exp(-t / 0.0006)
    x = np.zeros(int(0.1 * RATE))
    x[: len(tick)] += tick
    x[int(0.09 * RATE) : int(0.09 * RATE) + len(tick)] += 0.6 * tick
    return x / np.abs(x).max() * level


def thump(rng: np.random.Generator, level: float) -> np.ndarray:
    """A door thump: a 70 Hz body and low noise, decaying over ~100 ms."""
    t = np.arange(int(0.4 * RATE)) / RATE
    low = signal.sosfilt(signal.butter(2, 250, "lowpass", fs=RATE, output="sos"),
                         rng.standard_normal(len(t)))
    x = (np.sin(2 * np.pi * 70 * t) + 0.5 * low / np.abs(low).max()) * np.exp(-t / 0.08)
    return x / np.abs(x).max() * level


def syllable(rng: np.random.Generator, length: int, plosive: bool) -> np.ndarray:
    """A voiced vowel (120-140 Hz harmonics, two formants), optionally after a plosive burst."""
    t = np.arange(length) / RATE
    f0 = rng.uniform(110, 140)
    voice = signal.sawtooth(2 * np.pi * f0 * t) * 0.5
    for formant in (rng.uniform(500, 800), rng.uniform(1200, 1800)):
        voice = voice + signal.sosfilt(
            signal.butter(2, [formant * 0.85, formant * 1.15], "bandpass", fs=RATE,
                          output="sos"), voice)
    env = np.minimum(1, np.minimum(t / 0.02, (t[-1] - t) / 0.03 + 1e-9))
    x = voice * env
    x = x / (np.abs(x).max() + 1e-12)
    if plosive:  # /p/ /b/: a loud low burst of ~8 ms before the vowel
        n = int(0.008 * RATE)
        burst = signal.sosfilt(signal.butter(2, 1500, "lowpass", fs=RATE, output="sos"),
                               rng.standard_normal(n)) * np.exp(-np.arange(n) / (0.003 * RATE))
        x = np.concatenate([1.4 * burst / np.abs(burst).max(), np.zeros(int(0.015 * RATE)), x])
    return x


def narrate(rng: np.random.Generator, total: int, captions: Sequence[Caption], offset: int,
            *, level: float = 0.3, plosive: bool = False) -> np.ndarray:
    """Speech-like sound filling every caption's span shifted by ``offset`` ms."""
    x = np.zeros(total)
    for cap in captions:
        start, end = (cap.start + offset) * RATE // 1000, (cap.end + offset) * RATE // 1000
        pos = start
        while pos < min(end, total) - int(0.08 * RATE):
            n = min(int(rng.uniform(0.12, 0.25) * RATE), end - pos)
            syl = syllable(rng, n, plosive and rng.random() < 0.7)[: min(end, total) - pos]
            x[pos : pos + len(syl)] += syl * level * rng.uniform(0.6, 1.0)
            pos += len(syl) + int(rng.uniform(0.0, 0.04) * RATE)
    return x


def room(rng: np.random.Generator, total: int, level: float) -> np.ndarray:
    """Room noise: pinkish (low-passed) noise with a 50 Hz hum, ``level`` RMS."""
    noise = signal.sosfilt(signal.butter(1, 800, "lowpass", fs=RATE, output="sos"),
                           rng.standard_normal(total))
    noise += 0.3 * signal.sosfilt(signal.butter(1, 4000, "highpass", fs=RATE, output="sos"),
                                  rng.standard_normal(total))
    noise += np.sin(2 * np.pi * 50 * np.arange(total) / RATE)
    return noise / np.sqrt(np.mean(noise**2)) * level


def captions_script(n: int = 8, rng: np.random.Generator | None = None) -> list[Caption]:
    """Caption blocks from 0 s: 1-3.5 s each with 0.2-1.2 s gaps."""
    rng = rng or np.random.default_rng(7)
    caps, t = [], 0
    for i in range(n):
        length = int(rng.uniform(1000, 3500))
        caps.append(Caption(i + 1, t, t + length, f"caption {i + 1}"))
        t += length + int(rng.uniform(200, 1200))
    return caps


def place(x: np.ndarray, sound: np.ndarray, at_ms: float) -> None:
    i = round(at_ms * RATE / 1000)
    n = min(len(sound), len(x) - i)
    x[i : i + n] += sound[:n]


def write(path: Path, x: np.ndarray) -> Path:
    top = float(np.abs(x).max()) if len(x) else 0.0
    if top > 0.99:  # normalise (as a recorder's gain would) rather than clip
        x = x * (0.99 / top)
    wavfile.write(path, RATE, x.astype(np.float32))
    return path
