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

    p = command("clap", cmd_clap, "find hand claps in a recording")
    p.add_argument("media", help="recording (any format ffmpeg reads)")

    p = command("sync", cmd_sync, "measure the caption-to-recording offset")
    p.add_argument("media", help="recording (any format ffmpeg reads)")
    p.add_argument("captions", help="lesson script (.md, its embedded captions) or .srt/.vtt")

    for name, help in [
        ("clean", "clean a lesson's captions"),
        ("qa", "check captions against a caption profile"),
        ("align", "align cues to the captions"),
        ("render", "render a finished lesson"),
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
