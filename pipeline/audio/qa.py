"""Audio QA: a table of named checks over each take's levels, like the caption rules.

Every check yields findings (which take, what, by how much) from the figures the audio pass
measured (loudness.py) and the gain the render applies (normalize.py); thresholds live in
AudioSettings, never in a rule. ``fixable`` says the render repairs it (the gain does).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pipeline.audio.loudness import (
    Levels,
    LoudnessTrack,
    file_loudness,
    joined_integrated,
    measure,
)
from pipeline.audio.normalize import AudioSettings, Gain, take_gain
from pipeline.timecode import format_clock

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class TakeAudio:
    """One take as the lesson ships it: its measured span, and what the render does."""

    name: str
    levels: Levels
    gain: Gain

    def to_json(self) -> dict[str, Any]:
        return {"media": self.name, **self.levels.to_json(), **self.gain.to_json(),
                "integrated_after": round(self.after, 2)}

    @property
    def after(self) -> float:
        """Integrated loudness after the gain (the limiter's few hundredths not counted)."""
        return self.levels.integrated + self.gain.gain


@dataclass(frozen=True, slots=True)
class AudioFinding:
    take: int  # 1-based take number; 0 for the lesson as a whole
    rule: str
    severity: Severity
    message: str
    fixable: bool

    def to_json(self) -> dict[str, Any]:
        return {"take": self.take, "rule": self.rule, "severity": self.severity,
                "message": self.message, "fixable": self.fixable}


@dataclass(frozen=True, slots=True)
class Hit:
    take: int
    message: str
    severity: Severity | None = None  # None: the rule's own


@dataclass(frozen=True, slots=True)
class Context:
    settings: AudioSettings
    target: float


Check = Callable[[Sequence[TakeAudio], Context], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class AudioRule:
    name: str
    severity: Severity
    fixable: bool
    check: Check


def _takes(takes: Sequence[TakeAudio]) -> Iterator[tuple[int, TakeAudio]]:
    return enumerate(takes, 1)


def off_target(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        miss = t.levels.integrated - ctx.target
        if abs(miss) >= ctx.settings.off_target and t.levels.integrated > -70:
            yield Hit(n, f"{t.levels.integrated:.1f} LUFS, {abs(miss):.1f} LU "
                         f"{'over' if miss > 0 else 'under'} the {ctx.target:g} LUFS target: "
                         f"{t.gain.gain:+.1f} dB gain")
        if t.after < ctx.target - ctx.settings.off_target and t.levels.integrated > -70:
            yield Hit(n, f"stays at {t.after:.1f} LUFS: the gain is capped at "
                         f"+{ctx.settings.max_gain:g} dB", "warning")


def true_peak(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        if t.gain.limit is not None:
            over = t.levels.true_peak + t.gain.gain - t.gain.limit
            yield Hit(n, f"true peak {t.levels.true_peak:.1f} dBTP, "
                         f"{t.levels.true_peak + t.gain.gain:+.1f} dBTP after the gain: "
                         f"the limiter takes up to {over:.1f} dB off the peaks")


def clipping(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        if t.levels.clipped >= ctx.settings.clipped_samples:
            yield Hit(n, f"{t.levels.clipped} samples at full scale: the recording clipped "
                         "(lower the input gain and record again)")


def noise_floor(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        if t.levels.noise_floor is None:  # no pause to measure it in
            continue
        after = t.levels.noise_floor + t.gain.gain
        if after > ctx.settings.noise_floor:
            yield Hit(n, f"noise floor {t.levels.noise_floor:.1f} LUFS ({after:.1f} after the "
                         f"gain, limit {ctx.settings.noise_floor:g}): "
                         f"{t.levels.integrated - t.levels.noise_floor:.0f} dB under the speech")


def hum(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        level = t.levels.hum_level + t.gain.gain
        if t.levels.hum >= ctx.settings.hum and level > ctx.settings.hum_level:
            yield Hit(n, f"{t.levels.hum_hz} Hz mains hum {t.levels.hum:.0f} dB over the noise "
                         f"beside it, {level:.0f} dBFS after the gain")


def long_silence(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        for s in t.levels.silences:
            if s.length >= ctx.settings.long_silence * 1000:
                yield Hit(n, f"{s.length / 1000:.1f} s without speech at "
                             f"{format_clock(s.start - t.levels.start)} of the take's output")


def silent_head(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        if t.levels.head >= ctx.settings.head_silence * 1000:
            yield Hit(n, f"{t.levels.head / 1000:.1f} s of silence before the first word")


def silent_tail(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for n, t in _takes(takes):
        if t.levels.tail >= ctx.settings.tail_silence * 1000:
            yield Hit(n, f"{t.levels.tail / 1000:.1f} s of silence after the last word")


def level_jump(takes: Sequence[TakeAudio], ctx: Context) -> Iterator[Hit]:
    for (_, a), (n, b) in itertools.pairwise(_takes(takes)):
        before = b.levels.integrated - a.levels.integrated
        after = b.after - a.after
        if abs(after) > ctx.settings.off_target:
            yield Hit(n, f"{abs(after):.1f} LU {'louder' if after > 0 else 'quieter'} than "
                         f"take {n - 1} even after normalization", "warning")
        elif abs(before) >= ctx.settings.level_jump:
            yield Hit(n, f"recorded {abs(before):.1f} LU "
                         f"{'louder' if before > 0 else 'quieter'} than take {n - 1}; "
                         "the gains match them")


RULES: tuple[AudioRule, ...] = (
    AudioRule("loudness_off_target", "info", True, off_target),
    AudioRule("true_peak", "info", True, true_peak),
    AudioRule("clipping", "error", False, clipping),
    AudioRule("noise_floor", "warning", False, noise_floor),
    AudioRule("hum", "warning", False, hum),
    AudioRule("long_silence", "warning", False, long_silence),
    AudioRule("silent_head", "warning", False, silent_head),
    AudioRule("silent_tail", "warning", False, silent_tail),
    AudioRule("level_jump", "info", True, level_jump),
)


@dataclass(frozen=True, slots=True)
class AudioReport:
    """A lesson's audio: target, takes before and after, findings."""

    target: float
    true_peak_limit: float
    before: float  # LUFS of the joined takes as recorded
    after: float  # LUFS measured on the rendered output; before the render, the plan's
    takes: tuple[TakeAudio, ...]
    findings: tuple[AudioFinding, ...]
    planned: float | None = None  # the plan's "after" (the takes with their gains), once
    after_peak: float | None = None  # dBTP, measured on the rendered output

    def measured(self, video: Path) -> AudioReport:
        """The report with its "after" measured on the rendered ``video`` (ffmpeg's
        ``ebur128=peak=true`` over its audio: the limiter's and the encoder's share
        included, which the plan cannot know)."""
        after, peak = file_loudness(video)
        return replace(self, after=after, after_peak=peak, planned=self.after)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "true_peak_limit": self.true_peak_limit,
                "before": round(self.before, 2), "after": round(self.after, 2),
                "after_measured": self.planned is not None,
                "after_planned": None if self.planned is None else round(self.planned, 2),
                "after_true_peak": None if self.after_peak is None else round(self.after_peak, 2),
                "errors": self.errors, "warnings": self.warnings,
                "takes": [t.to_json() for t in self.takes],
                "findings": [f.to_json() for f in self.findings]}


def check_audio(takes: Sequence[TakeAudio], settings: AudioSettings,
                target: float) -> tuple[AudioFinding, ...]:
    """Run every rule; findings ordered by take, then by the rule table."""
    ctx = Context(settings, target)
    found = [AudioFinding(hit.take, rule.name, hit.severity or rule.severity, hit.message,
                          rule.fixable)
             for rule in RULES for hit in rule.check(takes, ctx)]
    found.sort(key=lambda f: f.take)
    return tuple(found)


def report_html(report: AudioReport, title: str, source: str) -> str:
    """The lesson's audio report, ``audio.html`` (autoescaped)."""
    from pipeline.reports.render import render_template

    return render_template("audio.html.j2", report=report, title=title, source=source,
                           rules=RULES)


def lesson_audio(spans: Sequence[tuple[str, LoudnessTrack, Sequence[tuple[int, int]], int, int]],
                 settings: AudioSettings, target: float) -> AudioReport:
    """The audio report of takes joined: each (name, track, speech, start ms, end ms) is
    measured over the span that ships, given its gain, and checked."""
    takes = []
    for name, track, speech, start, end in spans:
        levels = measure(track, speech, start, end)
        takes.append(TakeAudio(name, levels, take_gain(levels, target, settings)))
    before = joined_integrated([(track, start, end, 0.0) for _, track, _, start, end in spans])
    after = joined_integrated([(track, start, end, t.gain.gain)
                               for (_, track, _, start, end), t in zip(spans, takes, strict=True)])
    return AudioReport(target, settings.true_peak, before, after, tuple(takes),
                       check_audio(takes, settings, target))
