"""Find the course's lessons and the recordings each one names.

A lesson is a script ``scripts/<name>.md``. Each recording it references is looked up in
media/: the exact name first, then a forgiving match (unicode normalization, case, runs of
spaces/underscores), then the same two in media/demo/. A script that names no recording
looks for ``<name>`` in any of RECORDING_EXTENSIONS (two of them is ambiguous). A reference that would leave media/ (``../``, absolute paths,
a symlink pointing outside) is refused. Problems are reported per lesson, never raised.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

log = logging.getLogger(__name__)

DEMO = "demo"
# Containers a script without recording names is looked up in (the output is always WebM).
RECORDING_EXTENSIONS = (".webm", ".mp4", ".mov", ".mkv")


@dataclass(frozen=True, slots=True)
class LessonJob:
    """One lesson to build: its script, its recordings in order, or why it cannot be built."""

    name: str
    script: Path
    media: tuple[Path, ...]
    problem: str | None = None  # set: the lesson is skipped with this reason


@dataclass(frozen=True, slots=True)
class ScriptRefs:
    """What discovery needs from a script: its recording names, in order."""

    media: tuple[str, ...]
    error: str | None = None  # the script could not be parsed (the build reports it failed)


RefsReader = Callable[[Path], ScriptRefs]


def read_refs(script: Path) -> ScriptRefs:
    """Parse ``script`` for its media references (the uncached way)."""
    from pipeline.errors import PipelineError
    from pipeline.script.parse import parse_script

    try:
        lesson = parse_script(script)
    except PipelineError as exc:
        return ScriptRefs((), str(exc))
    return ScriptRefs(tuple(ref.name for ref in lesson.media))


def normalize(name: str) -> str:
    """The forgiving form of a file name: NFKC, case-folded, spaces/underscores collapsed."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s_]+", " ", text).strip()


def lesson_name_problem(name: str) -> str | None:
    """Why a script's name cannot name an output folder, or None."""
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "script name contains control characters (newline, tab...)"
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        return "script name is not a plain file name"
    return None


def find_scripts(scripts: Path) -> list[Path]:
    """Lesson scripts in name order; hidden files (editor temp files) are ignored."""
    if not scripts.is_dir():
        return []
    found = [Path(e.path) for e in os.scandir(scripts)
             if e.name.endswith(".md") and not e.name.startswith(".") and e.is_file()]
    return sorted(found, key=lambda p: p.name)


def discover(
    root: Path, *, only: Sequence[str] | None = None, refs: RefsReader = read_refs,
) -> list[LessonJob]:
    """Every lesson under ``root`` (scripts/, media/) with its recordings resolved."""
    media_root = root / "media"
    finder = MediaFinder(media_root)
    jobs: list[LessonJob] = []
    for script in find_scripts(root / "scripts"):
        name = script.stem
        if only and name not in only:
            continue
        if problem := lesson_name_problem(name):
            jobs.append(LessonJob(name, script, (), problem))
            continue
        found = refs(script)
        if found.error is not None:
            # Not skipped: the build runs it so the failure is reported with its reason.
            jobs.append(LessonJob(name, script, ()))
            continue
        jobs.append(resolve_lesson(name, script, found.media, finder))
    return jobs


def resolve_lesson(
    name: str, script: Path, refs: Iterable[str], finder: MediaFinder,
) -> LessonJob:
    refs = tuple(refs)
    if not refs:
        path, problem = finder.find_any(name, RECORDING_EXTENSIONS)
        if path is None:
            tried = "/".join(RECORDING_EXTENSIONS)
            why = "script names no recording" + (
                f" and no {name!r} with {tried} is in media/" if problem == "not found"
                else f"; {problem}")
            return LessonJob(name, script, (), why)
        return LessonJob(name, script, (path,))
    paths: list[Path] = []
    for ref in refs:
        path, problem = finder.find(ref)
        if path is None:
            return LessonJob(name, script, (), f"recording {ref!r}: {problem}")
        paths.append(path)
    return LessonJob(name, script, tuple(paths))


class MediaFinder:
    """Resolves recording names inside one media folder, refusing anything outside it."""

    def __init__(self, media: Path):
        self.media = media
        self._real = Path(os.path.realpath(media))
        self._listings: dict[Path, dict[str, list[str]]] = {}

    def find(self, ref: str) -> tuple[Path | None, str]:
        """(path, "") when found, else (None, why)."""
        if problem := _unsafe(ref):
            return None, problem
        rel = PurePosixPath(ref.replace("\\", "/"))
        for folder in (self.media / rel.parent, self.media / DEMO / rel.parent):
            path, problem = self._find_in(folder, rel.name)
            if path is not None or problem != "not found":
                return path, problem
        return None, "not found"

    def find_any(self, stem: str, extensions: Sequence[str]) -> tuple[Path | None, str]:
        """``stem`` with any of ``extensions``: media/ first, then media/demo/; two
        recordings in the same folder are ambiguous."""
        if problem := _unsafe(stem):
            return None, problem
        for folder in (self.media, self.media / DEMO):
            found = []
            for ext in extensions:
                path, problem = self._find_in(folder, stem + ext)
                if path is None and problem != "not found":
                    return None, problem
                if path is not None:
                    found.append(path)
            if len(found) > 1:
                shown = ", ".join(repr(p.name) for p in found)
                return None, f"ambiguous: matches {shown} in {folder}"
            if found:
                return found[0], ""
        return None, "not found"

    def _find_in(self, folder: Path, name: str) -> tuple[Path | None, str]:
        exact = folder / name
        if self._is_recording(exact):
            return self._inside(exact)
        matches = self._listing(folder).get(normalize(name), [])
        matches = [m for m in matches if self._is_recording(folder / m)]
        if len(matches) > 1:
            shown = ", ".join(repr(m) for m in sorted(matches))
            return None, f"ambiguous: matches {shown} in {folder}"
        if matches:
            return self._inside(folder / matches[0])
        return None, "not found"

    def _inside(self, path: Path) -> tuple[Path | None, str]:
        real = Path(os.path.realpath(path))
        if real != self._real and self._real not in real.parents:
            return None, "refused: resolves outside media/ (a symlink?)"
        return path, ""

    def _listing(self, folder: Path) -> dict[str, list[str]]:
        if folder not in self._listings:
            index: dict[str, list[str]] = {}
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            for entry in names:
                if not entry.startswith("."):
                    index.setdefault(normalize(entry), []).append(entry)
            self._listings[folder] = index
        return self._listings[folder]

    @staticmethod
    def _is_recording(path: Path) -> bool:
        try:
            return path.is_file()
        except OSError:  # name too long, bad bytes
            return False


def _unsafe(ref: str) -> str | None:
    if not ref.strip():
        return "empty recording name"
    if any(unicodedata.category(ch) == "Cc" for ch in ref):
        return "refused: recording name contains control characters"
    if (PurePosixPath(ref).is_absolute() or PureWindowsPath(ref).is_absolute()
            or PureWindowsPath(ref).drive or ref.startswith("~")):
        return "refused: absolute path (recordings must be inside media/)"
    if ".." in PurePosixPath(ref.replace("\\", "/")).parts:
        return "refused: '..' would leave media/"
    return None
