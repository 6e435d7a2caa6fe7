"""Lesson script (markdown + YAML frontmatter) -> Lesson.

What authors really write (see scripts/): frontmatter with title and tags, headings,
narration paragraphs, a line naming each recording, red CLAP markers, editor cues in
brackets (often in backticks), production notes in red spans or a NOTES section, and
sometimes the recorded take's captions pasted as an SRT block after the final CLAP.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import frontmatter
import ftfy
import yaml
from markdown_it import MarkdownIt

from pipeline.captions.io import decode_caption_bytes, parse_srt_text
from pipeline.errors import ScriptError
from pipeline.models import (
    Caption,
    Clap,
    Cue,
    Lesson,
    MediaRef,
    NarrationLine,
    Note,
    ParseWarning,
)
from pipeline.script.cues import CUE_START, KINDS, find_cues

MEDIA_EXTENSIONS = ("webm", "mp4", "mkv", "mov", "m4v", "avi", "wav", "flac", "mp3", "m4a", "ogg")
_MEDIA_LINE = re.compile(
    r"^[`*_\s]*(?P<name>[^`*<>\[\]|]*?\.(?:" + "|".join(MEDIA_EXTENSIONS) + r"))[`*_\s]*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RED_SPAN = re.compile(
    r"<span[^>]*color\s*:\s*red[^>]*>(?P<body>.*?)</span>", re.IGNORECASE | re.DOTALL
)
_TAGS = re.compile(r"<[^>]+>")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SECTION_ID = re.compile(r"^[*_`\s]*[A-Z][A-Za-z]+(?:\.[A-Za-z0-9]+)+[*_`\s]*$")
_BOLD_LABEL_LINE = re.compile(r"^\s*\*\*[A-Z][\w ]{0,30}:[^*]*\*\*\s*$")
_NOTES_MARKER = re.compile(r"^[#*_\s]*notes?[*_\s:]*$", re.IGNORECASE)
_BACKTICKS_ONLY = re.compile(r"^\s*`+\s*$")

_md = MarkdownIt("commonmark")


def plain_text(markdown: str) -> str:
    """Inline markdown -> the words a person would read (emphasis, code, tags, links removed)."""
    tokens = _md.parseInline(markdown)
    parts: list[str] = []
    for token in tokens:
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    text = "".join(parts)
    return re.sub(r"\s+", " ", ftfy.fix_text(text)).strip()


def _is_clap(line: str) -> bool:
    words = re.sub(r"[^a-z]", "", _TAGS.sub("", line).lower())
    return words == "clap"


def _decode(data: bytes, path: Path, warnings: list[ParseWarning]) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        warnings.append(ParseWarning(line, "file is not UTF-8; read it as Windows-1252"))
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        warnings.append(ParseWarning(line, "NUL characters removed"))
        text = text.replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _frontmatter(lines: list[str], path: Path) -> tuple[dict[str, Any], int]:
    """Return (metadata, index of the first body line). No frontmatter: ({}, 0)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise ScriptError("frontmatter opened with '---' is never closed", path, 1)
    source = "\n".join(lines[1:end])
    try:
        meta = frontmatter.YAMLHandler().load(source) if source.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScriptError(f"frontmatter is not valid YAML: {problem}", path, line) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ScriptError("frontmatter must be a mapping of keys to values", path, 2)
    return meta, end + 1


def _tags(meta: dict[str, Any], path: Path) -> tuple[str, ...]:
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[,\s]+", tags) if t]
    if not isinstance(tags, list):
        raise ScriptError("frontmatter 'tags' must be a list", path, 2)
    return tuple(str(t) for t in tags)


def _srt_start(lines: list[str], after: int) -> int | None:
    """Index of the embedded SRT block's first line after line index ``after``, if any."""
    for i in range(after + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped:
            continue
        if "-->" in stripped:
            return i
        if stripped.isdigit() and i + 1 < len(lines) and "-->" in lines[i + 1]:
            return i
        return None
    return None


_SRT_INDEX = re.compile(r"^\d+$")
CAPTION_SUFFIXES = (".srt", ".vtt")
_KNOWN_CUE = re.compile(r"\[\s*(?:" + "|".join(KINDS) + r")\s*:")


def is_script(path: str | Path) -> bool:
    """Whether ``path`` is a lesson script, judged by its content, whatever its extension.

    A file with frontmatter, a CLAP marker or an editor cue is a script. Without those, a
    file that starts as captions (``WEBVTT``, an SRT index or a timing line) is captions,
    and so is an empty file or a broken ``.srt``/``.vtt`` (the caption reader says what is
    wrong with it); anything else (headings, narration around an SRT block, a pasted
    transcript) is a script. A file that cannot be read is judged by its name, so that the
    reader it goes to says why in its own words.
    """
    caption_name = Path(path).suffix.lower() in CAPTION_SUFFIXES
    try:
        data = Path(path).read_bytes()
    except OSError:
        return not caption_name
    text = decode_caption_bytes(data)
    lines = [line.strip() for line in text.splitlines()]
    content = [line for line in lines if line]
    if not content:
        return False
    if content[0] == "---":  # frontmatter
        return True
    if any(_is_clap(line) or _KNOWN_CUE.search(line) for line in content):
        return True
    first = content[0]
    second = content[1] if len(content) > 1 else ""
    starts_as_captions = (first.startswith("WEBVTT") or "-->" in first
                          or (_SRT_INDEX.match(first) is not None and "-->" in second))
    return not starts_as_captions and not caption_name


def parse_script(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read script: {exc.strerror or exc}", path) from None
    return parse_text(data, path)


def parse_text(data: bytes | str, path: str | Path) -> Lesson:
    path = Path(path)
    warnings: list[ParseWarning] = []
    text = _decode(data, path, warnings) if isinstance(data, bytes) else data
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, body_start = _frontmatter(lines, path)

    media: list[MediaRef] = []
    claps: list[Clap] = []
    cues: list[Cue] = []
    notes: list[Note] = []
    narration: list[NarrationLine] = []
    captions: tuple[Caption, ...] = ()
    first_heading: str | None = None
    in_notes = False

    clap_indexes = [i for i in range(body_start, len(lines)) if _is_clap(lines[i])]
    srt_at = _srt_start(lines, clap_indexes[-1]) if clap_indexes else None
    end = srt_at if srt_at is not None else len(lines)
    if srt_at is not None:
        parsed, issues = parse_srt_text("\n".join(lines[srt_at:]), first_line=srt_at + 1)
        captions = tuple(parsed)
        warnings += [ParseWarning(issue.line, issue.message) for issue in issues]

    i = body_start
    while i < end:
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or _BACKTICKS_ONLY.match(raw):
            continue
        if heading := _HEADING.match(raw):
            title = plain_text(heading.group(2))
            first_heading = first_heading or title
            in_notes = bool(_NOTES_MARKER.match(title))
            continue
        if _is_clap(raw):
            claps.append(Clap(lineno))
            continue
        if stripped.startswith("<!--"):
            notes.append(Note(lineno, stripped))
            continue
        if opened := CUE_START.search(raw):
            # A cue may continue on following lines (a slipped "]" or closing backtick).
            joined, consumed = raw, 0
            while "]" not in joined[opened.end():] and i + consumed < end:
                nxt = lines[i + consumed]
                if not nxt.strip():
                    break
                joined += " " + nxt.strip()
                consumed += 1
            found, rest, problems = find_cues(joined, lineno)
            if "]" in joined[opened.end():]:
                i += consumed
            cues += found
            notes += [Note(lineno, text) for text in problems.notes]
            warnings += [ParseWarning(lineno, msg) for msg in problems.warnings]
            raw = rest
            stripped = raw.strip()
            if not plain_text(raw).strip(" `"):
                continue
        red = [m.group("body") for m in _RED_SPAN.finditer(raw)]
        if red:
            notes += [Note(lineno, plain_text(body)) for body in red if plain_text(body)]
            raw = _RED_SPAN.sub(" ", raw)
            stripped = raw.strip()
            if not plain_text(raw):
                continue
        if _NOTES_MARKER.match(stripped):
            in_notes = True
            continue
        if in_notes:
            notes.append(Note(lineno, plain_text(_LIST_MARKER.sub("", raw))))
            continue
        if (match := _MEDIA_LINE.match(raw)) and len(match["name"].split()) <= 8:
            media.append(MediaRef(match["name"].strip(), lineno))
            continue
        if _SECTION_ID.match(stripped) or _BOLD_LABEL_LINE.match(stripped):
            notes.append(Note(lineno, plain_text(stripped)))
            continue
        spoken = plain_text(_LIST_MARKER.sub("", raw))
        if spoken:
            narration.append(NarrationLine(lineno, spoken))

    if not meta:
        source = f"first heading {first_heading!r}" if first_heading else "the file name"
        warnings.insert(0, ParseWarning(1, f"no frontmatter: title taken from {source}"))
    title = str(meta.get("title") or first_heading or _title_from_name(path))
    if not any(line.strip() for line in lines):
        warnings.append(ParseWarning(1, "script is empty"))
    return Lesson(
        path=path,
        title=title,
        tags=_tags(meta, path),
        media=tuple(media),
        claps=tuple(claps),
        cues=tuple(cues),
        captions=captions,
        notes=tuple(notes),
        warnings=tuple(sorted(warnings, key=lambda w: w.line)),
        narration=tuple(narration),
        frontmatter=meta,
    )


def _title_from_name(path: Path) -> str:
    words = re.sub(r"^[\d_\-\s]+", "", path.stem).replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else path.stem
