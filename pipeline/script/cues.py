"""Editor cues: ``[VISUAL TEXT: a | b | c]`` and ``[MAIN PANEL: ...]``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ftfy

from pipeline.models import Cue, CueKind

KINDS: dict[str, CueKind] = {"VISUAL TEXT": "visual_text", "MAIN PANEL": "main_panel"}

# Any all-caps bracket label followed by a colon opens a cue.
CUE_START = re.compile(r"\[\s*([A-Z][A-Z0-9 _-]{1,30}?)\s*:")
_CUE = re.compile(r"`?\[\s*(?P<label>[A-Z][A-Z0-9 _-]{1,30}?)\s*:\s*(?P<body>[^\]]*)\]`?")


@dataclass
class CueProblems:
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def clean_text(text: str) -> str:
    """Repair encoding damage (``TAM Ã— ARPU`` -> ``TAM × ARPU``) and tidy whitespace."""
    return re.sub(r"\s+", " ", ftfy.fix_text(text)).strip()


def make_cue(kind: CueKind, body: str, line: int) -> Cue:
    text = clean_text(body.strip(" `"))
    items = tuple(item.strip() for item in text.split("|") if item.strip())
    return Cue(kind, text, items, line)


def find_cues(line: str, lineno: int) -> tuple[list[Cue], str, CueProblems]:
    """Cues in ``line`` (in order), the line with them removed, and what was odd."""
    cues: list[Cue] = []
    problems = CueProblems()

    def take(match: re.Match[str]) -> str:
        label = re.sub(r"[\s_-]+", " ", match["label"]).strip()
        kind = KINDS.get(label)
        if kind is None:
            problems.notes.append(match.group(0).strip("` []"))
            problems.warnings.append(f"unknown cue kind [{label}: ...] kept as a note")
        elif not match["body"].strip():
            problems.warnings.append(f"empty [{label}] cue ignored")
        else:
            cues.append(make_cue(kind, match["body"], lineno))
        return " "

    rest = _CUE.sub(take, line)
    if opened := CUE_START.search(rest):
        label = re.sub(r"[\s_-]+", " ", opened.group(1)).strip()
        body = rest[opened.end():]
        problems.warnings.append(f"cue [{label}: ...] is never closed with ']'")
        kind = KINDS.get(label)
        if kind is not None and body.strip(" `"):
            cues.append(make_cue(kind, body, lineno))
        rest = rest[: opened.start()]
    return cues, rest, problems
