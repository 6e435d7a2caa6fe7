"""Command line: the only module that parses argv, prints, and picks exit codes.

Exit codes: 0 done; 1 done but QA failed under --strict (or a build had failures);
2 bad input or usage, with ``path:line: what is wrong`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.errors import PipelineError

if TYPE_CHECKING:  # the command modules load lazily, only when their command runs
    from pipeline.captions.io import ReadIssue
    from pipeline.models import Caption, Lesson

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


class UsageError(PipelineError):
    """Bad command-line usage."""


def emit(args: argparse.Namespace, doc: dict[str, Any], human: str) -> None:
    """Print exactly one JSON document with --json, else a human summary."""
    if getattr(args, "json", False):
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(human)


# --- parse -----------------------------------------------------------------------------

def cmd_parse(args: argparse.Namespace) -> int:
    from pipeline.script.parse import parse_script

    lesson = parse_script(args.script)
    human = "\n".join([
        f"{lesson.path}: {lesson.title!r}",
        f"  tags: {', '.join(lesson.tags) or '-'}",
        (f"  media: {len(lesson.media)}  claps: {len(lesson.claps)}  cues: {len(lesson.cues)}"
        f"  captions: {len(lesson.captions)}  notes: {len(lesson.notes)}"
        f"  narration lines: {len(lesson.narration)}"),
        *(f"  {lesson.path}:{w.line}: warning: {w.message}" for w in lesson.warnings),
    ])
    emit(args, lesson.to_json(), human)
    return 0


# --- demo ------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import make_demos

    made = make_demos(Path(args.scripts), Path(args.media), force=args.force,
                      on_step=lambda message: print(message, file=sys.stderr, flush=True))
    doc = {"recordings": [m.to_json() for m in made]}
    human = "\n".join(
        [f"demo recordings in {Path(args.media) / 'demo'} (synthetic, labelled DEMO RECORDING):"]
        + [f"  {m.path}  ({m.duration / 1000:.1f} s, clap at {m.clap / 1000:.3f} s,"
           f" caption offset {m.offset / 1000:+.3f} s){'  [cached]' if m.cached else ''}"
           for m in made]
    )
    emit(args, doc, human)
    return 0


# --- clean / qa ------------------------------------------------------------------------

def _load_captions(
    args: argparse.Namespace,
) -> tuple[tuple[Caption, ...], tuple[ReadIssue, ...], Lesson | None]:
    """(captions, read issues, lesson or None) for a script or a caption file (told apart
    by content, not by extension: a seed saved as .txt is still a script)."""
    from pipeline.captions.io import embedded_issues, read_captions
    from pipeline.errors import CaptionError
    from pipeline.script.parse import is_script, parse_script

    source = Path(args.input)
    if is_script(source):
        lesson = parse_script(source)
        if not lesson.captions:
            raise CaptionError("script has no embedded captions (an SRT block after the last CLAP)",
                               source)
        return lesson.captions, embedded_issues(lesson), lesson
    captions, issues = read_captions(source)
    reference = parse_script(args.script) if getattr(args, "script", None) else None
    return tuple(captions), tuple(issues), reference


def cmd_clean(args: argparse.Namespace) -> int:
    from pipeline.captions.clean import clean_captions
    from pipeline.captions.io import write_captions
    from pipeline.captions.profiles import get_profile
    from pipeline.errors import CaptionError

    profile = get_profile(args.profile)
    if args.output and Path(args.output).suffix.lower() not in (".srt", ".vtt"):
        raise UsageError("-o must name a .srt or .vtt file", args.output)
    captions, _, lesson = _load_captions(args)
    result = clean_captions(captions, lesson, profile)
    if args.output:
        try:
            write_captions(args.output, result.captions)
        except OSError as exc:
            message = f"cannot write captions: {exc.strerror or exc}"
            raise CaptionError(message, args.output) from None
    human = "\n".join(
        [(f"{args.input}: {len(result.captions)} captions, {len(result.changes)} changes"
          + (f" -> {args.output}" if args.output else ""))]
        + [f"  #{c.index} {c.rule}: {c.before!r} -> {c.after!r}" for c in result.changes]
    )
    emit(args, result.to_json(), human)
    return 0


def cmd_qa(args: argparse.Namespace) -> int:
    from pipeline.atomic import write_text
    from pipeline.captions.clean import clean_captions
    from pipeline.captions.profiles import get_profile
    from pipeline.captions.qa import check_captions, findings_csv, report_html
    from pipeline.errors import CaptionError

    profile = get_profile(args.profile)
    captions, issues, lesson = _load_captions(args)
    result = check_captions(captions, profile, lesson, issues)
    try:
        if args.html:
            cleaned = clean_captions(captions, lesson, profile)
            title = lesson.title if lesson is not None else Path(args.input).name
            write_text(args.html, report_html(result, captions, cleaned, title, str(args.input)))
        if args.csv:
            write_text(args.csv, findings_csv(result))
    except OSError as exc:
        raise CaptionError(f"cannot write report: {exc.strerror or exc}", exc.filename) from None
    human = "\n".join(
        [(f"{args.input}: {result.captions} captions, {result.errors} errors,"
          f" {result.warnings} warnings (profile {result.profile})")]
        + [f"  #{f.index} {f.severity} {f.rule}: {f.message}" for f in result.findings
           if f.severity != "info" or args.verbose]
    )
    emit(args, result.to_json(), human)
    return 1 if args.strict and result.errors else 0


# --- align -----------------------------------------------------------------------------

def cmd_align(args: argparse.Namespace) -> int:
    from pipeline.align.cues import align_cues, reading_cps
    from pipeline.captions.io import read_captions
    from pipeline.captions.profiles import get_profile
    from pipeline.script.parse import parse_script
    from pipeline.timecode import format_clock

    lesson = parse_script(args.script)
    captions = read_captions(args.captions)[0] if args.captions else None
    max_cps = args.max_cps or reading_cps(get_profile(args.profile))
    if args.media:  # the script's words timed on the recordings (method "audio")
        from pipeline.speech.captions import audio_cues, make_captions
        from pipeline.speech.forced import time_script

        timing = time_script(lesson, [Path(m) for m in args.media])
        made = make_captions(lesson, timing, get_profile(args.profile))
        result = audio_cues(lesson, timing, made, max_cps=max_cps)
    elif captions is None and not lesson.captions and not _sidecar_captions(lesson):
        result = _align_on_course_recordings(lesson, get_profile(args.profile), max_cps)
    else:
        result = align_cues(lesson, captions, max_cps=max_cps)
    # the writers (jinja2, the build's modules with numpy/scipy) load only when asked for
    if args.html:
        from pipeline.align.report import write_report

        write_report(lesson, result, args.html, video=args.video)
    if args.otio or args.csv:
        from pipeline.align.markers import write_csv, write_otio

        if args.otio:
            write_otio(result, args.otio, lesson.name, fps=args.fps, media=args.video)
        if args.csv:
            write_csv(result, args.csv, fps=args.fps)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    human = "\n".join(
        [f"{lesson.path}: {len(result.cues)} cues, narration coverage {result.coverage:.0%}"]
        + [f"  {lesson.path}:{c.cue.line}: {format_clock(c.start)}-{format_clock(c.end)}"
           f" {c.method} {c.confidence:.2f}  [{c.cue.kind}] {c.cue.text}" for c in result.cues]
    )
    emit(args, result.to_json(), human)
    return 0


def _sidecar_captions(lesson: Any) -> bool:
    """Whether the lesson has captions beside its script (the build's rule; pipeline.lesson
    loads the whole build, so only a script without embedded captions pays for it)."""
    from pipeline.lesson import lesson_captions

    return bool(lesson_captions(lesson).captions)


def _align_on_course_recordings(lesson: Any, profile: Any, max_cps: float) -> Any:
    """A script without captions: its cues timed on the recordings the build would use
    (found in the course's media/ as the build finds them; the build's step cache reused),
    else estimated from the narration with a warning saying why."""
    from pipeline.align.cues import align_cues
    from pipeline.course.discover import MediaFinder, resolve_lesson
    from pipeline.course.work import align_job

    script = Path(lesson.path)
    job = resolve_lesson(script.stem, script, [m.name for m in lesson.media],
                         MediaFinder(script.parent.parent / "media"))
    if not job.media:
        print(f"{script}: warning: no captions and no recording to time the narration on"
              f" ({job.problem}); cue times are estimated (give --media REC)", file=sys.stderr)
        return align_cues(lesson, None, max_cps=max_cps)
    return align_job(job, lesson, profile)[3]


# --- captions (from the recordings' speech) -------------------------------------------

def cmd_captions(args: argparse.Namespace) -> int:
    from pipeline.captions.io import write_captions
    from pipeline.captions.profiles import get_profile
    from pipeline.script.parse import parse_script
    from pipeline.speech.captions import captions_json, make_captions
    from pipeline.speech.forced import time_script

    lesson = parse_script(args.script)
    profile = get_profile(str(lesson.frontmatter.get("profile") or args.profile or "netflix"))
    timing = time_script(lesson, [Path(m) for m in args.media])
    made = make_captions(lesson, timing, profile)
    if args.output:
        write_captions(args.output, made)
    doc = captions_json(lesson, timing, made)
    heard = sum(w["start"] is not None for w in doc["words"])
    human = "\n".join(
        [f"{lesson.path}: {len(made)} captions from {heard} of {len(doc['words'])} words heard"]
        + [f"  {lesson.path}:{p['line']}: unspoken: {p['text']}" for p in doc["unspoken"]]
        + [f"  unscripted {'filler' if u['kind'] == 'filler' else 'speech'}"
           f" {u['start']:.2f}-{u['end']:.2f} s" for u in doc["unscripted"]]
    )
    emit(args, doc, human)
    return 0


# --- clap / sync ----------------------------------------------------------------------

def cmd_clap(args: argparse.Namespace) -> int:
    from pipeline.audio.clap import find_claps

    result = find_claps(args.media)
    human = "\n".join(
        [f"{args.media}: {result.duration / 1000:.3f} s, {len(result.claps)} clap(s)"]
        + [f"  clap at {c.time / 1000:.3f} s  (confidence {c.confidence:.2f})"
           for c in result.claps]
    )
    emit(args, result.to_json(), human)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from pipeline.audio.sync import load_captions, measure_sync

    captions, caption_offset = load_captions(args.captions)
    result = measure_sync(args.media, captions, caption_offset=caption_offset)
    clap = "none" if result.clap is None else f"{result.clap / 1000:.3f} s"
    human = (f"{args.media}: clap {clap}, caption offset {result.offset / 1000:+.3f} s"
             f" (confidence {result.confidence:.2f}, method {result.method})")
    emit(args, result.to_json(), human)
    return 0


# --- build -----------------------------------------------------------------------------

def _work_function(spec: str | None) -> Any:
    """The per-lesson work: pipeline.course.work.run_lesson, or MODULE:FUNCTION (tests)."""
    import importlib

    if not spec:
        from pipeline.course.work import run_lesson
        return run_lesson
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--work {spec!r}: {exc}") from None


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.course.index import write_index
    from pipeline.course.orchestrate import BuildReport, build_course
    from pipeline.course.progress import LogProgress, RichProgress

    root = Path(args.root)
    if not (root / "scripts").is_dir():
        raise UsageError("no scripts/ folder here (use --root)", root)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    work = _work_function(args.work)
    if args.no_cuts and not args.work:
        from pipeline.course.work import run_lesson_uncut as work
    logging.getLogger("pipeline.course.progress").setLevel(logging.INFO)
    logging.getLogger("pipeline.course.watch").setLevel(logging.INFO)
    status = 0

    def once() -> BuildReport:
        nonlocal status
        progress = RichProgress(sys.stderr) if sys.stderr.isatty() else LogProgress()
        report = build_course(
            root, work, jobs=args.jobs, force=args.force, only=args.only or None,
            scheduler=args.scheduler, progress=progress, index=write_index,
            strict=args.strict,
        )
        for outcome in report.lessons:  # what a lesson's output lacks, by script line
            for warning in outcome.warnings:
                print(warning, file=sys.stderr)
        counts = ", ".join(f"{report.count(s)} {s}" for s in ("built", "cached", "skipped", "failed")
                           if report.count(s))
        human = "\n".join(
            [f"{len(report.lessons)} lessons: {counts or 'none'}  ->  {root / 'output' / 'index.html'}"]
            + [f"  {o.name}: {o.status}" + (f" ({o.reason})" if o.reason else "")
               for o in report.lessons if o.status in ("failed", "skipped")]
        )
        if args.watch and args.json:  # one JSON document per line, per build
            print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
        else:
            emit(args, report.to_json(), human)
        sys.stdout.flush()
        status = 1 if report.failed else 0
        return report

    if not args.watch:
        once()
        return status
    from pipeline.course.watch import watch

    try:
        watch(root, once, interval=args.interval)
    except KeyboardInterrupt:
        pass
    return status


# --- review ----------------------------------------------------------------------------

def cmd_review(args: argparse.Namespace) -> int:
    from pipeline.review.app import Server

    root = Path(args.root)
    if not (root / "scripts").is_dir():
        raise UsageError("no scripts/ folder here (use --root)", root)
    server = Server(root, _work_function(args.work), host=args.host, port=args.port)
    print(f"review app: {server.url}  (Ctrl-C stops)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


# --- render ----------------------------------------------------------------------------

def _cut_line(cuts: Sequence[Any], applied: bool) -> str:
    from pipeline.cuts import describe, summary

    counts = summary(cuts)
    if not applied:
        return f"{counts['proposed']} proposed, none applied (--no-cuts)"
    return (f"{counts['applied']} of {counts['proposed']} applied, {counts['removed']:.1f} s"
            f" removed" + (f" ({describe(counts)})" if describe(counts) else ""))


def cmd_render(args: argparse.Namespace) -> int:
    from pipeline.audio.normalize import DEFAULT_AUDIO, audio_settings
    from pipeline.cuts import DEFAULT_CUTS, cut_settings
    from pipeline.lesson import Settings, dropped, plan, render
    from pipeline.render.theme import read_toml, theme_from_dict

    out = Path(args.output)
    if out.suffix.lower() != ".webm":
        raise UsageError(f"output must be a .webm file: {out}")
    media = [Path(m) for m in args.media]
    look = read_toml(args.theme) if args.theme else None  # its theme keys and [audio] table
    settings = Settings(
        profile=args.profile, preset=args.preset, burn_in=args.burn_in, smart=not args.full,
        lead_in=round(args.lead_in * 1000),
        theme=theme_from_dict(look, args.theme) if look is not None else None,
        panels=Path(args.panels) if args.panels else _default_panels(media),
        audio=audio_settings(look, args.theme) if look is not None else DEFAULT_AUDIO,
        cuts=cut_settings(look.get("cuts"), args.theme) if look is not None else DEFAULT_CUTS,
        apply_cuts=not args.no_cuts,
    )
    with _progress_bar(f"rendering {out.name}") as progress:
        report = (lambda step, fraction=None: progress(fraction or 0.0)
                  if progress and step == "render" else None)
        lesson_plan = plan(Path(args.script), media, settings=settings)
        result, doc = render(lesson_plan, out, settings, report)
    audio = lesson_plan.audio.measured(out)  # "after" as the output really is
    lost = dropped(lesson_plan, result)
    for item in lost:  # what the output lacks, by script line
        print(item.message(), file=sys.stderr)
    for warning in lesson_plan.edit.warnings if lesson_plan.edit else ():  # cut choices
        print(warning, file=sys.stderr)
    human = "\n".join([
        (f"{out}: {result.duration / 1000:.3f} s, {len(result.overlays)} overlays,"
        f" {result.captions} captions ({'smart render' if result.smart else 'full encode'})"),
        *(f"  {t.path.name}: clap {('%.3f s' % (s.clap / 1000)) if s.clap is not None else 'none'},"
          f" caption offset {s.offset / 1000:+.3f} s ({s.method}), output starts at"
          f" {t.trim / 1000:.3f} s" for s, t in zip(lesson_plan.syncs, lesson_plan.takes)),
        (f"  audio: {audio.before:.1f} LUFS recorded -> {audio.after:.1f} LUFS (target"
         f" {audio.target:g}; gains {', '.join(f'{t.gain.gain:+.1f} dB' for t in audio.takes)}),"
         f" {audio.errors} errors, {audio.warnings} warnings"),
        *(f"  take {f.take} {f.severity} {f.rule}: {f.message}" for f in audio.findings
          if f.severity != "info" or args.verbose),
        *([f"  cuts: {_cut_line(lesson_plan.edit.cuts, settings.apply_cuts)}"]
          if lesson_plan.edit and lesson_plan.edit.cuts else []),
        (f"  also wrote {out.with_suffix('.srt')}, {out.with_suffix('.vtt')},"
        f" {out.with_suffix('.json')}"),
    ])
    emit(args, doc, human)
    return 1 if args.strict and (lost or audio.errors) else 0


def _default_panels(media: list[Path]) -> Path | None:
    for candidate in [Path("media") / "panels", *(m.parent / "panels" for m in media[:1])]:
        if candidate.is_dir():
            return candidate
    return None


class _progress_bar:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __enter__(self) -> Callable[[float], None] | None:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=1.0)
        return lambda fraction: self.bar.update(task, completed=fraction)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# --- argument parser -------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Course-video pipeline: lesson scripts + webm recordings -> finished lessons.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        p.set_defaults(handler=handler)
        return p

    p = command("parse", cmd_parse, "parse a lesson script")
    p.add_argument("script", help="lesson script (markdown)")

    p = command("demo", cmd_demo, "generate labelled synthetic demo recordings into media/demo/")
    p.add_argument("--scripts", default="scripts", help="folder of lesson scripts")
    p.add_argument("--media", default="media", help="media folder (demo files go to MEDIA/demo)")
    p.add_argument("--force", action="store_true", help="regenerate existing demo recordings")

    p = command("clean", cmd_clean, "clean a lesson's captions (script-aware with a script)")
    p.add_argument("input", metavar="SCRIPT|SRT", help="lesson script (.md) or caption file")
    p.add_argument("--script", help="lesson script to use as reference for a caption file")
    p.add_argument("-o", "--output", metavar="OUT.srt|OUT.vtt", help="write the cleaned captions")
    p.add_argument("--profile", default=None, help="caption profile: netflix (default), bbc")

    p = command("qa", cmd_qa, "check captions against a caption profile")
    p.add_argument("input", metavar="SCRIPT|SRT", help="lesson script (.md) or caption file")
    p.add_argument("--script", help="lesson script to compare a caption file with")
    p.add_argument("--profile", default=None, help="caption profile: netflix (default), bbc")
    p.add_argument("--strict", action="store_true", help="exit 1 when errors remain")
    p.add_argument("--html", metavar="OUT.html", help="write a readable HTML report")
    p.add_argument("--csv", metavar="OUT.csv", help="write the findings as CSV")

    p = command("align", cmd_align, "align cues to the captions")
    p.add_argument("script", help="lesson script (markdown)")
    p.add_argument("--captions", help="SRT/VTT to align against (default: the script's own)")
    p.add_argument("--html", help="write the editor's alignment report here")
    p.add_argument("--video", help="rendered lesson for report thumbnails and player")
    p.add_argument("--otio", help="write the cues as OpenTimelineIO markers here")
    p.add_argument("--csv", help="write the cues with timecodes as CSV here")
    p.add_argument("--fps", type=int, default=30, help="frame rate for timecodes (default 30)")
    p.add_argument("--profile", default=None,
                   help="caption profile whose reading speed times VISUAL TEXT (default netflix)")
    p.add_argument("--max-cps", type=float, default=None,
                   help="VISUAL TEXT reading speed, characters a second (overrides --profile)")
    p.add_argument("--media", nargs="+", metavar="REC",
                   help="time the script's words on these recordings (method audio)")

    p = command("captions", cmd_captions, "caption a lesson from its recordings' speech")
    p.add_argument("script", help="lesson script (markdown)")
    p.add_argument("--media", nargs="+", required=True, metavar="REC",
                   help="the lesson's recordings, in script order")
    p.add_argument("-o", "--output", metavar="OUT.srt|OUT.vtt", help="write the captions")
    p.add_argument("--profile", default=None, help="caption profile: netflix (default), bbc")

    p = command("clap", cmd_clap, "find hand claps in a recording")
    p.add_argument("media", help="recording (any format ffmpeg reads)")

    p = command("sync", cmd_sync, "measure the caption-to-recording offset")
    p.add_argument("media", help="recording (any format ffmpeg reads)")
    p.add_argument("captions", help="lesson script (.md, its embedded captions) or .srt/.vtt")

    p = command("render", cmd_render, "render a finished lesson")
    p.add_argument("script", help="lesson script (markdown)")
    p.add_argument("--media", nargs="+", required=True, metavar="FILE",
                   help="the lesson's recordings, in script order")
    p.add_argument("-o", "--output", required=True, metavar="OUT.webm", help="output video")
    p.add_argument("--burn-in", action="store_true",
                   help="draw the captions into the picture instead of a subtitle track")
    p.add_argument("--preset", choices=["fast", "final"], default="fast",
                   help="encoder preset: fast (VP9 realtime, default) or final (quality)")
    p.add_argument("--full", action="store_true",
                   help="re-encode the whole video (no smart render)")
    p.add_argument("--no-cuts", action="store_true",
                   help="render uncut: retakes, pauses, head and tail stay (cuts listed only)")
    p.add_argument("--theme", metavar="THEME.toml", help="course theme file")
    p.add_argument("--panels", metavar="DIR",
                   help="folder of MAIN PANEL images (default: media/panels)")
    p.add_argument("--profile", default=None, help="caption profile: netflix (default), bbc")
    p.add_argument("--lead-in", type=float, default=0.5, metavar="SECONDS",
                   help="seconds of each take kept after its clap (default 0.5)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a cue or caption of the script is not in the output"
                        " or the audio QA finds errors (clipping)")


    p = command("build", cmd_build, "build every lesson of the course into output/")
    p.add_argument("--no-cuts", action="store_true",
                   help="build every lesson uncut (its cuts listed, none applied)")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="lessons built in parallel (default: number of cores)")
    p.add_argument("--force", action="store_true", help="rebuild lessons that are up to date")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="build only this lesson (repeatable)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run lessons on a Dask distributed cluster (tcp://host:8786)")
    p.add_argument("--watch", action="store_true",
                   help="rebuild when a script or recording changes (Ctrl-C stops)")
    p.add_argument("--root", default=".", help="course folder holding scripts/ and media/")
    p.add_argument("--strict", action="store_true",
                   help="fail a lesson when a cue or caption of its script is not in its output"
                        " or its audio QA finds errors (clipping)")
    p.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--work", default=None, help=argparse.SUPPRESS)  # MODULE:FUNCTION, tests

    p = command("review", cmd_review, "the review app: fix cue timing on the rendered lessons")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--root", default=".", help="course folder holding scripts/ and media/")
    p.add_argument("--work", default=None, help=argparse.SUPPRESS)  # MODULE:FUNCTION, tests
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its usage message
        return 0 if exc.code == 0 else 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except PipelineError as exc:
        print(f"error: {exc}" if not exc.path else str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
