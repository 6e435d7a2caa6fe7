"""The course build: discover, decide what is up to date, run the rest in parallel.

Each lesson is one task. A task writes into ``output/.<lesson>.tmp-XXXX/`` and the folder is
renamed to ``output/<lesson>/`` only when the whole lesson succeeded, so output/ never holds
a half-written lesson; leftovers of a killed build are swept at the start of the next one.
A lesson is up to date when ``output/<lesson>/data/build.json`` records the same lesson key:
sha256 over the script bytes, the recordings' identities, the settings, the pipeline version
and the work function; deciding that costs a few reads and stats, no parsing, no processes.

The executor is the one swappable piece: a ProcessPoolExecutor, or a dask.distributed
Client's concurrent.futures executor when a scheduler address is given.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import fcntl
import json
import logging
import multiprocessing
import os
import queue
import re
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pipeline import __version__
from pipeline.atomic import is_partial, write_text
from pipeline.course import DATA
from pipeline.course.cache import StepCache, code_digest, file_digest
from pipeline.course.discover import LessonJob, ScriptRefs, discover, read_refs
from pipeline.errors import BuildError, PipelineError

if TYPE_CHECKING:
    from multiprocessing.managers import SyncManager

log = logging.getLogger(__name__)

Status = Literal["built", "cached", "skipped", "failed"]
STAMP = f"{DATA}/build.json"  # written last into each lesson folder: the key it was built from
_TMP = re.compile(r"^\.(.+)\.tmp-[a-z0-9_]+$", re.DOTALL)  # tempfile.mkdtemp's suffix
_OLD = re.compile(r"^\.(.+)\.old-[0-9a-f]{8}$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LessonOutcome:
    name: str
    status: Status
    reason: str | None = None
    # ``path:line: warning: ...`` for what the plan had and the output lacks (a cue
    # outside every recording); ``build --strict`` fails a lesson that has any
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.reason is not None:
            doc["reason"] = self.reason
        if self.warnings:
            doc["warnings"] = list(self.warnings)
        return doc


@dataclass(frozen=True, slots=True)
class BuildReport:
    lessons: tuple[LessonOutcome, ...]

    @property
    def failed(self) -> bool:
        return any(o.status == "failed" for o in self.lessons)

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.lessons)

    def to_json(self) -> dict[str, Any]:
        return {"lessons": [o.to_json() for o in self.lessons]}


class StepReporter:
    """Handed to the work function: ``report("render", 0.4)``. Picklable, never raises."""

    def __init__(self, lesson: str, events: Any = None):
        self.lesson = lesson
        self.events = events  # a Manager queue proxy, or None (no live display, e.g. Dask)
        self._last: tuple[str, float] = ("", -1.0)

    def __call__(self, step: str, fraction: float | None = None) -> None:
        frac = -1.0 if fraction is None else fraction
        last_step, last_frac = self._last
        if step == last_step and abs(frac - last_frac) < 0.01 and frac < 1.0:
            return  # throttle ffmpeg's many progress lines
        self._last = (step, frac)
        _send(self.events, ("step", self.lesson, step, fraction))


Work = Callable[[LessonJob, Path, StepReporter], "LessonOutcome | None"]


class BuildProgress(Protocol):
    def start(self, total: int, to_run: int) -> None: ...
    def lesson_started(self, name: str) -> None: ...
    def step(self, name: str, step: str, fraction: float | None) -> None: ...
    def lesson_done(self, outcome: LessonOutcome) -> None: ...
    def close(self) -> None: ...


class NullProgress:
    def start(self, total: int, to_run: int) -> None: ...
    def lesson_started(self, name: str) -> None: ...
    def step(self, name: str, step: str, fraction: float | None) -> None: ...
    def lesson_done(self, outcome: LessonOutcome) -> None: ...
    def close(self) -> None: ...


# --- progress events: workers -> a Manager queue -> one thread driving the display -------
# Puts through a Manager proxy are synchronous, so a lesson's step events are queued before
# its result returns, and its "done" (queued by the main thread) comes after them.

def _send(events: Any, event: tuple[Any, ...] | None) -> None:
    if events is not None:
        with contextlib.suppress(Exception):  # a display problem must never fail a lesson
            events.put(event)


def _start_manager() -> SyncManager:
    from multiprocessing.managers import SyncManager  # only when a build has work to do

    manager = SyncManager(ctx=multiprocessing.get_context("spawn"))
    manager.start(_manager_init, (os.getpid(),))
    return manager


def _manager_init(parent: int) -> None:
    """In the queue's process: survive Ctrl-C (the build shuts it down), die with the build."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()


def _pump(events: Any, progress: BuildProgress) -> None:
    while True:
        try:
            event = events.get()
        except (EOFError, OSError):
            return
        if event is None:
            return
        kind, name, step, fraction = event
        with contextlib.suppress(Exception):
            if kind == "start":
                progress.lesson_started(name)
            elif kind == "done":
                progress.lesson_done(step)
            else:
                progress.step(name, step, fraction)


# --- one lesson, in a worker -----------------------------------------------------------

def run_job(
    work: Work, job: LessonJob, output: Path, key: str, events: Any = None,
    strict: bool = False,
) -> LessonOutcome:
    """Run ``work`` for one lesson into a temporary folder and swap it in on success
    (``strict``: a lesson with warnings fails and the previous output stays)."""
    _send(events, ("start", job.name, None, None))
    tmp = Path(tempfile.mkdtemp(prefix=f".{job.name}.tmp-", dir=output))
    tmp.chmod(0o755)  # mkdtemp makes it private; the lesson folder is meant to be served
    try:
        try:
            result = work(job, tmp, StepReporter(job.name, events))
        except PipelineError as exc:
            return LessonOutcome(job.name, "failed", str(exc))
        except Exception as exc:  # a bug in one lesson must not stop the others
            log.debug("lesson %s crashed", job.name, exc_info=True)
            return LessonOutcome(job.name, "failed", f"{type(exc).__name__}: {exc}")
        if result is not None and result.status != "built":
            return result
        warnings = result.warnings if result is not None else ()
        if strict and warnings:
            return _strict_failure(job.name, warnings)
        (tmp / DATA).mkdir(exist_ok=True)
        write_text(tmp / STAMP, json.dumps({"key": key, "version": __version__}))
        _install(tmp, output / job.name)
        return LessonOutcome(job.name, "built", warnings=warnings)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _strict_failure(name: str, warnings: Sequence[str]) -> LessonOutcome:
    shown = "; ".join(w.split(": warning: ", 1)[-1] for w in warnings[:3])
    more = f"; and {len(warnings) - 3} more" if len(warnings) > 3 else ""
    return LessonOutcome(name, "failed", f"--strict: {shown}{more}", tuple(warnings))


def _install(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; a previous ``final`` is moved aside, then deleted."""
    old = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
    had_old = os.path.lexists(final)
    if had_old:
        os.rename(final, old)
    os.rename(tmp, final)
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


# --- executors: the one swappable piece ------------------------------------------------

@contextlib.contextmanager
def executor(jobs: int, scheduler: str | None, in_process: bool = False,
             ) -> Iterator[cf.Executor]:
    if in_process:  # threads of this process: no interpreter to start (the review app)
        with cf.ThreadPoolExecutor(max_workers=jobs) as threads:
            yield threads
        return
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise BuildError(
                "--scheduler needs dask.distributed: pip install 'course-pipeline[dask]'"
            ) from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise BuildError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client.get_executor(pure=False)
        return
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        # Interrupted: stop the workers now (not after their lessons); the caller sweeps
        # their temp folders. There is no public API for this before Python 3.14.
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.join(timeout=5)
        raise
    pool.shutdown(wait=True)


# --- the build -------------------------------------------------------------------------

@dataclass(slots=True)
class _Plan:
    to_run: list[tuple[LessonJob, str]] = field(default_factory=list)
    outcomes: dict[str, LessonOutcome] = field(default_factory=dict)


def lesson_key(
    cache: StepCache, job: LessonJob, work: Work, settings: Mapping[str, Any],
) -> str:
    inputs = [file_digest(job.script), *(cache.media_identity(m) for m in job.media),
              *side_inputs(job.script), code_digest(), f"{work.__module__}.{work.__qualname__}"]
    return cache.key("lesson", inputs, settings)


SIDECARS = (".cues.yaml", ".srt", ".vtt")  # editor overrides and caption files beside a script


def side_inputs(script: Path) -> list[str]:
    """What else a lesson reads: sidecar files next to its script, and the panel images
    (by name, size and mtime: a stat each, no reads)."""
    found = []
    for suffix in SIDECARS:
        sidecar = script.with_name(script.stem + suffix)
        if sidecar.is_file():
            found.append(f"{suffix}:{file_digest(sidecar)}")
    panels = script.parent.parent / "media" / "panels"
    if panels.is_dir():
        for entry in sorted(os.scandir(panels), key=lambda e: e.name):
            if entry.is_file():
                st = entry.stat()
                found.append(f"panel:{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    course = script.parent.parent / "course.toml"  # the course's [theme] and [audio] settings
    if course.is_file():
        found.append(f"course.toml:{file_digest(course)}")
    return found


def built_key(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / STAMP).read_text(encoding="utf-8"))["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_course(
    root: Path,
    work: Work,
    *,
    jobs: int | None = None,
    force: bool = False,
    only: Sequence[str] | None = None,
    scheduler: str | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: BuildProgress | None = None,
    index: Callable[[Path, BuildReport], object] | None = None,
    strict: bool = False,
    in_process: bool = False,
) -> BuildReport:
    """Build every lesson under ``root`` into ``root/output``; never raises for one lesson.

    ``strict``: a lesson whose output lacks something of its plan (a cue outside every
    recording: its summary's ``dropped``) fails, cached or not. ``in_process``: lessons run
    in threads of this process (a long-lived caller that has the pipeline loaded: starting
    a worker interpreter costs seconds)."""
    progress = progress or NullProgress()
    settings = dict(settings or {})
    jobs = max(1, jobs or os.cpu_count() or 1)
    output = root / "output"
    output.mkdir(parents=True, exist_ok=True)
    cache = StepCache(root / ".cache")
    with _lock(output):
        sweep(output)
        cache.sweep()
        course = discover(root, refs=_cached_refs(cache))
        found = [job for job in course if not only or job.name in only]
        if only:
            missing = sorted(set(only) - {job.name for job in found})
            if missing:
                raise BuildError(f"no lesson named {', '.join(map(repr, missing))} in scripts/")
        plan = _plan(found, cache, work, settings, output, force, strict)
        cache.save()
        progress.start(len(found), len(plan.to_run))
        try:
            for outcome in plan.outcomes.values():
                progress.lesson_done(outcome)
            if plan.to_run:
                _run(plan, work, output, jobs, scheduler, progress, strict, in_process)
        except BaseException:
            sweep(output)  # interrupted: no temp folder outlives this build
            raise
        finally:
            progress.close()
        report = BuildReport(tuple(plan.outcomes[job.name] for job in found))
        if index is not None:  # the index shows the whole course, also under --only
            index(output, BuildReport(tuple(
                plan.outcomes.get(job.name) or _on_disk(output, job.name) for job in course)))
        return report


def _on_disk(output: Path, name: str) -> LessonOutcome:
    """A lesson this build did not look at (--only): what output/ holds for it."""
    if (output / name / STAMP).is_file():
        return LessonOutcome(name, "cached")
    return LessonOutcome(name, "skipped", "not built yet")


def _plan(
    found: list[LessonJob], cache: StepCache, work: Work, settings: Mapping[str, Any],
    output: Path, force: bool, strict: bool = False,
) -> _Plan:
    plan = _Plan()
    for job in found:
        if job.problem is not None:
            plan.outcomes[job.name] = LessonOutcome(job.name, "skipped", job.problem)
            continue
        try:
            key = lesson_key(cache, job, work, settings)
        except OSError as exc:
            plan.outcomes[job.name] = LessonOutcome(
                job.name, "failed", f"cannot read inputs: {exc.strerror or exc}")
            continue
        if not force and built_key(output / job.name) == key:
            warnings = dropped_warnings(output / job.name, job.script) if strict else ()
            plan.outcomes[job.name] = (_strict_failure(job.name, warnings) if warnings
                                       else LessonOutcome(job.name, "cached"))
        else:
            plan.to_run.append((job, key))
    return plan


def dropped_warnings(folder: Path, script: Path) -> tuple[str, ...]:
    """What a built lesson's summary.json says is wrong with its output, as command-line
    warnings: each cue or caption of the plan it lacks (``dropped``) and each audio QA error
    (a clipped take). ``build --strict`` fails a lesson that has any."""
    from pipeline.lesson import Dropped, strict_problems

    try:
        summary = json.loads((folder / DATA / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    if not isinstance(summary, dict):
        return ()
    entries = summary.get("dropped")
    return (tuple(Dropped.from_json(d, script.parent).message()
                  for d in entries or () if isinstance(d, dict))
            + tuple(f"{script}: warning: {problem}" for problem in strict_problems(summary)))


def _run(
    plan: _Plan, work: Work, output: Path, jobs: int, scheduler: str | None,
    progress: BuildProgress, strict: bool = False, in_process: bool = False,
) -> None:
    # Live progress from workers needs a queue process: only when someone is watching
    # (lessons in this process's threads: a plain queue).
    live = scheduler is None and not isinstance(progress, NullProgress)
    manager = None
    if live and not in_process:
        try:
            manager = _start_manager()
        except (OSError, EOFError) as exc:  # the build goes on, without per-step progress
            log.warning("no live progress from workers: %s", exc)
    events: Any = manager.Queue() if manager is not None else (
        queue.Queue() if live else None)
    pump = None
    if events is not None:
        pump = threading.Thread(target=_pump, args=(events, progress), daemon=True)
        pump.start()

    def done(outcome: LessonOutcome) -> None:
        plan.outcomes[outcome.name] = outcome
        if events is None:
            progress.lesson_done(outcome)
        else:
            _send(events, ("done", outcome.name, outcome, None))

    try:
        with executor(min(jobs, len(plan.to_run)), scheduler, in_process) as pool:
            futures = {pool.submit(run_job, work, job, output, key, events, strict): job
                       for job, key in plan.to_run}
            for future in cf.as_completed(futures):
                try:
                    done(future.result())
                except Exception as exc:  # noqa: BLE001  the worker died (killed, out of memory)
                    done(LessonOutcome(futures[future].name, "failed",
                                       f"{type(exc).__name__}: {exc}"))
    finally:
        if pump is not None:
            _send(events, None)
            pump.join(timeout=5)
        if manager is not None:
            manager.shutdown()


def _cached_refs(cache: StepCache) -> Callable[[Path], ScriptRefs]:
    """Media references of a script, memoized by the script's bytes: no parsing when unchanged."""
    def refs(script: Path) -> ScriptRefs:
        key = cache.key("refs", [file_digest(script)])
        hit = cache.get(key)
        if isinstance(hit, list):
            return ScriptRefs(tuple(str(name) for name in hit))
        found = read_refs(script)
        if found.error is None:
            cache.put(key, "refs", list(found.media))
        return found
    return refs


def sweep(output: Path) -> None:
    """Remove what a killed build left: temp lesson folders, moved-aside ones, ``.part`` files."""
    for entry in list(os.scandir(output)):
        if match := _TMP.match(entry.name):
            log.info("removing leftover %s", entry.path)
            shutil.rmtree(entry.path, ignore_errors=True)
        elif match := _OLD.match(entry.name):
            lesson = output / match[1]
            if not os.path.lexists(lesson):  # killed between the two renames: put it back
                os.rename(entry.path, lesson)
            else:
                shutil.rmtree(entry.path, ignore_errors=True)
    for dirpath, _dirs, files in os.walk(output):
        for name in files:
            if is_partial(Path(name)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))


@contextlib.contextmanager
def _lock(output: Path) -> Iterator[None]:
    with open(output / ".build.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError("another build is running on this output folder", output) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
