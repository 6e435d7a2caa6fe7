"""Shared test helpers: paths to the course scripts and to ../shared/realdata; the guard
that keeps tests off the working tree's course (its output/, media/, cache, scripts/)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pipeline.captions.profiles import Profile
from pipeline.models import Caption, Lesson, NarrationLine

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"

# The course scripts, copied (the .md files only) into a course of their own for the
# session: a command run on them cannot find the recordings, step cache, settings, caption
# files or review pins the working tree holds beside the repository's scripts/ (`make demo`
# writes media/ and .cache/, a review session writes scripts/*.cues.yaml).
_COURSE = Path(tempfile.mkdtemp(prefix="course-"))
atexit.register(shutil.rmtree, _COURSE, True)
SCRIPTS = _COURSE / "scripts"
SCRIPTS.mkdir()
for _script in (ROOT / "scripts").glob("*.md"):
    shutil.copy2(_script, SCRIPTS / _script.name)

# What a test must not touch: the repository's own course.
GUARDED = ("output", "media", ".cache", "scripts")


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for name in GUARDED:
        for p in [root / name, *(root / name).rglob("*")] if (root / name).exists() else []:
            st = p.lstat()
            found[str(p.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    return found


@pytest.fixture(scope="session", autouse=True)
def _off_the_working_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test runs in an empty current folder (a command's defaults, like render's
    ./media/panels, find nothing of the repository's), and the session fails if a test
    wrote to the repository's output/, media/, .cache/ or scripts/."""
    before = _listing(ROOT)
    cwd = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(cwd)
    after = _listing(ROOT)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"tests wrote into the repository's own course: {changed[:10]}"


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
