"""``build --watch``: poll scripts/ and media/ and rebuild when something changed.

A simple mtime/size poll (no extra dependency); the build itself is incremental, so a
rebuild redoes only the lessons whose inputs changed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """(size, mtime_ns) of every file under scripts/ and media/."""
    seen: Snapshot = {}
    for folder in (root / "scripts", root / "media"):
        for dirpath, dirs, files in os.walk(folder, followlinks=False):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                seen[path] = (st.st_size, st.st_mtime_ns)
    return seen


def watch(
    root: Path, rebuild: Callable[[], object], *, interval: float = 1.0,
    settle: float = 0.5, rounds: int | None = None,
) -> None:
    """Call ``rebuild()`` now and after every change, until KeyboardInterrupt.

    A change is acted on once the files stop changing for ``settle`` seconds (a recording
    still being copied). ``rounds`` bounds the polls (tests).
    """
    before = snapshot(root)  # before the build: a change made during it is seen next poll
    rebuild()
    polls = 0
    while rounds is None or polls < rounds:
        polls += 1
        time.sleep(interval)
        now = snapshot(root)
        if now == before:
            continue
        while True:  # let a copy in progress finish
            time.sleep(settle)
            later = snapshot(root)
            if later == now:
                break
            now = later
        changed = sorted(set(now.items()) ^ set(before.items()))
        log.info("changed: %s", ", ".join(sorted({path for path, _ in changed})))
        before = now
        rebuild()
