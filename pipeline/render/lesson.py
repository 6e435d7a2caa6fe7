"""Glue from a parsed lesson to render inputs: a stand-in until sync and align land.

``plan_lesson_render`` is the ONE place that decides what to render for a lesson. For now
it is a clearly-labelled FALLBACK: no clap trim (trim at 0), captions as embedded in the
script (offset 0), and cues spread over the recording by their position in the narration.
At merge it is replaced by the real clean -> sync -> align results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline import ffmpeg
from pipeline.models import Caption, Lesson
from pipeline.render.plan import Overlay, Segment

CUE_LENGTH = 6000  # ms an overlay stays up when nothing else says


def plan_lesson_render(
    lesson: Lesson, media: Sequence[Path]
) -> tuple[list[Segment], list[Overlay], list[Caption], int, int]:
    """(segments, overlays, captions, trim_start, caption_offset) for ``lesson``.

    FALLBACK (no sync/align yet): segments are the whole recordings in the given order,
    trim_start = 0, caption_offset = 0, captions are the script's embedded ones, and each
    cue starts at the share of the narration that precedes it.
    """
    segments = [Segment(Path(path), 0, None) for path in media]
    total = sum(ffmpeg.probe(s.path).duration or 0 for s in segments)
    return segments, spread_cues(lesson, total), list(lesson.captions), 0, 0


def spread_cues(lesson: Lesson, total: int) -> list[Overlay]:
    """Place each cue where its script line falls in the narration, ~6 s long (a cue after
    the last narration line shows in the last 6 s)."""
    lines = [n.line for n in lesson.narration]
    starts = []
    for i, cue in enumerate(lesson.cues):
        if lines:
            share = sum(1 for line in lines if line < cue.line) / len(lines)
        else:
            share = i / max(1, len(lesson.cues))
        starts.append(max(0, min(round(share * total), total - CUE_LENGTH)))
    overlays = []
    for i, (cue, start) in enumerate(zip(lesson.cues, starts, strict=True)):
        following = [s for s in starts[i + 1:] if s > start]
        end = min(start + CUE_LENGTH, following[0] if following else total, total)
        if end > start:
            overlays.append(Overlay(cue.kind, cue.text, cue.items, start, end))
    return overlays
