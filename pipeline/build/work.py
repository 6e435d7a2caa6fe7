"""The per-lesson work the build runs: ``run_lesson(job, out_dir, report)``.

For now it parses the script, probes each recording (a corrupt one fails the lesson; the
result is cached by the recording's identity, so a script edit does not probe again) and
writes ``lesson.json`` (the parse result, plus the recordings) and ``summary.json`` (what
the course index shows). The real stages (clean, qa, sync, align,
render, reports) are added here; each writes into ``out_dir``, which becomes
``output/<lesson>/`` only when the whole lesson succeeded. Raise a PipelineError to fail
the lesson with a message; call ``report(step, fraction)`` to show progress.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.atomic import write_text
from pipeline.build.cache import StepCache
from pipeline.build.discover import LessonJob

Report = Callable[..., None]  # report(step: str, fraction: float | None = None)


def summary(
    job: LessonJob, title: str, **fields: Any,
) -> dict[str, Any]:
    """The ``summary.json`` document; paths are relative to the lesson folder.

    Keys: name, title, status, duration (s | null), thumbnail, video, qa_html, align_html
    (relative paths | null), qa ({errors, warnings} | null), min_confidence (0..1 | null),
    captions, cues, warnings (counts), media (recording file names).
    """
    doc: dict[str, Any] = {
        "name": job.name, "title": title, "status": "built", "duration": None,
        "thumbnail": None, "video": None, "qa_html": None, "align_html": None,
        "qa": None, "min_confidence": None, "captions": 0, "cues": 0, "warnings": 0,
        "media": [path.name for path in job.media],
    }
    doc.update(fields)
    return doc


def write_json(path: Path, doc: Any) -> None:
    write_text(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def course_cache(job: LessonJob) -> StepCache:
    """The step cache of the course the job belongs to (``<root>/scripts/x.md`` -> ``<root>/.cache``)."""
    return StepCache(job.script.parent.parent / ".cache")


def probe_recording(path: Path) -> dict[str, Any]:
    from pipeline import ffmpeg

    info = ffmpeg.probe(path)
    return {"duration": info.duration, "video": info.video, "audio": info.audio,
            "width": info.width, "height": info.height}


def run_lesson(job: LessonJob, out_dir: Path, report: Report) -> None:
    # Stage imports live here: a no-op build imports this module but runs no stage.
    from pipeline.script.parse import parse_script
    from pipeline.timecode import seconds

    report("parse")
    lesson = parse_script(job.script)
    cache = course_cache(job)
    recordings = []
    for i, path in enumerate(job.media):
        report("probe", i / len(job.media))
        info = cache.cached("probe", [cache.media_identity(path)],
                            functools.partial(probe_recording, path))
        recordings.append({"name": path.name, **info})
    cache.save()
    durations = [r["duration"] for r in recordings]
    duration = seconds(sum(durations)) if durations and None not in durations else None
    write_json(out_dir / "lesson.json", {**lesson.to_json(), "recordings": recordings})
    write_json(out_dir / "summary.json", summary(
        job, lesson.title, duration=duration, captions=len(lesson.captions),
        cues=len(lesson.cues), warnings=len(lesson.warnings),
    ))
