"""The editor's alignment report: one HTML page per lesson.

A timeline (captions as blocks, cues as markers), then every cue, least confident first:
its script context, the caption with the anchor marked, its time and confidence, and the
override line to pin it; where the analysis prefers another moment (a VISUAL TEXT that sums
up an earlier sentence), that moment as a suggestion with its own override line. With a rendered video: a thumbnail per cue and a player that
seeks to the cue on click.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import ffmpeg
from pipeline.align.cues import AlignedCue, AlignResult
from pipeline.align.markers import LOW_CONFIDENCE
from pipeline.align.overrides import SIDECAR_SUFFIX, normalize_text, override_line
from pipeline.atomic import atomic_path, write_text
from pipeline.models import Lesson
from pipeline.reports.player import player
from pipeline.reports.render import render_template
from pipeline.timecode import format_clock, seconds

THUMB_WIDTH = 240


@dataclass(frozen=True, slots=True)
class Video:
    """A rendered lesson to show beside the cues; ``offset`` maps caption time to its time."""

    path: Path
    offset: int = 0  # ms: video time = caption time + offset
    pieces: tuple[tuple[int, int], ...] = ()  # (from caption ms, offset) per joined take

    def at(self, caption_ms: int) -> int:
        """Video time of caption time ``caption_ms`` (the take that shows it decides)."""
        offset = self.offset
        for start, piece_offset in self.pieces:
            if caption_ms >= start:
                offset = piece_offset
        return caption_ms + offset

    @staticmethod
    def from_render(path: str | Path) -> Video:
        """The video plus, when its render manifest (``OUT.json``) is beside it, its offset."""
        path = Path(path)
        manifest = path.with_suffix(".json")
        offset = 0
        if manifest.is_file():
            try:
                doc = json.loads(manifest.read_text(encoding="utf-8"))
                offset = round(1000 * (float(doc.get("caption_offset", 0))
                                       - float(doc.get("trim_start", 0))))
            except (ValueError, TypeError, AttributeError):
                offset = 0
        return Video(path, offset)


def confidence_colour(confidence: float) -> str:
    """Red (0) through amber to green (1)."""
    hue = int(120 * max(0.0, min(1.0, (confidence - 0.2) / 0.7)))
    return f"hsl({hue}, 70%, 42%)"


def caption_parts(result: AlignResult, cue: AlignedCue) -> dict[str, str] | None:
    """The caption text split around the anchor, the word at the anchor picked out, and the
    neighbouring caption's text when the anchor sits at the caption's edge."""
    captions = result.captions
    k = next((k for k, c in enumerate(captions) if c.index == cue.caption_index), None)
    if k is None:
        return None
    text = captions[k].text.replace("\n", " ")
    parts = {"before": text, "word": "", "after": "", "placed": "", "prev": "", "next": ""}
    if cue.anchor_char < 0:
        return parts
    head, tail = text[:cue.anchor_char], text[cue.anchor_char:]
    if head.strip():
        match = re.search(r"(\S+)(\s*)$", head)
        assert match is not None
        parts.update(before=head[:match.start()], word=match.group(1),
                     after=match.group(2) + tail, placed="after")
        if not tail.strip() and k + 1 < len(captions):
            parts["next"] = captions[k + 1].text.replace("\n", " ")
    elif match := re.match(r"(\s*)(\S+)", tail):
        parts.update(before=head + match.group(1), word=match.group(2),
                     after=tail[match.end():], placed="before")
        if k > 0:
            parts["prev"] = captions[k - 1].text.replace("\n", " ")
    return parts


def _suggestion(c: AlignedCue, by_id: bool) -> dict[str, str] | None:
    """Another place for the cue, offered with the override line that would put it there."""
    if c.suggestion is None:
        return None
    return {"text": c.suggestion.text, "clock": format_clock(c.suggestion.start),
            "override": override_line(c.cue, c.suggestion.start, c.id if by_id else None)}


def report_context(lesson: Lesson, result: AlignResult, video: Video | None = None,
                   thumbs: dict[str, str] | None = None,
                   out_dir: Path | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain values."""
    ends = [c.end for c in result.captions] + [c.end for c in result.cues] + [1000]
    total = max(ends)

    def pct(ms: int) -> float:
        return round(100 * ms / total, 3)

    order = {id(c): n for n, c in enumerate(result.cues, start=1)}
    texts = Counter(normalize_text(c.cue.text) for c in result.cues)
    cards = []
    for c in sorted(result.cues, key=lambda c: (c.confidence, c.start)):
        cards.append({
            "n": order[id(c)], "id": c.id, "kind": c.cue.kind,
            "label": "VISUAL TEXT" if c.cue.kind == "visual_text" else "MAIN PANEL",
            "text": c.cue.text, "items": c.cue.items, "line": c.cue.line,
            "start": c.start, "end": c.end, "start_s": seconds(c.start),
            "clock": format_clock(c.start), "end_clock": format_clock(c.end),
            "video_s": seconds(max(0, video.at(c.start) if video else c.start)),
            "confidence": c.confidence, "colour": confidence_colour(c.confidence),
            "flagged": c.confidence < LOW_CONFIDENCE or c.method == "estimated",
            "method": c.method, "reason": c.reason, "before": c.before, "after": c.after,
            "caption_index": c.caption_index, "caption": caption_parts(result, c),
            "override": override_line(c.cue, c.start,
                                      c.id if texts[normalize_text(c.cue.text)] > 1 else None),
            "thumb": (thumbs or {}).get(c.id),
            "suggestion": _suggestion(c, texts[normalize_text(c.cue.text)] > 1),
        })
    video_src = None
    if video is not None:
        base = out_dir or Path.cwd()
        video_src = Path(os.path.relpath(video.path.absolute(), base.absolute())).as_posix()
    return {
        "title": lesson.title, "script": str(lesson.path), "lesson": lesson.name,
        "sidecar": lesson.path.stem + SIDECAR_SUFFIX,
        "coverage": round(100 * result.coverage), "total": total,
        "duration": format_clock(total), "warnings": list(result.warnings),
        "flagged": sum(1 for card in cards if card["flagged"]),
        "captions": [{"index": c.index, "left": pct(c.start),
                      "width": max(0.05, pct(c.end - c.start)),
                      "text": c.text.replace("\n", " "), "clock": format_clock(c.start)}
                     for c in result.captions],
        "markers": [{"n": order[id(c)], "id": c.id, "left": pct(c.start),
                     "flip": pct(c.start) > 94,
                     "width": max(0.2, pct(c.end - c.start)), "kind": c.cue.kind,
                     "colour": confidence_colour(c.confidence), "text": c.cue.text,
                     "clock": format_clock(c.start),
                     "video_s": seconds(max(0, video.at(c.start) if video else c.start))}
                    for c in result.cues],
        "ticks": [{"left": pct(t), "label": format_clock(t)[:-4]}
                  for t in range(0, total, _tick_step(total))],
        "cards": cards, "video": video_src,
        "player": player(video.path, out_dir) if video is not None else None,  # + tracks
    }


def _tick_step(total: int) -> int:
    for step in (5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000):
        if total / step <= 16:
            return step
    return 900_000


def render_report(lesson: Lesson, result: AlignResult, video: Video | None = None,
                  thumbs: dict[str, str] | None = None, out_dir: Path | None = None,
                  cuts: Sequence[dict[str, Any]] = ()) -> str:
    """``cuts``: the lesson's cut list (pipeline.lesson.Edit.rows), shown after the cues."""
    return render_template("align.html.j2",
                           **report_context(lesson, result, video, thumbs, out_dir),
                           cuts=list(cuts))


def thumbnail_args(video: Path, at_ms: int, out: Path, width: int = THUMB_WIDTH) -> list[str]:
    """ffmpeg arguments for one small JPEG of the frame at ``at_ms``."""
    return ["-ss", f"{seconds(max(0, at_ms)):.3f}", "-i", ffmpeg.media_arg(video),
            "-frames:v", "1", "-vf", f"scale={width}:-2:out_range=full,format=yuvj420p",
            "-q:v", "5", str(out)]


class _NoFrame(Exception):
    """ffmpeg found no frame at that time (it exits 0 and writes nothing)."""


THUMB_INDEX = "index.json"  # in the thumbnails folder: cue id -> frame_key of its image


def make_thumbnails(result: AlignResult, video: Video, folder: Path,
                    reuse: Path | None = None) -> dict[str, str]:
    """One thumbnail per cue into ``folder``; returns cue id -> path relative to the report.

    ``reuse``: the thumbnails folder of an earlier render of the lesson; an image there of
    the same frame (same packets from its keyframe on: ``frame_key``) is copied, not decoded
    again, so a rebuild after one cue moved decodes only what changed."""
    info = ffmpeg.probe(video.path)
    last = max(0, (info.duration or 0) - 100) if info.duration else None
    folder.mkdir(parents=True, exist_ok=True)
    earlier = _thumb_index(reuse) if reuse is not None else {}
    keys = frame_keys(video.path)
    made: dict[str, str] = {}
    index: dict[str, str] = {}
    for c in result.cues:
        # a little after the cue appears: its card has faded in (the theme's fade is 250 ms)
        at = video.at(c.start) + min(600, max(0, (c.end - c.start) // 2))
        if last is not None:
            at = min(at, last)  # a cue after the video's end shows its last frame
        name = f"{c.id}.jpg"
        key = keys(at)
        try:
            with atomic_path(folder / name) as tmp:
                if earlier.get(c.id) == key and reuse is not None:
                    shutil.copyfile(reuse / name, tmp)
                else:
                    ffmpeg.run(thumbnail_args(video.path, at, tmp), what=video.path)
                if tmp.stat().st_size == 0:
                    raise _NoFrame
        except (_NoFrame, FileNotFoundError):
            continue
        made[c.id] = f"{folder.name}/{name}"
        index[c.id] = key
    write_text(folder / THUMB_INDEX, json.dumps(index))
    return made


def frame_keys(video: Path) -> Callable[[int], str]:
    """``at`` ms -> a key of what decoding the frame there reads: the packets (their
    checksums) from the keyframe before it to it, and the time."""
    from pipeline.render.smart import parse_framecrc

    packets = parse_framecrc(ffmpeg.packet_listing(video))

    def key(at: int) -> str:
        upto = [p for p in packets if p.pts <= at] or packets[:1]
        first = max((k for k, p in enumerate(upto) if p.key), default=0)
        return hashlib.sha256(json.dumps([at, [(p.pts, p.crc) for p in upto[first:]]])
                              .encode()).hexdigest()

    return key


def _thumb_index(folder: Path) -> dict[str, str]:
    try:
        found = json.loads((folder / THUMB_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def write_report(lesson: Lesson, result: AlignResult, out: str | Path,
                 video: str | Path | Video | None = None, reuse: Path | None = None,
                 cuts: Sequence[dict[str, Any]] = ()) -> Path:
    """Write the report (and, with a video, its thumbnails beside it); returns its path.
    ``reuse``: an earlier report's folder whose thumbnails of unchanged frames are copied."""
    out = Path(out)
    clip = video if isinstance(video, Video) or video is None else Video.from_render(video)
    folder = f"{out.stem}_thumbs"
    thumbs = make_thumbnails(result, clip, out.parent / folder,
                             reuse / folder if reuse is not None else None) if clip else None
    write_text(out, render_report(lesson, result, clip, thumbs, out.parent, cuts))
    return out
