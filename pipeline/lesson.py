"""One lesson, end to end: parse -> clean -> qa -> sync -> align -> render -> reports.

The ``render`` command and every lesson of the course build go through ``produce``. Each
output is written atomically into ``out_dir``; the build swaps the folder into place only
when the whole lesson succeeded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline import ffmpeg
from pipeline.align.cues import AlignedCue, AlignResult, align_cues, reading_cps
from pipeline.align.markers import write_csv, write_otio
from pipeline.align.report import Video, write_report
from pipeline.atomic import write_text
from pipeline.audio.normalize import DEFAULT_AUDIO, AudioSettings, lesson_target
from pipeline.audio.qa import AudioReport, lesson_audio
from pipeline.audio.qa import report_html as audio_html
from pipeline.audio.sync import Analysis, SyncResult, analyse, caption_offset_of
from pipeline.captions.chapters import chapters
from pipeline.captions.clean import CleanResult, clean_captions
from pipeline.captions.io import ReadIssue, embedded_issues, read_captions, to_vtt
from pipeline.captions.profiles import Profile, get_profile
from pipeline.captions.qa import QaResult, check_captions, findings_csv, report_html
from pipeline.course import DATA
from pipeline.cuts import DEFAULT_CUTS, CutSettings, Edit, cue_span, kept_levels, plan_edit
from pipeline.errors import PipelineError
from pipeline.models import Caption, Lesson
from pipeline.render.plan import Overlay, RenderResult, Segment
from pipeline.render.run import render_video
from pipeline.render.theme import Theme
from pipeline.reports.player import chapters_path
from pipeline.reports.watch import WATCH_PAGE, write_watch_page
from pipeline.script.parse import parse_script
from pipeline.speech.captions import audio_cues, captions_json, make_captions, take_bases
from pipeline.speech.forced import Timing, time_script, timing_from_json, timing_to_json
from pipeline.timecode import seconds
from pipeline.timeline import (
    Take,
    captions_to_output,
    estimated_captions,
    join,
    offsets_by_take,
    span_to_output,
    take_at,
    trim_point,
)

log = logging.getLogger(__name__)

Report = Callable[..., None]  # report(step, fraction=None)
Cached = Callable[[str, list[str], Callable[[], Any]], Any]  # cached(step, inputs, compute)

CAPTION_SIDECARS = (".srt", ".vtt")
OPEN_END = 10**12  # a caption time past every recording: "until the end of the take"


@dataclass(frozen=True, slots=True)
class Settings:
    profile: str | None = None  # caption profile; the script's frontmatter `profile:` wins
    preset: str = "fast"
    burn_in: bool = False
    smart: bool = True
    lead_in: int = 500  # ms of the take kept after the clap before the output begins
    theme: Theme | None = None
    panels: Path | None = None
    audio: AudioSettings = DEFAULT_AUDIO  # loudness target and audio QA thresholds
    cuts: CutSettings = DEFAULT_CUTS  # the course's [cuts]; the frontmatter's `cuts:` wins
    apply_cuts: bool = True  # False (--no-cuts): the cuts are listed, none applied


@dataclass(frozen=True, slots=True)
class Captions:
    """The lesson's captions on the caption timeline, where they came from, and what broke."""

    captions: tuple[Caption, ...]
    issues: tuple[ReadIssue, ...]
    source: str  # "script", a sidecar file's name, or "estimated"


def lesson_captions(lesson: Lesson) -> Captions:
    """Embedded captions, else a sidecar ``<script>.srt|.vtt``, else none (estimated later)."""
    if lesson.captions:
        return Captions(lesson.captions, embedded_issues(lesson), "script")
    for suffix in CAPTION_SIDECARS:
        sidecar = lesson.path.with_suffix(suffix)
        if sidecar.is_file():
            read, problems = read_captions(sidecar)
            return Captions(tuple(read), tuple(problems), sidecar.name)
    return Captions((), (), "estimated")


def _sync(path: Path, captions: Sequence[Caption], offset: int | None,
          cached: Cached | None, identity: str) -> Analysis:
    """The one audio pass (sync, speech, loudness), cached by the recording's identity and
    the captions' timing only: a cached build does not decode the recording again."""
    def compute() -> dict[str, Any]:
        return analyse(path, captions, caption_offset=offset).to_json()

    if cached is None:
        return analyse(path, captions, caption_offset=offset)
    timing = hashlib.sha256(json.dumps([(c.start, c.end) for c in captions]).encode())
    return Analysis.from_json(cached("sync", [identity, timing.hexdigest(), str(offset)],
                                     compute))


def _length(path: Path, cached: Cached | None, identity: str) -> int:
    """The recording's length in ms, measured when the container does not say (a live
    WebM has no duration): never an unknown length taken as 0. Cached by identity."""
    def compute() -> int:
        duration = ffmpeg.probe(path, measure=True).duration
        if duration is None:  # pragma: no cover  (measure=True measures or raises)
            raise PipelineError("cannot tell how long this recording is", path)
        return duration

    if cached is None:
        return compute()
    return int(cached("length", [identity, "length-1"], compute))


def plan_takes(media: Sequence[Path], syncs: Sequence[SyncResult], captions: Sequence[Caption],
               lead_in: int, lengths: Sequence[int]) -> list[Take]:
    """Each recording trimmed shortly after its clap (never after its first word), joined."""
    rows = []
    for path, sync, duration in zip(media, syncs, lengths, strict=True):
        spoken = [c.start + sync.offset for c in captions
                  if sync.clap is None or c.start + sync.offset > sync.clap]
        first = min(spoken) if spoken else None
        rows.append((path, duration, sync.offset, trim_point(sync.clap, lead_in, first)))
    return join(rows)


def on_output(takes: Sequence[Take], aligned: AlignResult,
              uncut: Sequence[Take] | None = None) -> AlignResult:
    """The alignment with every cue's span moved to the output timeline (for markers);
    ``takes``: the pieces the cuts keep of the ``uncut`` takes (a cut cue's moment: the
    next kept one)."""
    moved = []
    for cue in aligned.cues:
        span = cue_span(takes, uncut if uncut is not None else takes, cue.start,
                        cue.end) or (0, 0)
        moved.append(replace(cue, start=span[0], end=span[1]))
    return replace(aligned, cues=tuple(moved),
                   captions=tuple(captions_to_output(takes, aligned.captions)))


# --- what the plan had that the output lacks (issue #13: nothing dropped silently) -------

@dataclass(frozen=True, slots=True)
class Dropped:
    """A cue or caption of the plan that is not in the output, and why."""

    kind: str  # "visual_text" | "main_panel" | "caption"
    text: str
    file: Path  # where it is written: the script, or a sidecar caption file
    line: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "file": self.file.name,
                "line": self.line, "reason": self.reason}

    @classmethod
    def from_json(cls, doc: dict[str, Any], folder: Path) -> Dropped:
        """One entry of summary.json's ``dropped``; ``folder``: the script's folder."""
        line = doc.get("line")
        return cls(str(doc.get("kind")), str(doc.get("text")), folder / str(doc.get("file")),
                   line if isinstance(line, int) else None, str(doc.get("reason")))

    def message(self) -> str:
        """``path:line: warning: ...`` for the command line."""
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        what = "caption" if self.kind == "caption" else self.kind.replace("_", " ").upper()
        return f"{where}: warning: {what} {self.text!r} is not in the output: {self.reason}"


def _outside_reason(takes: Sequence[Take], start: int) -> str:
    reason = f"outside every recording (caption time {seconds(start):.3f} s)"
    empty = [t.path.name for t in takes if t.length == 0]
    if empty:
        reason += f"; {', '.join(empty)} is empty after its trim"
    return reason


def _caption_file(lesson: Lesson, source: Captions) -> Path:
    """Where the lesson's captions are written: a sidecar file, else the script."""
    if source.source.endswith(CAPTION_SIDECARS):
        return lesson.path.with_name(source.source)
    return lesson.path


def _dropped_in_plan(lesson: Lesson, source: Captions, takes: Sequence[Take],
                     cues: Sequence[AlignedCue], captions: Sequence[Caption]) -> list[Dropped]:
    """Cues and captions (caption timeline) that no take shows."""
    dropped = [Dropped(cue.cue.kind, cue.cue.text, lesson.path, cue.cue.line,
                       _outside_reason(takes, cue.start)) for cue in cues]
    file = _caption_file(lesson, source)
    for caption in captions:
        if span_to_output(takes, caption.start, caption.end) is None:
            dropped.append(Dropped("caption", caption.text, file, caption.line or None,
                                   _outside_reason(takes, caption.start)))
    return dropped


def _cut_reason(item: Dropped, edit: Edit, takes: Sequence[Take]) -> Dropped:
    """A caption left out because its words were cut says so (not "outside")."""
    at = re.search(r"caption time (-?[0-9.]+) s", item.reason)
    if at is None:
        return item
    ms = round(float(at[1]) * 1000)
    take = take_at(takes, ms)
    if take is None:
        return item
    for cut in edit.cuts:
        if cut.applied and takes[cut.take] is take and cut.start <= ms + take.offset < cut.end:
            return replace(item, reason=f"cut ({cut.label()}: {cut.reason}) at caption time "
                                        f"{seconds(ms):.3f} s")
    return item


def dropped(plan_: Plan, result: RenderResult) -> tuple[Dropped, ...]:
    """Everything the plan had that the rendered video lacks: the plan's own drops, and
    overlays or captions the render could not place (outside the video, under a frame)."""
    file = _caption_file(plan_.lesson, plan_.source)
    why = "outside the rendered video or shorter than one frame"
    return (*plan_.dropped,
            *(Dropped(o.kind, o.text, plan_.lesson.path, o.line, why)
              for o in result.skipped_overlays),
            *(Dropped("caption", c.text, file, c.line or None, why)
              for c in result.skipped_captions))


def _frame_ms(path: Path, cached: Cached | None, identity: str) -> float:
    """The recording's video frame duration in ms (0 when unknown): cut points lie on it."""
    def compute() -> float:
        fps = ffmpeg.probe(path).fps
        return 1000 / fps if fps else 0.0

    if cached is None:
        return compute()
    return float(cached("frame", [identity, "frame-1"], compute))


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything decided about a lesson before its render."""

    lesson: Lesson
    source: Captions
    cleaned: CleanResult
    qa: QaResult
    aligned: AlignResult
    syncs: tuple[SyncResult, ...]
    takes: tuple[Take, ...]
    overlays: tuple[Overlay, ...]  # output timeline
    captions: tuple[Caption, ...]  # cleaned, output timeline
    audio: AudioReport  # each take's levels, its gain, the audio findings
    dropped: tuple[Dropped, ...] = ()  # cues and captions no take shows
    speech: dict[str, Any] | None = None  # captions from the recordings: words, unspoken...
    edit: Edit | None = None  # the cuts (pipeline.cuts) and the pieces the takes become


def plan(
    script: Path, media: Sequence[Path], *, settings: Settings = Settings(),
    cached: Cached | None = None, identities: Sequence[str] | None = None,
    report: Report = lambda *a, **k: None,
) -> Plan:
    """parse -> clean -> qa -> align -> sync, and the output timeline they give."""
    report("parse")
    lesson = parse_script(script)
    if not media:
        raise PipelineError("no recording to render", script)
    profile = get_profile(str(lesson.frontmatter.get("profile") or settings.profile or "netflix"))
    source, timing, cleaned, aligned = align_lesson(lesson, media, profile, cached=cached,
                                                    identities=identities, report=report)
    qa = check_captions(cleaned.captions, profile, lesson, source.issues)
    if timing is not None:  # captions made from the recordings: those not really heard
        from pipeline.speech.classify import not_heard_findings

        qa = replace(qa, findings=qa.findings + not_heard_findings(cleaned.captions, timing))

    # the captions as written say when the words are spoken: cleaning may keep a caption up
    # longer to be read (extend_for_reading), which pulled the offset early (issue 20)
    caption_timing = list(source.captions) or estimated_captions(lesson)
    offset = caption_offset_of(lesson)
    analyses, lengths = [], []
    for i, path in enumerate(media):
        report("sync", i / len(media))
        identity = identities[i] if identities else str(path)
        if timing is not None:  # the takes laid end to end: the alignment is the sync
            base = take_bases(timing.durations)[i]
            analyses.append(Analysis(SyncResult(timing.claps[i], -base, 1.0, "recording"),
                                     timing.speech[i], timing.loudness[i],
                                     timing.durations[i]))
        else:
            analyses.append(_sync(path, caption_timing, offset, cached, identity))
        lengths.append(_length(path, cached, identity))
    syncs = [a.sync for a in analyses]
    takes = plan_takes(media, syncs, caption_timing, settings.lead_in, lengths)
    report("cuts")
    edit = plan_edit(lesson, takes, analyses, timing, cleaned.captions, aligned, settings.cuts,
                     settings.apply_cuts,
                     [_frame_ms(path, cached, identities[i] if identities else str(path))
                      for i, path in enumerate(media)])
    takes_uncut, takes = takes, list(edit.pieces)
    audio = lesson_audio([(t.path.name, *kept_levels(a.loudness, a.speech, spans))
                          for t, a, spans in zip(takes_uncut, analyses, edit.kept, strict=True)],
                         settings.audio, lesson_target(lesson, settings.audio))
    overlays = []
    outside = []
    last_panel = max((k for k, c in enumerate(aligned.cues) if c.cue.kind == "main_panel"),
                     default=-1)
    for k, cue in enumerate(aligned.cues):
        # the last MAIN PANEL stays until the end of the video, not of the captions
        end = OPEN_END if k == last_panel and cue.method != "override" else cue.end
        span = cue_span(takes, takes_uncut, cue.start, end)
        if span is None:
            outside.append(cue)
            continue
        overlays.append(Overlay(cue.cue.kind, cue.cue.text, cue.cue.items, *span,
                                line=cue.cue.line))
    lost = [_cut_reason(d, edit, takes_uncut)
            for d in _dropped_in_plan(lesson, source, takes, outside, cleaned.captions)]
    # captions whose words were cut went with them (reported in cuts.json, not "dropped":
    # an editor's cut is not a loss --strict fails for)
    edit = replace(edit, removed=tuple(d.to_json() for d in lost if d.reason.startswith("cut (")))
    lost = [d for d in lost if not d.reason.startswith("cut (")]
    speech = captions_json(lesson, timing, cleaned.captions) if timing else None
    return Plan(lesson, source, cleaned, qa, aligned, tuple(syncs), tuple(takes_uncut),
                tuple(overlays), tuple(captions_to_output(takes, cleaned.captions)), audio,
                tuple(lost), speech, edit)


def align_lesson(
    lesson: Lesson, media: Sequence[Path], profile: Profile, *, cached: Cached | None = None,
    identities: Sequence[str] | None = None, report: Report = lambda *a, **k: None,
) -> tuple[Captions, Timing | None, CleanResult, AlignResult]:
    """The lesson's captions (given, or made from its recordings' speech when it has none),
    cleaned, and its cues aligned to them: what the build renders and the review app shows."""
    source = lesson_captions(lesson)
    timing = None
    if not source.captions and media:  # issue 12: the script's words timed on the speech
        timing = _timing(lesson, media, cached, identities, report)
        source = Captions(tuple(make_captions(lesson, timing, profile)), (), "recording")
    report("clean")
    cleaned = clean_captions(source.captions, lesson, profile)
    report("align")
    if timing is None:
        aligned = align_cues(lesson, cleaned.captions or None, max_cps=reading_cps(profile))
    else:
        aligned = audio_cues(lesson, timing, cleaned.captions, max_cps=reading_cps(profile))
    return source, timing, cleaned, aligned


def _timing(lesson: Lesson, media: Sequence[Path], cached: Cached | None,
            identities: Sequence[str] | None, report: Report) -> Timing:
    """The script's words timed on the recordings, cached by the recordings' identities,
    the narration and the speech code (a cue or caption-profile edit does not re-align)."""
    def compute() -> dict[str, Any]:
        return timing_to_json(time_script(lesson, media, claps=True,
                                          progress=lambda f: report("speech", f)))

    report("speech", 0.0)
    if cached is None:
        return timing_from_json(compute())
    from pipeline.course.cache import code_digest

    narration = hashlib.sha256(json.dumps([n.to_json() for n in lesson.narration]).encode())
    # the course's `cached` adds pipeline.audio's digest to every step (course.work.lesson_steps)
    keys = [*(identities or [str(m) for m in media]), narration.hexdigest(),
            code_digest("pipeline.speech")]
    return timing_from_json(cached("speech", keys, compute))


def render(plan_: Plan, out: Path, settings: Settings = Settings(),
           report: Report = lambda *a, **k: None,
           final: Path | None = None) -> tuple[RenderResult, dict[str, Any]]:
    """OUT.webm (+ .srt .vtt) and its manifest OUT.json; ``final`` is where the video
    will live when a build renders into a temporary folder (the manifest names it)."""
    report("render", 0.0)
    result = render_video(
        _segments(plan_),
        plan_.overlays, plan_.captions,
        out, theme=settings.theme, preset=settings.preset, burn_in=settings.burn_in,
        smart=settings.smart, panels_dir=settings.panels,
        progress=lambda fraction: report("render", fraction),
        previous=final if final is not None and final != out else None,
    )
    manifest = result.to_json(trim_start=plan_.takes[0].trim,
                              caption_offset=plan_.takes[0].offset)
    manifest["output"] = str(final or out)
    # review: caption -> output time per joined take (pipeline.review seeks and converts with it)
    # (with cuts, one entry per kept piece: the same piecewise mapping, through the cuts)
    manifest["takes"] = [{"from": seconds(max(start, 0)), "offset": seconds(offset)}
                         for start, offset in offsets_by_take(_pieces(plan_))]
    if result.patch is not None:  # what the next render of this lesson may reuse
        manifest["patch"] = result.patch
    write_text(out.with_suffix(".json"), json.dumps(manifest, ensure_ascii=False, indent=2))
    return result, manifest


def _pieces(plan_: Plan) -> Sequence[Take]:
    """The takes as the output plays them: the pieces the cuts keep."""
    return plan_.edit.pieces if plan_.edit is not None else plan_.takes


def _segments(plan_: Plan) -> list[Segment]:
    """What the render joins: each kept piece of each take, with its take's gain."""
    gains = {(t.path, t.offset): a.gain for t, a in zip(plan_.takes, plan_.audio.takes,
                                                        strict=True)}
    segments = []
    for piece in _pieces(plan_):
        gain = gains[(piece.path, piece.offset)]
        end = None if piece.duration >= _take_of(plan_, piece).duration else piece.duration
        segments.append(Segment(piece.path, piece.trim, end, gain.gain, gain.ceiling))
    return segments


def _take_of(plan_: Plan, piece: Take) -> Take:
    return next(t for t in plan_.takes if t.path == piece.path and t.offset == piece.offset)


def produce(
    script: Path, media: Sequence[Path], out_dir: Path, *, name: str | None = None,
    final_dir: Path | None = None,
    settings: Settings = Settings(), cached: Cached | None = None,
    identities: Sequence[str] | None = None, report: Report = lambda *a, **k: None,
) -> dict[str, Any]:
    """A whole lesson into ``out_dir``: video, captions, manifest, QA and alignment reports,
    markers and data/summary.json (what the course index shows); returns the summary.
    ``final_dir``: where ``out_dir`` will be moved (the build's atomic swap), for paths."""
    name = name or script.stem
    final_video = (final_dir or out_dir) / f"{name}.webm"
    p = plan(script, media, settings=settings, cached=cached, identities=identities,
             report=report)
    video = out_dir / f"{name}.webm"
    result, _ = render(p, video, settings, report, final=final_video)
    p = replace(p, audio=p.audio.measured(video))  # "after" as the output really is

    report("reports")
    # review: a chapters track from the MAIN PANEL cues, and a watch page with both tracks
    panels = chapters(result.overlays, result.duration)
    write_text(chapters_path(video), to_vtt(panels))
    write_watch_page(out_dir, p.lesson.title, video, panels)
    data = out_dir / DATA
    data.mkdir(exist_ok=True)
    write_text(data / "lesson.json", json.dumps(p.lesson.to_json(), ensure_ascii=False,
                                                   indent=2))
    write_text(out_dir / "qa.html", report_html(p.qa, p.source.captions, p.cleaned,
                                                p.lesson.title, str(script), p.speech))
    if p.speech is not None:
        write_text(data / "speech.json", json.dumps(p.speech, ensure_ascii=False, indent=2))
    write_text(out_dir / "qa.csv", findings_csv(p.qa))
    write_text(data / "qa.json", json.dumps(p.qa.to_json(), ensure_ascii=False, indent=2))
    markers = on_output(_pieces(p), p.aligned, p.takes)
    write_report(p.lesson, p.aligned, out_dir / "align.html",
                 video=Video(video, pieces=offsets_by_take(_pieces(p))),
                 reuse=final_dir if final_dir is not None and final_dir != out_dir else None,
                 cuts=p.edit.rows(p.takes, settings.apply_cuts) if p.edit else ())
    write_otio(markers, out_dir / "align.otio", p.lesson.title, media=final_video,
               edit=p.edit.track(p.takes) if p.edit else None)
    write_csv(markers, out_dir / "align.csv")
    write_text(data / "align.json", json.dumps(p.aligned.to_json(), indent=2))
    write_text(out_dir / "audio.html", audio_html(p.audio, p.lesson.title, str(script)))
    thumbnail = _thumbnail(video, result, out_dir / "thumb.jpg")
    summary = lesson_summary(name, p, result, thumbnail)
    summary["dropped"] = [d.to_json() for d in dropped(p, result)]
    if p.edit is not None:
        edit = p.edit.to_json(p.takes)
        write_text(data / "cuts.json", json.dumps(edit, ensure_ascii=False, indent=2))
        summary["cuts"] = edit["summary"] | {"moved": len(p.edit.moved),
                                             "removed_captions": len(p.edit.removed),
                                             "warnings": list(p.edit.warnings)}
    write_text(data / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2))
    return summary


def _thumbnail(video: Path, result: RenderResult, out: Path) -> str | None:
    at = result.overlays[0].start + 500 if result.overlays else result.duration // 3
    try:
        ffmpeg.run(["-ss", f"{seconds(min(at, max(0, result.duration - 100))):.3f}",
                    "-i", ffmpeg.media_arg(video), "-frames:v", "1", "-vf", "scale=320:-2",
                    "-q:v", "4", ffmpeg.media_arg(out)], what=video)
    except PipelineError as exc:
        log.warning("no thumbnail: %s", exc)
        return None
    return out.name


def lesson_summary(name: str, p: Plan, result: RenderResult,
                   thumbnail: str | None) -> dict[str, Any]:
    """What the course index shows for the lesson (paths relative to the lesson folder)."""
    confidences = [c.confidence for c in p.aligned.cues]
    return {
        "name": name, "title": p.lesson.title, "status": "built",
        "duration": seconds(result.duration), "thumbnail": thumbnail,
        "video": result.output.name, "qa_html": "qa.html", "align_html": "align.html",
        "watch_html": WATCH_PAGE,
        "qa": {"errors": p.qa.errors, "warnings": p.qa.warnings},
        "audio_html": "audio.html", "audio": p.audio.to_json(),
        "min_confidence": min(confidences) if confidences else None,
        "captions": result.captions, "cues": len(p.aligned.cues),
        "warnings": len(p.lesson.warnings), "captions_from": p.source.source,
        "media": [t.path.name for t in p.takes],
        "sync": [s.to_json() | {"trim_start": seconds(t.trim)}
                 for s, t in zip(p.syncs, p.takes, strict=True)],
    } | ({"unspoken": p.speech["unspoken"], "unscripted": p.speech["unscripted"]}
         if p.speech is not None else {})


def strict_problems(summary: dict[str, Any]) -> list[str]:
    """Audio QA errors of a built lesson (from its summary): ``--strict`` fails it for them,
    as for anything of its plan the output lacks (``dropped``)."""
    audio = summary.get("audio")
    findings = audio.get("findings", []) if isinstance(audio, dict) else []
    return [f"audio {f['rule']} (take {f['take']}): {f['message']}" for f in findings
            if isinstance(f, dict) and f.get("severity") == "error"]
