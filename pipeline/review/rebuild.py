"""Rebuilding one lesson in the background through the normal build, with its progress.

``build_course(root, work, only=[name], in_process=True)``: the same lock (one build per
output folder), the same step cache (no audio decoded again), the same atomic swap of the
lesson folder, run in a thread of the app (no worker interpreter to start); a cue change
patches the previous render (pipeline.render.patch). Progress arrives through the build's
BuildProgress hooks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.course.index import write_index
from pipeline.course.orchestrate import LessonOutcome, Work, build_course
from pipeline.errors import PipelineError


@dataclass(frozen=True, slots=True)
class Status:
    state: str = "idle"  # idle | running | built | cached | failed | skipped
    step: str = ""
    fraction: float | None = None
    message: str = ""
    run: int = 0  # counts rebuilds, so a page can tell a new result from an old one
    seconds: float | None = None  # how long the last rebuild took

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "step": self.step, "fraction": self.fraction,
                "message": self.message, "run": self.run, "seconds": self.seconds}


class _Progress:
    """BuildProgress for one lesson: each event updates its Status."""

    def __init__(self, rebuilds: Rebuilds, name: str) -> None:
        self.rebuilds, self.name = rebuilds, name

    def start(self, total: int, to_run: int) -> None:
        self.rebuilds._update(self.name, step="starting" if to_run else "up to date")

    def lesson_started(self, name: str) -> None:
        self.rebuilds._update(self.name, step="started")

    def step(self, name: str, step: str, fraction: float | None) -> None:
        self.rebuilds._update(self.name, step=step, fraction=fraction)

    def lesson_done(self, outcome: LessonOutcome) -> None:
        pass  # the thread records the report's outcome

    def close(self) -> None:
        pass


class Rebuilds:
    """At most one rebuild per lesson at a time (the build's own lock guards the folder)."""

    def __init__(self, root: Path, work: Work, jobs: int = 1) -> None:
        self.root, self.work, self.jobs = root, work, jobs
        self._lock = threading.Lock()
        self._status: dict[str, Status] = {}
        self._threads: dict[str, threading.Thread] = {}

    def status(self, name: str) -> Status:
        with self._lock:
            return self._status.get(name, Status())

    def _update(self, name: str, **changes: Any) -> None:
        with self._lock:
            self._status[name] = replace(self._status.get(name, Status()), **changes)

    def start(self, name: str) -> Status:
        """Start rebuilding ``name`` unless it already is; returns its status."""
        with self._lock:
            current = self._status.get(name, Status())
            if current.state == "running":
                return current
            started = Status("running", "queued", None, "", current.run + 1)
            self._status[name] = started
            thread = threading.Thread(target=self._run, args=(name,), daemon=True,
                                      name=f"rebuild {name}")
            self._threads[name] = thread
        thread.start()
        return started

    def wait(self, name: str, timeout: float | None = None) -> Status:
        thread = self._threads.get(name)
        if thread is not None:
            thread.join(timeout)
        return self.status(name)

    def _run(self, name: str) -> None:
        began = time.monotonic()
        try:
            report = build_course(self.root, self.work, jobs=self.jobs, only=[name],
                                  progress=_Progress(self, name), index=write_index,
                                  in_process=True)
            [outcome] = report.lessons
            state, message = outcome.status, outcome.reason or ""
        except PipelineError as exc:
            state, message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001  the page must hear about it, not a log
            state, message = "failed", f"{type(exc).__name__}: {exc}"
        self._update(name, state=state, step="", fraction=None, message=message,
                     seconds=round(time.monotonic() - began, 1))
