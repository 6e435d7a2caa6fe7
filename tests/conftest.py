"""Shared test helpers: paths to the course scripts and to ../shared/realdata."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models import Lesson, NarrationLine

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not beside this checkout")
    return REALDATA


def narration_lesson(*lines: str) -> Lesson:
    """A lesson that is only narration, one line each (for caption rules and QA)."""
    return Lesson(path=Path("t.md"), title="t", tags=(), media=(), claps=(), cues=(),
                  captions=(), notes=(), warnings=(),
                  narration=tuple(NarrationLine(i + 1, t) for i, t in enumerate(lines)))
