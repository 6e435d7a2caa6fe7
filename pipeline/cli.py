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
from typing import Any

from pipeline import __version__
from pipeline.errors import PipelineError

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
        f"  media: {len(lesson.media)}  claps: {len(lesson.claps)}  cues: {len(lesson.cues)}"
        f"  captions: {len(lesson.captions)}  notes: {len(lesson.notes)}"
        f"  narration lines: {len(lesson.narration)}",
        *(f"  {lesson.path}:{w.line}: warning: {w.message}" for w in lesson.warnings),
    ])
    emit(args, lesson.to_json(), human)
    return 0


# --- demo ------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import make_demos

    made = make_demos(Path(args.scripts), Path(args.media), force=args.force)
    doc = {"recordings": [m.to_json() for m in made]}
    human = "\n".join(
        [f"demo recordings in {Path(args.media) / 'demo'} (synthetic, labelled DEMO RECORDING):"]
        + [f"  {m.path}  ({m.duration / 1000:.1f} s, clap at {m.clap / 1000:.3f} s,"
           f" caption offset {m.offset / 1000:+.3f} s){'  [cached]' if m.cached else ''}"
           for m in made]
    )
    emit(args, doc, human)
    return 0


# --- render ----------------------------------------------------------------------------

def cmd_render(args: argparse.Namespace) -> int:
    from pipeline.render.lesson import plan_lesson_render
    from pipeline.render.run import render_video, write_manifest
    from pipeline.render.theme import load_theme
    from pipeline.script.parse import parse_script

    out = Path(args.output)
    if out.suffix.lower() != ".webm":
        raise UsageError(f"output must be a .webm file: {out}")
    lesson = parse_script(args.script)
    media = [Path(m) for m in args.media]
    theme = load_theme(args.theme) if args.theme else None
    panels = Path(args.panels) if args.panels else _default_panels(media)
    segments, overlays, captions, trim_start, caption_offset = plan_lesson_render(lesson, media)
    with _progress_bar(f"rendering {out.name}") as progress:
        result = render_video(
            segments, overlays, captions, out, theme=theme, preset=args.preset,
            burn_in=args.burn_in, smart=not args.full, panels_dir=panels, progress=progress,
        )
    doc = result.to_json(trim_start=trim_start, caption_offset=caption_offset)
    write_manifest(out.with_suffix(".json"), doc)
    human = "\n".join([
        f"{out}: {result.duration / 1000:.3f} s, {len(result.overlays)} overlays,"
        f" {result.captions} captions ({'smart render' if result.smart else 'full encode'})",
        f"  also wrote {out.with_suffix('.srt')}, {out.with_suffix('.vtt')},"
        f" {out.with_suffix('.json')}",
    ])
    emit(args, doc, human)
    return 0


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

def _not_yet(name: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        raise UsageError(f"'{name}' is not available in this build yet")
    return handler


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
    p.add_argument("--theme", metavar="THEME.toml", help="course theme file")
    p.add_argument("--panels", metavar="DIR",
                   help="folder of MAIN PANEL images (default: media/panels)")

    for name, help in [
        ("clean", "clean a lesson's captions"),
        ("qa", "check captions against a caption profile"),
        ("align", "align cues to the captions"),
        ("clap", "find hand claps in a recording"),
        ("sync", "measure the caption-to-recording offset"),
        ("build", "build every lesson of the course"),
    ]:
        command(name, _not_yet(name), help).add_argument("rest", nargs="*")
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
