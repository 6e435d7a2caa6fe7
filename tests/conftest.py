"""Shared test helpers: paths to the course scripts and to ../shared/realdata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pipeline.captions.profiles import Profile
from pipeline.models import Caption, Lesson, NarrationLine

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
REALDATA = ROOT.parent / "shared" / "realdata"


def tiny_script(title: str = "Tiny lesson", media: str = "tiny take.webm",
                cuts: str | None = None) -> str:
    """The tiny lesson the end-to-end tests render: a clap, three captions, a VISUAL TEXT
    after the first and a MAIN PANEL after the last. ``cuts``: its frontmatter ``cuts:``
    (``"off"`` for tests of the trim's timing alone)."""
    return f"""---
title: {title}{f"{chr(10)}cuts: {cuts}" if cuts else ""}
---
{media}

<span style="color:red">**CLAP**</span>

Hello there, welcome to the lesson.

`[VISUAL TEXT: first idea | second idea]`

Now the second part of the lesson begins here.

More words to finish.

`[MAIN PANEL: The closing panel]`

<span style="color:red">**CLAP**</span>
1
00:00:00,000 --> 00:00:02,000
Hello there, welcome to the lesson.

2
00:00:02,400 --> 00:00:05,000
Now the second part of the lesson begins here.

3
00:00:05,400 --> 00:00:06,600
More words to finish.
"""


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


def assert_timing_kept(before: Sequence[Caption], after: Sequence[Caption], profile: Profile) -> None:
    """Cleaning keeps timing except its two timing rules: a chained caption (gap under the
    profile's minimum) may end sooner, exactly the minimum gap before the next one starts;
    a caption read too fast may end later (extend_for_reading), never within the minimum
    gap of the next one nor past the maximum duration."""
    assert [c.start for c in after] == [c.start for c in before]
    for k, (old, new) in enumerate(zip(before, after, strict=True)):
        if new.end > old.end:
            assert new.end - new.start <= profile.max_duration
            if k + 1 < len(before):
                assert before[k + 1].start - new.end >= profile.min_gap
            continue
        if new.end != old.end:
            nxt = before[k + 1]
            assert 0 <= nxt.start - old.end < profile.min_gap
            assert new.end == nxt.start - profile.min_gap
            assert new.end - new.start >= profile.min_duration
