"""What a review page shows for one lesson, from the same library calls the build makes.

The cues are aligned live (parse -> clean -> align, as ``pipeline.lesson.plan`` does, with
the sidecar's pins), so a pinned cue moves on the page at once; the video, its manifest and
the QA findings are the last build's. The manifest maps caption time to video time and back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import ffmpeg
from pipeline.align.cues import AlignedCue, AlignResult
from pipeline.align.markers import LOW_CONFIDENCE
from pipeline.align.overrides import Override, normalize_text, read_sidecar, sidecar_path
from pipeline.align.report import caption_parts, confidence_colour
from pipeline.captions.profiles import get_profile
from pipeline.course import DATA
from pipeline.course.discover import LessonJob
from pipeline.course.work import align_job
from pipeline.cuts import Choice, Cut, read_choices
from pipeline.errors import PipelineError
from pipeline.models import Caption, Lesson
from pipeline.review.sidecar import current_version
from pipeline.script.parse import parse_script
from pipeline.timecode import format_clock, seconds, to_ms

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
DEFAULT_FRAME = 40  # ms (25 fps) when the video's frame rate is unknown


@dataclass(frozen=True, slots=True)
class Clock:
    """Caption time <-> video time of a rendered lesson (from its manifest ``<lesson>.json``).

    ``pieces``: (caption ms from which it applies, video ms - caption ms) per joined take,
    as ``pipeline.timeline.offsets_by_take`` gives them."""

    pieces: tuple[tuple[int, int], ...]
    duration: int  # ms of the video

    def video(self, caption_ms: int) -> int:
        offset = self.pieces[0][1]
        for start, piece_offset in self.pieces[1:]:
            if caption_ms >= start:
                offset = piece_offset
        return caption_ms + offset

    def caption(self, video_ms: int) -> int:
        """The caption time shown at ``video_ms`` (the take playing then decides)."""
        offset = self.pieces[0][1]
        for start, piece_offset in self.pieces[1:]:
            if video_ms >= start + piece_offset:
                offset = piece_offset
        return max(0, video_ms - offset)

    @staticmethod
    def of_manifest(path: Path) -> Clock | None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            duration = to_ms(float(doc["duration"]))
            takes = doc.get("takes")
            if takes:
                pieces = tuple((to_ms(float(t["from"])) if k else 0, to_ms(float(t["offset"])))
                               for k, t in enumerate(takes))
            else:  # a manifest from before "takes": one take
                pieces = ((0, to_ms(float(doc["caption_offset"]) - float(doc["trim_start"]))),)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return Clock(pieces, duration)


@dataclass(frozen=True, slots=True)
class LessonView:
    job: LessonJob
    lesson: Lesson
    aligned: AlignResult
    captions: tuple[Caption, ...]  # cleaned, caption timeline (what QA indexes)
    findings: tuple[dict[str, Any], ...]  # the last build's qa.json findings
    clock: Clock | None  # None: not built yet
    video: Path | None
    sidecar: tuple[Override, ...]
    version: str  # the sidecar's
    cuts: tuple[dict[str, Any], ...] = ()  # the last build's data/cuts.json "cuts"
    choices: tuple[Choice, ...] = ()  # the sidecar's cut choices as they are now
    choices_error: str = ""  # the sidecar's cuts: list cannot be read

    @property
    def duration(self) -> int:
        if self.clock is not None:
            return self.clock.duration
        ends = [c.end for c in self.captions] + [c.end for c in self.aligned.cues]
        return max([1000, *ends])

    def at(self, caption_ms: int) -> int:
        """Video ms of caption ms (the caption timeline itself before the first build)."""
        return self.clock.video(caption_ms) if self.clock else caption_ms

    def caption_ms(self, video_ms: int) -> int:
        return self.clock.caption(video_ms) if self.clock else video_ms

    def cue(self, ident: str) -> AlignedCue | None:
        return next((c for c in self.aligned.cues if c.id == ident), None)

    def sidecar_pin(self, cue: AlignedCue) -> Override | None:
        found = None
        for pin in self.sidecar:
            if pin.names(cue.id, cue.cue.text):
                found = pin
        return found

    def shares_text(self, cue: AlignedCue) -> bool:
        text = normalize_text(cue.cue.text)
        return sum(normalize_text(c.cue.text) == text for c in self.aligned.cues) > 1


def load(job: LessonJob, output: Path) -> LessonView:
    """The lesson as the build would align it now, beside its last rendered video."""
    lesson = parse_script(job.script)
    profile = get_profile(str(lesson.frontmatter.get("profile") or "netflix"))
    # the build's own alignment: a lesson without captions is timed on its recordings
    # (read from the step cache the build filled; computed once if it is not there)
    _, _, cleaned, aligned = align_job(job, lesson, profile)
    folder = output / job.name
    video = folder / f"{job.name}.webm"
    clock = Clock.of_manifest(folder / f"{job.name}.json") if video.is_file() else None
    findings: tuple[dict[str, Any], ...] = ()
    try:
        doc = json.loads((folder / DATA / "qa.json").read_text(encoding="utf-8"))
        findings = tuple(f for f in doc.get("findings", []) if isinstance(f, dict))
    except (OSError, ValueError, AttributeError):
        pass
    side = sidecar_path(job.script)
    pins = tuple(read_sidecar(side)) if side.is_file() else ()
    cuts: tuple[dict[str, Any], ...] = ()
    if clock is not None:
        try:
            doc = json.loads((folder / DATA / "cuts.json").read_text(encoding="utf-8"))
            cuts = tuple(c for c in doc.get("cuts", []) if isinstance(c, dict))
        except (OSError, ValueError, AttributeError):
            pass
    choices: tuple[Choice, ...] = ()
    error = ""
    try:
        choices = tuple(read_choices(side))
    except PipelineError as exc:  # shown on the page; the build reports it too
        error = str(exc)
    return LessonView(job, lesson, aligned, tuple(cleaned.captions), findings, clock,
                      video if clock else None, pins, current_version(job.script), cuts,
                      choices, error)


def frame_ms(video: Path | None) -> int:
    if video is None:
        return DEFAULT_FRAME
    try:
        fps = ffmpeg.probe(video).fps
    except PipelineError:
        return DEFAULT_FRAME
    return round(1000 / fps) if fps and fps > 0 else DEFAULT_FRAME


def _pct(ms: int, total: int) -> float:
    return round(100 * min(max(ms, 0), total) / total, 3)


def cue_state(view: LessonView, c: AlignedCue, n: int) -> dict[str, Any]:
    pin = view.sidecar_pin(c)
    total = view.duration
    start, end = view.at(c.start), view.at(c.end)
    return {
        "id": c.id, "n": n, "kind": c.cue.kind, "text": c.cue.text,
        "label": "VISUAL TEXT" if c.cue.kind == "visual_text" else "MAIN PANEL",
        "confidence": c.confidence, "colour": confidence_colour(c.confidence),
        "flagged": c.confidence < LOW_CONFIDENCE or c.method == "estimated",
        "method": c.method, "reason": c.reason, "line": c.cue.line,
        "at": seconds(c.start), "until": seconds(c.end),
        "clock": format_clock(c.start), "end_clock": format_clock(c.end),
        "video": seconds(max(0, start)), "video_end": seconds(max(0, end)),
        "video_clock": format_clock(max(0, start)),
        "left": _pct(start, total),
        "width": min(100 - _pct(start, total), max(0.3, _pct(end, total) - _pct(start, total))),
        "pinned": pin is not None, "pinned_end": pin is not None and pin.end is not None,
        "pinned_elsewhere": c.method == "override" and pin is None,
        "before": c.before, "after": c.after, "caption_index": c.caption_index,
        "caption": caption_parts(view.aligned, c),
    }


@dataclass(frozen=True, slots=True)
class CutRow:
    """One cut as the page lists it: from the last build (``built``: its cuts.json entry,
    None for a cut the editor added since), with the sidecar's choice naming it now.
    Caption timeline ms."""

    start: int
    end: int
    built: dict[str, Any] | None
    choice: Choice | None

    @property
    def manual(self) -> bool:
        return self.built is None or self.built.get("kind") == "manual"

    def names(self, choice: Choice) -> bool:
        """Whether ``choice`` is about this cut, as the build matches it: a restore or a
        change by a moment inside the cut; an added cut by its span."""
        if self.manual:
            return choice.adds and (choice.start or 0) < self.end and self.start < (
                choice.end or 0)
        return not choice.adds and self.start <= (choice.at or 0) < self.end

    @property
    def span(self) -> tuple[int, int]:
        """The span the next build cuts (the choice's, when it changes or adds one)."""
        if self.choice is not None and not self.choice.restore:
            return self.choice.start or 0, self.choice.end or 0
        return self.start, self.end

    @property
    def cut_next(self) -> bool:
        """Whether the next build cuts it (as far as the page can tell)."""
        if self.choice is not None:
            return not self.choice.restore
        if self.manual:
            return False  # an added cut whose choice is gone
        return bool(self.built and (self.built.get("applied")
                                    or self.built.get("kind") == "restored"))


def cut_rows(view: LessonView) -> list[CutRow]:
    """The last build's cuts, each with the choice naming it now, and the cuts added since."""
    rows = []
    for c in view.cuts:
        try:
            start, end = to_ms(float(c["caption_start"])), to_ms(float(c["caption_end"]))
        except (KeyError, TypeError, ValueError):
            continue
        row = CutRow(start, end, c, None)
        rows.append(CutRow(start, end, c, next((x for x in view.choices if row.names(x)), None)))
    for choice in view.choices:
        if choice.adds and not any(r.choice is choice for r in rows):
            rows.append(CutRow(choice.start or 0, choice.end or 0, None, choice))
    return sorted(rows, key=lambda r: r.start)


def cut_state(view: LessonView, row: CutRow, n: int) -> dict[str, Any]:
    total = view.duration
    built = row.built or {}
    in_video = bool(built.get("applied"))  # removed from the video the page plays
    if in_video:
        at = to_ms(float(built.get("output", 0)))
        left, width = _pct(at, total), 0.0
    else:
        at = view.at(row.start)
        left = _pct(at, total)
        width = max(0.3, _pct(view.at(row.end), total) - left)
    start, end = row.span
    cut = Cut(int(built.get("take", 0)), start, end, str(built.get("reason", "manual")))
    kind = row.choice and ("restored" if row.choice.restore else
                           "manual" if row.choice.adds else "changed")
    status = {"restored": "restored by you", "changed": "cut (changed by you)",
              "manual": "your cut"}.get(kind or "", "")
    if not status:
        status = "proposed, cut" if row.cut_next else (
            "kept (settings)" if not row.manual else "removed")
    pending = row.cut_next != in_video or (
        row.cut_next and (abs(start - row.start) > 60 or abs(end - row.end) > 60))
    return {
        "n": n, "key": seconds((row.start + row.end) // 2), "reason": cut.reason,
        "label": cut.label(), "words": str(built.get("words", "")),
        "length": round((end - start) / 1000, 1), "start": seconds(start), "end": seconds(end),
        "clock": format_clock(start), "end_clock": format_clock(end),
        "video": seconds(max(0, at)), "video_clock": format_clock(max(0, at)),
        "left": left, "width": width, "in_video": in_video, "cut_next": row.cut_next,
        "pending": pending, "status": status, "manual": row.manual,
        "fixed": row.end <= 0,  # before caption time 0: no choice can name it
    }


def state(view: LessonView) -> dict[str, Any]:
    """The live part of the page (cue times and pins, the cuts and the editor's choices),
    as JSON for the page's script."""
    return {"version": view.version, "duration": seconds(view.duration),
            "sidecar": sidecar_path(view.job.script).name,
            "warnings": list(view.aligned.warnings),
            "cues": [cue_state(view, c, n) for n, c in enumerate(view.aligned.cues, start=1)],
            "cuts": [cut_state(view, r, n) for n, r in enumerate(cut_rows(view), start=1)],
            "cuts_error": view.choices_error}


def page(view: LessonView) -> dict[str, Any]:
    """Everything the lesson page's template shows."""
    live = state(view)
    total = view.duration
    by_caption: dict[int, list[dict[str, Any]]] = {}
    for f in view.findings:
        if isinstance(f.get("index"), int):
            by_caption.setdefault(f["index"], []).append(f)
    captions = []
    for c in view.captions:
        found = sorted(by_caption.get(c.index, []),
                       key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), 3))
        start, end = view.at(c.start), view.at(c.end)
        captions.append({
            "index": c.index, "text": c.text.replace("\n", " "), "video": seconds(max(0, start)),
            "clock": format_clock(max(0, start)), "left": _pct(start, total),
            "width": max(0.1, _pct(end, total) - _pct(start, total)), "findings": found,
            "severity": str(found[0].get("severity")) if found else "",
        })
    step = next((s for s in (1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000)
                 if total / s <= 14), 600_000)
    return {
        "lesson": view.job.name, "title": view.lesson.title, "script": view.job.script.name,
        "built": view.clock is not None, "state": live,
        "cues": live["cues"], "order": sorted(live["cues"], key=lambda c: (c["confidence"], c["at"])),
        "captions": captions, "with_findings": [c for c in captions if c["findings"]],
        "ticks": [{"left": _pct(t, total), "label": format_clock(t)[:-4]}
                  for t in range(0, total, step)],
        "frame": frame_ms(view.video), "coverage": round(100 * view.aligned.coverage),
    }
