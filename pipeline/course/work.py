"""The per-lesson work the build runs: ``run_lesson(job, out_dir, report)``.

Every stage runs (pipeline.lesson.produce) and writes into ``out_dir``, which becomes
``output/<lesson>/`` only when the whole lesson succeeded. A PipelineError fails the
lesson with its message; ``report(step, fraction)`` shows progress. Audio analysis is
cached by the recording's identity and the captions' timing, so a narration typo or a
cue edit does not decode the recording again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.course.cache import StepCache, code_digest
from pipeline.course.discover import LessonJob

if TYPE_CHECKING:
    from pipeline.course.orchestrate import LessonOutcome

Report = Callable[..., None]  # report(step: str, fraction: float | None = None)


def course_cache(job: LessonJob) -> StepCache:
    """The step cache of the course the job belongs to (``<root>/scripts/x.md`` -> ``<root>/.cache``)."""
    return StepCache(job.script.parent.parent / ".cache")


COURSE_FILE = "course.toml"  # beside scripts/: the course's [theme] and [audio] tables


def course_settings(root: Path) -> Any:
    """pipeline.lesson.Settings from ``<root>/course.toml`` (the defaults without one)."""
    from pipeline.audio.normalize import audio_settings
    from pipeline.cuts import cut_settings
    from pipeline.lesson import Settings
    from pipeline.render.theme import read_toml, theme_from_dict

    path = root / COURSE_FILE
    if not path.is_file():
        return Settings()
    data = read_toml(path, "the course settings")
    theme = data.get("theme")
    return Settings(theme=theme_from_dict(theme, path) if isinstance(theme, dict) else None,
                    audio=audio_settings(data, path), cuts=cut_settings(data.get("cuts"), path))


def lesson_steps(cache: StepCache, job: LessonJob) -> tuple[Callable[..., Any], list[str]]:
    """The lesson's step cache as ``cached(step, inputs, compute)`` and its recordings'
    identities: what pipeline.lesson's steps key on (audio analysis cached by recording)."""
    identities = [cache.media_identity(path) for path in job.media]

    def cached(step: str, inputs: list[str], compute: Callable[[], Any]) -> Any:
        return cache.cached(step, [*inputs, code_digest("pipeline.audio")], compute)

    return cached, identities


def align_job(job: LessonJob, lesson: Any, profile: Any) -> Any:
    """``pipeline.lesson.align_lesson`` for a lesson of the course, through the course's
    step cache: a lesson without captions is timed on its recordings once, by whoever
    asks first (the build, the review app, ``align``), and read back after that."""
    from pipeline.lesson import align_lesson

    cache = course_cache(job)
    cached, identities = lesson_steps(cache, job)
    try:
        return align_lesson(lesson, list(job.media), profile, cached=cached,
                            identities=identities)
    finally:
        cache.save()


def run_lesson(job: LessonJob, out_dir: Path, report: Report,
               cuts: bool = True) -> LessonOutcome:
    """The whole lesson (pipeline.lesson.produce); audio analysis cached by recording.
    Anything of the plan the output lacks comes back as the outcome's warnings."""
    from dataclasses import replace

    from pipeline.course.orchestrate import LessonOutcome, dropped_warnings
    from pipeline.lesson import produce

    cache = course_cache(job)
    cached, identities = lesson_steps(cache, job)
    try:
        produce(job.script, list(job.media), out_dir, name=job.name,
                final_dir=out_dir.parent / job.name, cached=cached,
                settings=replace(course_settings(job.script.parent.parent), apply_cuts=cuts),
                identities=identities, report=report)
    finally:
        cache.save()
    return LessonOutcome(job.name, "built", warnings=dropped_warnings(out_dir, job.script))


def run_lesson_uncut(job: LessonJob, out_dir: Path, report: Report) -> LessonOutcome:
    """``build --no-cuts``: run_lesson with the cuts listed but none applied (a work
    function of its own, so the build's cache key tells the two apart)."""
    return run_lesson(job, out_dir, report, cuts=False)
