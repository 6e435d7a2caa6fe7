"""What a render is made of, as data: sources, timed cards, captions, encoder settings.

Everything here is pure: times are integer ms on the OUTPUT timeline unless a name says
otherwise, and nothing here touches ffmpeg or the disk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pipeline.models import Caption, CueKind
from pipeline.timecode import seconds

Preset = Literal["fast", "final"]
PRESETS: tuple[str, ...] = ("fast", "final")
MAX_FADE_STEPS = 6


@dataclass(frozen=True, slots=True)
class Segment:
    """A span of a source recording (ms into the recording) to include in the output."""

    path: Path
    start: int = 0
    end: int | None = None  # None: to the end of the recording
    gain: float = 0.0  # dB applied to the audio (loudness normalization)
    limit: float | None = None  # dBTP ceiling of a limiter after the gain; None: no limiter


@dataclass(frozen=True, slots=True)
class Overlay:
    """A cue to draw, on the output timeline."""

    kind: CueKind
    text: str
    items: tuple[str, ...]
    start: int
    end: int
    line: int | None = None  # the cue's script line, for reports of what was not drawn


@dataclass(frozen=True, slots=True)
class PlacedOverlay:
    """An overlay as drawn: its time span (output ms) and its box on the frame (pixels)."""

    kind: CueKind
    text: str
    start: int
    end: int
    x: int
    y: int
    w: int
    h: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "start": seconds(self.start),
                "end": seconds(self.end), "x": self.x, "y": self.y, "w": self.w, "h": self.h}


@dataclass(frozen=True, slots=True)
class RenderResult:
    output: Path
    duration: int  # ms, as probed from the written file
    overlays: tuple[PlacedOverlay, ...]
    captions: int
    smart: bool  # True when only the touched keyframe intervals were re-encoded
    # what was asked for but is not in the video (outside it, or shorter than a frame)
    skipped_overlays: tuple[Overlay, ...] = ()
    skipped_captions: tuple[Caption, ...] = ()
    # what the next render needs to patch this one (pipeline.render.patch.Record's JSON);
    # None: not patchable (captions burned in, full encode asked for)
    patch: dict[str, Any] | None = None
    patched: bool = False  # True when made by patching the previous output

    def to_json(self, trim_start: int = 0, caption_offset: int = 0) -> dict[str, Any]:
        """The manifest (OUT.json) exactly as INTERFACE.md describes it."""
        return {
            "output": str(self.output),
            "duration": seconds(self.duration),
            "trim_start": seconds(trim_start),
            "caption_offset": seconds(caption_offset),
            "overlays": [o.to_json() for o in self.overlays],
            "captions": self.captions,
        }


@dataclass(frozen=True, slots=True)
class Source:
    """A segment resolved against its probed recording."""

    path: Path
    start: int  # ms into the recording
    end: int  # ms into the recording
    has_audio: bool
    gain: float = 0.0  # dB (see Segment)
    limit: float | None = None

    @property
    def changes_audio(self) -> bool:
        return self.gain != 0 or self.limit is not None

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Timing:
    """When an overlay's frames show: fade-in steps, the full card, fade-out steps."""

    start: int
    end: int
    fade: int  # ms of each fade; 0 for none
    steps: int  # images per fade

    @property
    def frames(self) -> int:
        return 2 * self.steps + 1

    def frame_times(self) -> tuple[int, ...]:
        """Output time (ms) at which each card frame starts showing."""
        if self.steps == 0:
            return (self.start,)
        step = self.fade / self.steps
        rising = [self.start + round(n * step) for n in range(self.steps)]
        falling = [self.end - self.fade + round(n * step) for n in range(self.steps)]
        return (*rising, self.start + self.fade, *falling)


@dataclass(frozen=True, slots=True)
class CardInput:
    """One overlay as an ffmpeg input: an image sequence (fade frames) placed at x, y."""

    pattern: Path  # image2 pattern of the frames, e.g. /tmp/x/card003_%02d.png
    timing: Timing
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Frame:
    width: int
    height: int
    fps: float


def resolve_sources(segments: Sequence[Segment], durations: Sequence[int],
                    audio: Sequence[bool]) -> tuple[Source, ...]:
    sources = []
    for segment, duration, has_audio in zip(segments, durations, audio, strict=True):
        start = max(0, min(segment.start, duration))
        end = duration if segment.end is None else max(start, min(segment.end, duration))
        sources.append(Source(segment.path, start, end, has_audio, segment.gain, segment.limit))
    return tuple(sources)


def plan_timing(overlay: Overlay, duration: int, fade: int, fps: float) -> Timing | None:
    """Clamp an overlay to the output and size its fades; None when nothing is left."""
    start, end = max(0, overlay.start), min(duration, overlay.end)
    frame_ms = 1000 / fps if fps > 0 else 33
    if end - start < frame_ms:
        return None
    fade = max(0, min(fade, (end - start) // 3))
    steps = min(MAX_FADE_STEPS, int(fade / frame_ms))
    if steps == 0:
        fade = 0
    return Timing(start, end, fade, steps)


def clip_captions(captions: Sequence[Caption], duration: int) -> list[Caption]:
    """Captions inside the output, renumbered, with text safe for SRT/VTT blocks."""
    kept: list[Caption] = []
    for caption in sorted(captions, key=lambda c: (c.start, c.end)):
        if (clipped := _clip(caption, duration)) is not None:
            kept.append(replace(clipped, index=len(kept) + 1))
    return kept


def captions_outside(captions: Sequence[Caption], duration: int) -> list[Caption]:
    """The captions clip_captions leaves out (nothing of them inside the output)."""
    return [c for c in captions if _clip(c, duration) is None]


def _clip(caption: Caption, duration: int) -> Caption | None:
    start, end = max(0, caption.start), min(duration, caption.end)
    text = re.sub(r"\n\s*\n+", "\n", caption.text.strip())
    if end <= start or not text:
        return None
    return Caption(caption.index, start, end, text, caption.line)


def video_bitrate(width: int, height: int) -> int:
    """kbit/s for the fast preset: 2 Mbit/s at 1080p, scaled with the picture area."""
    return max(150, round(2000 * ((width * height) / (1920 * 1080)) ** 0.75))


def keyframe_interval(fps: float) -> int:
    return max(1, round((fps or 30) * 5))
