"""pipeline.audio.filters against the scipy designs and filters it replaces."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage, signal

from pipeline.audio import filters
from pipeline.audio.clap import HIGH_HZ, HIGH_PASS
from pipeline.audio.decode import RATE


@pytest.mark.parametrize(("order", "hz", "rate"), [(4, HIGH_HZ, RATE), (2, 100, 48000),
                                                   (6, 3000, 44100)])
def test_butter_highpass_is_scipys(order: int, hz: float, rate: int) -> None:
    ours = filters.butter_highpass(order, hz, rate)
    theirs = signal.butter(order, hz, "highpass", fs=rate, output="sos")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-14)


def test_the_clap_band_filter_is_sosfilt_streamed_and_sosfiltfilt() -> None:
    sos = signal.butter(4, HIGH_HZ, "highpass", fs=RATE, output="sos")
    impulse = signal.sosfilt(sos, np.r_[1.0, np.zeros(2 * HIGH_PASS.reach)])
    assert np.abs(impulse[HIGH_PASS.reach:]).max() < 1e-16  # the reach is enough
    x = (np.random.default_rng(7).standard_normal(40_000) * 0.3).astype(np.float32)
    x[9000:9100] += 0.9  # a step and a burst: the filter's memory matters
    whole = signal.sosfilt(sos, x)
    np.testing.assert_allclose(HIGH_PASS(x), whole, rtol=0, atol=1e-13)
    cut, reach = 12_345, HIGH_PASS.reach  # in two pieces, the state carried by the samples
    pieces = np.concatenate([HIGH_PASS(x[:cut]), HIGH_PASS(x[cut:], x[cut - reach : cut])])
    np.testing.assert_allclose(pieces, whole, rtol=0, atol=1e-13)
    for n in (31, 3200, 5000):
        np.testing.assert_allclose(HIGH_PASS.filtfilt(x[9000 - n // 2 :][:n]),
                                   signal.sosfiltfilt(sos, x[9000 - n // 2 :][:n]),
                                   rtol=0, atol=1e-13)


def test_lowpass_fir_is_firwin_kaiser() -> None:
    for taps, cutoff, beta in ((48, 0.9 / 4, 6.0), (31, 0.5, 8.6)):
        np.testing.assert_allclose(filters.lowpass_fir(taps, cutoff, beta),
                                   signal.firwin(taps, cutoff, window=("kaiser", beta)),
                                   rtol=0, atol=1e-15)


def test_running_max_is_maximum_filter1d() -> None:
    x = (np.random.default_rng(3).random(20_000) ** 8).astype(np.float32)
    x[100:700] = 0
    x[5000:5003] = x.max()  # ties
    for reach in (1, 600, 25_000):
        assert np.array_equal(filters.running_max(x, reach),
                              ndimage.maximum_filter1d(x, 2 * reach + 1, mode="constant"))


def test_the_speech_step_imports_no_scipy() -> None:
    """scipy.signal and ndimage cost ~75 MB and 0.7 s: the speech step and the clap search
    need neither (sync imports them when it matches given captions)."""
    out = subprocess.run(
        [sys.executable, "-c", ("import sys, pipeline.lesson, pipeline.speech.forced, "
                                "pipeline.audio.clap, pipeline.audio.sync; print(sorted("
                                "m for m in sys.modules if m.startswith('scipy')))")],
        capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
