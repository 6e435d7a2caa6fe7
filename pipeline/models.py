"""Frozen data shared by the stages. Times are integer milliseconds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.timecode import seconds

CueKind = Literal["visual_text", "main_panel"]


@dataclass(frozen=True, slots=True)
class Caption:
    index: int
    start: int  # ms
    end: int  # ms
    text: str
    line: int = 0  # source line of the caption's timing line (0: not from a file)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "start": seconds(self.start), "end": seconds(self.end),
                "text": self.text}


@dataclass(frozen=True, slots=True)
class MediaRef:
    name: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "line": self.line}


@dataclass(frozen=True, slots=True)
class Clap:
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line}


@dataclass(frozen=True, slots=True)
class Cue:
    kind: CueKind
    text: str  # content with encoding damage repaired
    items: tuple[str, ...]  # text split on "|"
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "items": list(self.items), "line": self.line}


@dataclass(frozen=True, slots=True)
class Note:
    line: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text}


@dataclass(frozen=True, slots=True)
class ParseWarning:
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True, slots=True)
class NarrationLine:
    """Text the presenter is meant to speak, markdown stripped, with its script line."""

    line: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text}


@dataclass(frozen=True, slots=True)
class Lesson:
    path: Path
    title: str
    tags: tuple[str, ...]
    media: tuple[MediaRef, ...]
    claps: tuple[Clap, ...]
    cues: tuple[Cue, ...]
    captions: tuple[Caption, ...]
    notes: tuple[Note, ...]
    warnings: tuple[ParseWarning, ...]
    narration: tuple[NarrationLine, ...]
    frontmatter: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        """The lesson's name: the script's file name without extension."""
        return self.path.stem

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "title": self.title,
            "tags": list(self.tags),
            "media": [m.to_json() for m in self.media],
            "claps": [c.to_json() for c in self.claps],
            "cues": [c.to_json() for c in self.cues],
            "captions": [c.to_json() for c in self.captions],
            "notes": [n.to_json() for n in self.notes],
            "warnings": [w.to_json() for w in self.warnings],
            "narration": [n.to_json() for n in self.narration],
        }
