"""Editor overrides: cue times pinned by hand.

An editor pins a cue in the script's frontmatter or in a sidecar file beside the script
(``<script stem>.cues.yaml``), under ``cue_times``. A pin names its cue by the cue's text
(case and spacing do not matter) or by the short id the report shows, never by line
number, so it survives edits elsewhere in the script::

    cue_times:
      - cue: "beachhead = focused | winnable | big enough"
        at: "1:33.400"          # caption timeline: seconds (93.4), m:ss.mmm or h:mm:ss.mmm
      - id: 3f2a9c              # the cue's id in the alignment report
        at: 93.4
        until: 98               # optional: when the overlay is taken off

The sidecar may hold the list alone. Sidecar pins win over frontmatter pins for the same cue.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ScriptError
from pipeline.models import Cue, Lesson
from pipeline.timecode import format_clock, parse_timestamp, to_ms

KEY = "cue_times"
SIDECAR_SUFFIX = ".cues.yaml"


@dataclass(frozen=True, slots=True)
class Override:
    start: int  # ms, caption timeline
    end: int | None
    text: str | None  # the cue's text, normalized (None when pinned by id)
    id: str | None
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def names(self, ident: str, text: str) -> bool:
        """Whether this pin is for the cue whose short id is ``ident`` and text ``text``."""
        return self.id == ident if self.id is not None else self.text == normalize_text(text)


def normalize_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def cue_id(cue: Cue, occurrence: int = 1) -> str:
    """Short stable id of a cue: a hash of its kind and text (``-2`` for a repeated cue)."""
    digest = hashlib.sha1(f"{cue.kind}:{normalize_text(cue.text)}".encode()).hexdigest()[:6]
    return digest if occurrence == 1 else f"{digest}-{occurrence}"


def cue_ids(cues: tuple[Cue, ...]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for cue in cues:
        base = cue_id(cue)
        seen[base] = seen.get(base, 0) + 1
        out.append(cue_id(cue, seen[base]))
    return out


def sidecar_path(script: Path) -> Path:
    return script.with_name(script.stem + SIDECAR_SUFFIX)


def load_overrides(lesson: Lesson) -> tuple[Override, ...]:
    """Pins from the lesson's frontmatter, then from its sidecar file (if any)."""
    found: list[Override] = []
    if KEY in lesson.frontmatter:
        found += _from_frontmatter(lesson)
    side = sidecar_path(lesson.path)
    if side.is_file():
        found += read_sidecar(side)
    return tuple(found)


def read_sidecar(path: Path) -> list[Override]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"cannot read cue overrides: {exc}", path) from None
    return parse_overrides(text, path, first_line=1, top_level=True)


def _from_frontmatter(lesson: Lesson) -> list[Override]:
    try:
        lines = lesson.path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    if lines and lines[0].lstrip("\ufeff").strip() == "---":
        end = next((k for k in range(1, len(lines)) if lines[k].strip() in ("---", "...")),
                   len(lines))
        overrides = parse_overrides("\n".join(lines[1:end]), lesson.path, first_line=2,
                                    top_level=False)
        return overrides
    # Frontmatter given without a file to point into (tests, generated lessons).
    return parse_overrides(yaml.safe_dump({KEY: lesson.frontmatter[KEY]}), lesson.path, 1,
                           top_level=False)


def parse_overrides(text: str, path: str | Path, first_line: int,
                    top_level: bool) -> list[Override]:
    """Parse ``cue_times`` from YAML ``text``; ``first_line``: file line of text's line 1."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + (mark.line if mark is not None else 0)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScriptError(f"cue overrides are not valid YAML: {problem}", path, line) from None
    if root is None:
        return []
    node: yaml.Node = root
    if isinstance(root, yaml.MappingNode):
        found = next((v for k, v in root.value if k.value == KEY), None)
        if found is None:
            if top_level and not any(k.value == "cuts" for k, _ in root.value):  # cut choices
                # alone (pipeline.cuts.read_choices) need no cue_times
                raise ScriptError(f"cue overrides file needs a '{KEY}:' list", path, first_line)
            return []
        node = found
    elif not top_level:
        return []
    where = first_line + node.start_mark.line
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise ScriptError(f"'{KEY}' must be a list of {{cue: TEXT, at: TIME}}", path, where)
    return [_entry(item, path, first_line) for item in node.value]


def _entry(node: yaml.Node, path: str | Path, first_line: int) -> Override:
    line = first_line + node.start_mark.line
    value: Any = yaml.safe_load(yaml.serialize(node))
    if not isinstance(value, dict):
        raise ScriptError("a cue override must be a mapping like {cue: TEXT, at: TIME}", path, line)
    unknown = set(value) - {"cue", "id", "at", "until"}
    if unknown:
        raise ScriptError(f"unknown key in cue override: {', '.join(sorted(map(str, unknown)))}",
                          path, line)
    text, ident = value.get("cue"), value.get("id")
    if (text is None) == (ident is None):
        raise ScriptError("a cue override names its cue by 'cue: TEXT' or 'id: ID' (one of them)",
                          path, line)
    if "at" not in value:
        raise ScriptError("a cue override needs 'at: TIME'", path, line)
    start = _time(value["at"], path, line)
    end = _time(value["until"], path, line) if value.get("until") is not None else None
    if end is not None and end <= start:
        raise ScriptError("cue override ends ('until') before it starts ('at')", path, line)
    return Override(start, end, normalize_text(str(text)) if text is not None else None,
                    str(ident).strip().lower() if ident is not None else None, str(path), line)


def _time(value: Any, path: str | Path, line: int) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, int | float) and value >= 0:
        return to_ms(float(value))
    if isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", stripped):
            return to_ms(float(stripped))
        ms = parse_timestamp(stripped)
        if ms is not None:
            return ms
    raise ScriptError(f"bad cue time {value!r}: use seconds (93.4) or m:ss.mmm", path, line)


def override_line(cue: Cue, start: int, ident: str | None = None) -> str:
    """The line an editor copies into ``cue_times`` to pin ``cue`` at ``start``: by its
    text, or by ``ident`` when another cue has the same text."""
    key = f"id: {ident}" if ident else f"cue: {yaml_quote(cue.text)}"
    return f'- {{{key}, at: "{format_clock(start)}"}}'


def _yaml_printable(char: str) -> bool:
    code = ord(char)
    return (0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or code >= 0x10000) and char not in "\u2028\u2029"


def yaml_quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that reads back exactly."""
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    return '"' + "".join(c if _yaml_printable(c) else
                         (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                         for c in body) + '"'
