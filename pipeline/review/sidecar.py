"""Pinning cues in ``<script stem>.cues.yaml``, the sidecar align reads (never the script),
and the editor's cut choices in its ``cuts:`` list (pipeline.cuts.read_choices reads them).

Each change reads the file, replaces the entries that name the cue (by id or by text, as
align matches them), and writes the whole file atomically. The file's version (a hash of its
bytes) goes out with every page; a write that finds another version still wins (the last
write wins) and says so, so a second tab or a hand edit is reported, never corrupted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.align.overrides import (
    KEY,
    Override,
    parse_overrides,
    sidecar_path,
    yaml_quote,
)
from pipeline.atomic import write_text
from pipeline.cuts import CHOICES_KEY, Choice, CutsError, read_choices
from pipeline.errors import ScriptError
from pipeline.models import Cue
from pipeline.timecode import format_clock

ABSENT = "absent"  # the version of a sidecar that does not exist
HEADER = ("# Cue times pinned by an editor (python -m pipeline review, or by hand).\n"
          "# Times are on the caption timeline; see pipeline/align/overrides.py.\n")

_threads = threading.Lock()


@dataclass(frozen=True, slots=True)
class Pin:
    """What the editor asks for one cue: pinned at ``at`` (until ``until``), or unpinned."""

    at: int | None  # ms, caption timeline; None: remove the cue's pin
    until: int | None = None


@dataclass(frozen=True, slots=True)
class Written:
    version: str  # of the file now on disk
    conflict: bool  # the file had changed since the version the editor saw
    path: Path


def version_of(data: bytes | None) -> str:
    return ABSENT if data is None else hashlib.sha256(data).hexdigest()[:16]


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def current_version(script: Path) -> str:
    return version_of(read_bytes(sidecar_path(script)))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time: threads of this app, and other processes (flock on the folder)."""
    with _threads:
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _entries(text: str, path: Path) -> tuple[list[tuple[dict[str, Any], Override]],
                                             dict[str, Any]]:
    """The sidecar's pins as written, each with what align reads of it (its own parser
    validates the file), and any other keys."""
    if not text.strip():
        return [], {}
    pins = parse_overrides(text, path, first_line=1, top_level=True)
    doc = yaml.safe_load(text)
    if doc is None:
        return [], {}
    if isinstance(doc, list):
        return list(zip(doc, pins, strict=True)), {}
    others = {k: v for k, v in doc.items() if k != KEY}
    return list(zip(doc.get(KEY) or [], pins, strict=True)), others


def entry_line(entry: dict[str, Any]) -> str:
    """One pin as a flow mapping line: ``- {cue: "text", at: "0:03.400", until: ...}``."""
    parts = [f"id: {yaml_quote(str(entry['id']))}" if entry.get("id") is not None
             else f"cue: {yaml_quote(str(entry['cue']))}"]
    for key in ("at", "until"):
        value = entry.get(key)
        if value is None:
            continue
        parts.append(f"{key}: {yaml_quote(value)}" if isinstance(value, str) else
                     f"{key}: {value}")
    return "- {" + ", ".join(parts) + "}"


CUT_KEYS = ("restore", "at", "from", "to", "note")


def cut_line(entry: dict[str, Any]) -> str:
    """One cut choice as a flow mapping line: ``- {at: "0:03.400", from: ..., to: ...}``."""
    parts = [f"{key}: {yaml_quote(value) if isinstance(value, str) else value}"
             for key in CUT_KEYS if (value := entry.get(key)) is not None]
    return "- {" + ", ".join(parts) + "}"


def render(entries: list[dict[str, Any]], others: dict[str, Any]) -> str:
    """The sidecar: other keys, the pins, then the cut choices (one flow line each)."""
    others = dict(others)
    cuts = others.pop(CHOICES_KEY, None)
    if cuts is not None and not (isinstance(cuts, list)
                                 and all(isinstance(c, dict) for c in cuts)):
        others[CHOICES_KEY], cuts = cuts, None  # not ours to reformat (read_choices reports it)
    head = yaml.safe_dump(others, allow_unicode=True, sort_keys=False) if others else ""
    body = "\n".join(entry_line(e) for e in entries)
    out = HEADER + head + f"{KEY}:" + ("\n" + body + "\n" if entries else " []\n")
    if cuts:
        out += f"{CHOICES_KEY}:\n" + "".join(cut_line(c) + "\n" for c in cuts)
    return out


def _rewrite(script: Path, seen: str | None,
             change: Callable[[Path, str, list[tuple[dict[str, Any], Override]],
                               dict[str, Any]], str]) -> Written:
    """The script's sidecar rewritten under the lock: ``change(path, text, entries,
    others)`` gives the new text, written (atomically) only if align can read it; ``seen``:
    the version the editor saw. A sidecar align could not read is refused (ScriptError with
    its line), not rewritten."""
    path = sidecar_path(script)
    with _locked(path.parent):
        data = read_bytes(path)
        before = version_of(data)
        text = "" if data is None else data.decode("utf-8")
        entries, others = _entries(text, path)
        out = change(path, text, entries, others)
        parse_overrides(out, path, first_line=1, top_level=True)  # what align will read
        write_text(path, out)
        return Written(version_of(out.encode("utf-8")), seen is not None and seen != before,
                       path)


def write_pin(script: Path, cue: Cue, ident: str, pin: Pin, *, by_id: bool,
              seen: str | None) -> Written:
    """Pin (or unpin) one cue in the script's sidecar; ``seen``: the version the editor saw.

    ``by_id``: name the cue by its id (another cue has the same text), else by its text.
    """
    def change(path: Path, _text: str, entries: list[tuple[dict[str, Any], Override]],
               others: dict[str, Any]) -> str:
        new: dict[str, Any] | None = None
        if pin.at is not None:
            if pin.until is not None and pin.until <= pin.at:
                raise ScriptError("a cue's end must come after its start", path)
            new = {"id": ident} if by_id else {"cue": cue.text}
            new["at"] = format_clock(pin.at)
            if pin.until is not None:
                new["until"] = format_clock(pin.until)
        kept: list[dict[str, Any]] = []
        for entry, parsed in entries:
            if parsed.names(ident, cue.text):
                if new is not None:
                    kept.append(new)
                    new = None
                continue
            kept.append(entry)
        if new is not None:
            kept.append(new)
        return render(kept, others)

    return _rewrite(script, seen, change)


def write_cut(script: Path, names: Callable[[Choice], bool], new: dict[str, Any] | None, *,
              seen: str | None) -> Written:
    """Replace the cut choices ``names`` picks (those naming one cut) by ``new`` (a
    ``cuts:`` entry: ``{restore}``, ``{at, from, to}`` or ``{from, to}``, times as
    ``m:ss.mmm``; None: only remove them), the pins kept as they are. The file is written
    only if align and the build can read it back: a bad choice (an overlap, an end before
    its start) is a CutsError naming the line, and the file on disk is left as it was."""
    def change(path: Path, text: str, entries: list[tuple[dict[str, Any], Override]],
               others: dict[str, Any]) -> str:
        choices = read_choices(path, text) if text.strip() else []
        raw = others.get(CHOICES_KEY) or []
        kept = [entry for entry, choice in zip(raw, choices, strict=True) if not names(choice)]
        if new is not None:
            kept.append(new)
        out = render([e for e, _ in entries], {**others, CHOICES_KEY: kept})
        try:
            read_choices(path, out)  # what the build will read
        except CutsError as exc:
            raise CutsError(f"{exc.message} (not written)", path) from None
        return out

    return _rewrite(script, seen, change)
