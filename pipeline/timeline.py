"""From the caption timeline to the output timeline, across one or more takes.

A lesson's captions (and the cues aligned to them) live on one caption timeline. Each
recording (take) holds part of it: ``caption time + offset = recording time``. The output
is every take trimmed shortly after its clap, joined in script order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.models import Caption, Lesson


@dataclass(frozen=True, slots=True)
class Take:
    path: Path
    duration: int  # ms of the recording
    offset: int  # caption time + offset = recording time
    trim: int  # recording ms where this take's part of the output begins
    out_start: int  # output ms where this take begins

    @property
    def length(self) -> int:
        return max(0, self.duration - self.trim)

    def caption_span(self) -> tuple[int, int]:
        """The caption-timeline interval this take shows."""
        return self.trim - self.offset, self.duration - self.offset


def trim_point(clap: int | None, lead: int, first_speech: int | None) -> int:
    """Where a take's output begins: ``lead`` ms after the clap, never after the first word."""
    if clap is None:
        return 0
    trim = clap + lead
    if first_speech is not None and first_speech > clap:
        trim = min(trim, max(clap + 150, first_speech - 200))
    return max(0, trim)


def join(takes: Sequence[tuple[Path, int, int, int]]) -> list[Take]:
    """(path, duration, offset, trim) per take, in script order -> placed takes."""
    placed: list[Take] = []
    out = 0
    for path, duration, offset, trim in takes:
        take = Take(path, duration, offset, min(trim, duration), out)
        placed.append(take)
        out += take.length
    return placed


def take_at(takes: Sequence[Take], caption_ms: int) -> Take | None:
    """The take that shows caption time ``caption_ms``: the first whose span contains it."""
    for take in takes:
        low, high = take.caption_span()
        if low <= caption_ms < high:
            return take
    return None


def to_output(take: Take, caption_ms: int) -> int:
    """Output time of caption time ``caption_ms`` inside ``take`` (clamped to the take)."""
    inside = min(max(caption_ms + take.offset, take.trim), take.duration)
    return take.out_start + inside - take.trim


def span_to_output(takes: Sequence[Take], start: int, end: int) -> tuple[int, int] | None:
    """A caption-timeline span on the output timeline, cut to the take it starts in.

    A span that starts before its take's trim point (e.g. a cue at the very start) is
    pulled to the take's first frame; a span that no take shows gives None.
    """
    take = take_at(takes, start)
    if take is None:
        take = next((t for t in takes if t.caption_span()[0] <= end and start < t.caption_span()[1]),
                    None)
        if take is None:
            return None
    out_start, out_end = to_output(take, start), to_output(_end_piece(takes, take, end), end)
    return (out_start, out_end) if out_end > out_start else None


def _end_piece(takes: Sequence[Take], take: Take, end: int) -> Take:
    """The piece of ``take``'s recording a span ending at caption time ``end`` ends in: a
    span across a cut (pipeline.cuts) ends where its end is kept, or at the last kept
    moment before it; a span never runs on into another recording."""
    same = [t for t in takes if t.path == take.path and t.offset == take.offset
            and t.out_start >= take.out_start and t.caption_span()[0] < end]
    return same[-1] if same else take


def cut_takes(takes: Sequence[Take], kept: Sequence[Sequence[tuple[int, int]]]) -> list[Take]:
    """The takes as the pieces a cut leaves of them (``kept``: per take, its kept
    recording spans, in order), joined: each piece is a Take of its own (``trim`` its
    start, ``duration`` its end), so every mapping here works through the cuts."""
    pieces: list[Take] = []
    out = 0
    for take, spans in zip(takes, kept, strict=True):
        for start, end in spans:
            piece = Take(take.path, end, take.offset, start, out)
            pieces.append(piece)
            out += piece.length
    return pieces


def removed_to_output(takes: Sequence[Take], recording_ms: int, take: Take) -> int:
    """Output time of a moment of ``take``'s recording; a removed moment goes to the next
    kept one (a splice)."""
    same = [t for t in takes if t.path == take.path and t.offset == take.offset]
    for piece in same:
        if recording_ms < piece.duration:
            return piece.out_start + max(0, recording_ms - piece.trim)
    return same[-1].out_start + same[-1].length if same else 0


def offsets_by_take(takes: Sequence[Take]) -> tuple[tuple[int, int], ...]:
    """(caption ms from which it applies, caption -> output offset) for each take: the
    piecewise mapping a report needs to seek a joined video. The first take also covers
    anything before its own span."""
    return tuple((t.caption_span()[0] if k else -(10**12), t.offset - t.trim + t.out_start)
                 for k, t in enumerate(takes))


def captions_to_output(takes: Sequence[Take], captions: Sequence[Caption]) -> list[Caption]:
    """Captions on the output timeline, renumbered; those no take shows are dropped."""
    placed: list[Caption] = []
    for caption in captions:
        span = span_to_output(takes, caption.start, caption.end)
        if span is not None:
            placed.append(Caption(len(placed) + 1, span[0], span[1], caption.text, caption.line))
    return placed


def estimated_captions(lesson: Lesson) -> list[Caption]:
    """A caption-like timeline for narration without captions: one per sentence, back to
    back at the aligner's speaking rate and word count, so estimated cue times agree."""
    from pipeline.align.cues import WORDS_PER_MINUTE as words_per_minute
    from pipeline.align.words import tokenize

    captions: list[Caption] = []
    words_before = 0
    for line in lesson.narration:
        for sentence in re.split(r"(?<=[.!?])\s+", line.text):
            count = len(tokenize(sentence))
            if not count:
                continue
            start = words_before * 60_000 // words_per_minute
            words_before += count
            end = words_before * 60_000 // words_per_minute
            captions.append(Caption(len(captions) + 1, start, end, sentence, line.line))
    return captions
