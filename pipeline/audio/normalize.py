"""Loudness normalization: the course's target, a lesson's override, each take's gain.

Every take of a lesson gets its own gain so joined takes sound alike: a linear gain to the
target where that keeps the true peak under the limit (same dynamics, no pumping), else the
same gain followed by a true-peak limiter, only on that take. The course sets the target in
the ``[audio]`` table of its TOML file (``course.toml`` for ``build``, the ``--theme`` file
for ``render``); a lesson's frontmatter ``loudness: -18`` overrides the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from pipeline.audio.loudness import Levels
from pipeline.errors import PipelineError
from pipeline.models import Lesson


class AudioSettingsError(PipelineError):
    """A bad [audio] setting or frontmatter loudness."""


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """Targets and the thresholds of the audio QA rules (dB, LUFS, LU, seconds)."""

    loudness: float = -16.0  # LUFS integrated: spoken word (EBU R128 broadcast is -23)
    true_peak: float = -1.5  # dBTP the output stays under
    headroom: float = 1.0  # dB the limiter keeps below true_peak: the 16 kHz estimate + Opus
    max_gain: float = 20.0  # dB: never raise a take more (a near-silent take stays quiet)
    off_target: float = 1.0  # LU from the target that is worth an info finding
    clipped_samples: int = 16  # full-scale samples (at 16 kHz) that make a take "clipped"
    noise_floor: float = -50.0  # LUFS after the gain: room noise above this is heard
    hum: float = 12.0  # dB a mains hum stands over its neighbour bins (in silence)
    hum_level: float = -65.0  # dBFS after the gain: fainter hum is not reported
    long_silence: float = 5.0  # s of silence between speech
    head_silence: float = 2.0  # s after the trim before the first word
    tail_silence: float = 3.0  # s after the last word
    level_jump: float = 3.0  # LU between joined takes before normalization

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_AUDIO = AudioSettings()
TARGET_RANGE = (-40.0, -5.0)


def audio_settings(data: Mapping[str, Any], path: str | Path | None = None) -> AudioSettings:
    """The ``[audio]`` table of a course TOML document (absent: the defaults)."""
    table = data.get("audio", {})
    if not isinstance(table, Mapping):
        raise AudioSettingsError("[audio] must be a table", path)
    known = {f.name for f in fields(AudioSettings)}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise AudioSettingsError(
                f"unknown [audio] key {key!r} (known: {', '.join(sorted(known))})", path)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AudioSettingsError(f"[audio] {key} must be a number", path)
        changes[key] = int(value) if key == "clipped_samples" else float(value)
    settings = replace(DEFAULT_AUDIO, **changes)
    if not TARGET_RANGE[0] <= settings.loudness <= TARGET_RANGE[1]:
        raise AudioSettingsError(f"[audio] loudness {settings.loudness} LUFS is outside "
                                 f"{TARGET_RANGE[0]:g}..{TARGET_RANGE[1]:g}", path)
    if not -20 <= settings.true_peak <= 0:
        raise AudioSettingsError("[audio] true_peak must be between -20 and 0 dBTP", path)
    return settings


def lesson_target(lesson: Lesson, settings: AudioSettings) -> float:
    """The lesson's loudness target: its frontmatter ``loudness:`` (LUFS), else the course's."""
    from pipeline.audio.sync import frontmatter_line

    value = lesson.frontmatter.get("loudness")
    if value is None:
        return settings.loudness
    try:
        target = float(str(value).strip().removesuffix("LUFS").strip()) \
            if not isinstance(value, bool) else math.nan
    except ValueError:
        target = math.nan
    if not TARGET_RANGE[0] <= target <= TARGET_RANGE[1]:
        raise AudioSettingsError(
            f"frontmatter loudness {value!r} is not a target in LUFS between "
            f"{TARGET_RANGE[0]:g} and {TARGET_RANGE[1]:g} (e.g. loudness: -18)",
            lesson.path, frontmatter_line(lesson.path, "loudness"))
    return target


@dataclass(frozen=True, slots=True)
class Gain:
    """What the render does to one take's audio."""

    gain: float  # dB, linear
    limit: float | None  # dBTP ceiling of the limiter the measured true peak needs; None: none
    guard: float | None = None  # the ceiling a raised take gets anyway (see take_gain)

    @property
    def ceiling(self) -> float | None:
        """The limiter the render applies, if any."""
        return self.limit if self.limit is not None else self.guard

    def to_json(self) -> dict[str, Any]:
        return {"gain": self.gain, "limiter": self.limit, "guard": self.guard}


def take_gain(levels: Levels, target: float, settings: AudioSettings) -> Gain:
    """Linear gain to ``target``; a limiter only when the true peak would pass the limit.

    A raised take also gets a guard at the same ceiling: the 16 kHz analysis does not see
    a click's or a clap's energy above 8 kHz, so its true peak can be under-read. The guard
    touches nothing under the ceiling.
    """
    if levels.integrated <= -70:  # nothing above the absolute gate: leave it alone
        return Gain(0.0, None)
    gain = round(min(target - levels.integrated, settings.max_gain), 2)
    if abs(gain) < 0.05:
        gain = 0.0
    ceiling = round(settings.true_peak - settings.headroom, 2)
    if levels.true_peak + gain > ceiling:
        return Gain(gain, ceiling)
    return Gain(gain, None, ceiling if gain > 0 else None)
