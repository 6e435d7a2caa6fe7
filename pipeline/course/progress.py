"""Build progress: one live rich display on a terminal, plain log lines otherwise (CI)."""

from __future__ import annotations

import logging
from typing import IO, TYPE_CHECKING

from pipeline.course.orchestrate import LessonOutcome

if TYPE_CHECKING:
    from rich.progress import TaskID

log = logging.getLogger(__name__)


class LogProgress:
    """One log line per lesson started/finished and per step (for CI logs)."""

    def __init__(self) -> None:
        self.total = self.done = 0
        self._steps: dict[str, tuple[str, int]] = {}

    def start(self, total: int, to_run: int) -> None:
        self.total = total
        log.info("%d lessons, %d to build", total, to_run)

    def lesson_started(self, name: str) -> None:
        log.info("%s: started", name)

    def step(self, name: str, step: str, fraction: float | None) -> None:
        quarter = -1 if fraction is None else int(fraction * 4)
        if self._steps.get(name) == (step, quarter):
            return
        self._steps[name] = (step, quarter)
        if fraction is None:
            log.info("%s: %s", name, step)
        else:
            log.info("%s: %s %d%%", name, step, quarter * 25)

    def lesson_done(self, outcome: LessonOutcome) -> None:
        self.done += 1
        self._steps.pop(outcome.name, None)
        if outcome.status == "cached":
            return  # counted in start(); 50 "cached" lines say nothing
        reason = f" ({outcome.reason})" if outcome.reason else ""
        level = logging.WARNING if outcome.status == "failed" else logging.INFO
        log.log(level, "[%d/%d] %s: %s%s", self.done, self.total, outcome.name,
                outcome.status, reason)

    def close(self) -> None:
        pass


class RichProgress:
    """A live display: lessons done/total, and each running lesson's step and fraction."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
            TextColumn("{task.fields[info]}", markup=False), TimeElapsedColumn(),
            console=Console(file=stream), transient=False,
        )
        self._overall: TaskID | None = None
        self._running: dict[str, TaskID] = {}

    def start(self, total: int, to_run: int) -> None:
        self._overall = self._progress.add_task("lessons", total=total, info=f"0/{total}")
        self._progress.start()

    def _task(self, name: str) -> TaskID:
        if name not in self._running:
            self._running[name] = self._progress.add_task(f"  {name}", total=None, info="")
        return self._running[name]

    def lesson_started(self, name: str) -> None:
        self._task(name)

    def step(self, name: str, step: str, fraction: float | None) -> None:
        task = self._task(name)
        if fraction is None:
            self._progress.update(task, description=f"  {name}: {step}", total=None, info="")
        else:
            self._progress.update(task, description=f"  {name}: {step}", total=100,
                                  completed=round(fraction * 100), info=f"{fraction:.0%}")

    def lesson_done(self, outcome: LessonOutcome) -> None:
        if (task := self._running.pop(outcome.name, None)) is not None:
            self._progress.remove_task(task)
        if outcome.status == "failed":
            from rich.text import Text

            self._progress.console.print(
                Text.assemble(("failed ", "bold red"), f"{outcome.name}: {outcome.reason}"))
        if self._overall is not None:
            self._progress.advance(self._overall)
            overall = self._progress.tasks[self._overall]
            self._progress.update(self._overall,
                                  info=f"{overall.completed:.0f}/{overall.total:.0f}")

    def close(self) -> None:
        self._progress.stop()
