"""A long recording decoded as two halves at once (decode._halves) gives what one decode gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline import ffmpeg
from pipeline.audio import decode
from tests import audio_gen as gen


class _Keep:
    power = True  # the mono signal and the BS.1770 power, as the speech step decodes them

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def feed(self, frames: np.ndarray) -> None:
        self.parts.append(frames.copy())


def _scan(path: Path, monkeypatch: pytest.MonkeyPatch, halves: int) -> np.ndarray:
    monkeypatch.setattr(decode, "HALVES", halves)
    keep = _Keep()
    decode.scan(path, [keep])
    return np.concatenate(keep.parts)


def _lags(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    found: list[int | None] = []
    real = decode._lag

    def spy(*args: Any) -> int | None:
        found.append(real(*args))
        return found[-1]

    monkeypatch.setattr(decode, "_lag", spy)
    return found


def test_an_opus_recording_decoded_as_two_halves_is_the_one_decode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    x = gen.room(rng, 6 * gen.RATE, 0.05)
    x += 0.2 * np.sin(2 * np.pi * 220 * np.arange(len(x)) / gen.RATE) * rng.random(len(x))
    wav = gen.write(tmp_path / "take.wav", x)
    webm = tmp_path / "take.webm"
    ffmpeg.run(["-i", str(wav), "-c:a", "libopus", "-b:a", "48k", str(webm)], what=wav)
    lags = _lags(monkeypatch)
    whole = _scan(webm, monkeypatch, 10**9)
    halves = _scan(webm, monkeypatch, 1_000)  # halves of 3 s, cut at 3 s
    assert lags and lags[0] is not None  # lined up on the overlap, not decoded again
    assert halves.shape == whole.shape
    assert np.abs(halves - whole).max() <= 1e-6  # float rounding: the Opus decoder's state


@pytest.mark.parametrize("lag", [-320, -16, 0, 160, decode.MAX_LAG])
def test_the_second_half_lines_up_at_the_one_shift_where_both_agree(
        tmp_path: Path, lag: int) -> None:
    n = decode.OVERLAP * decode.RATE // 1000
    whole = np.random.default_rng(5).standard_normal((5 * n, 2)).astype("<f4")
    start = 2 * n  # where the overlap starts in the whole: the first half's last 2 n
    rest = tmp_path / "rest.f32"
    rest.write_bytes(whole[start + lag:].tobytes())  # the seek landed ``lag`` late
    assert decode._lag(whole[start:start + 2 * n].tobytes(), rest, 8) == lag


def test_halves_that_cannot_be_lined_up_are_decoded_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Digital silence over the overlap: every shift agrees, so none is taken."""
    x = gen.room(np.random.default_rng(4), 6 * gen.RATE, 0.05)
    x[2 * gen.RATE:5 * gen.RATE] = 0
    wav = tmp_path / "gap.wav"  # at 48 kHz, as recorders write (the halves are for those)
    ffmpeg.run(["-i", str(gen.write(tmp_path / "gap16.wav", x)), "-ar", "48000", str(wav)],
               what=wav)
    lags = _lags(monkeypatch)
    whole = _scan(wav, monkeypatch, 10**9)
    halves = _scan(wav, monkeypatch, 1_000)
    assert lags == [None]
    assert halves.shape == whole.shape
    assert np.abs(halves - whole).max() <= 1e-6  # the first half's own decode: float rounding
