"""Caption I/O: tolerant SRT/WebVTT reading and writing.

The reader parses whatever can be parsed and reports the rest as issues with line
numbers; it never raises on bad content (only CaptionError for unreadable files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import CaptionError
from pipeline.models import Caption
from pipeline.timecode import format_srt, format_vtt, parse_timestamp


@dataclass(frozen=True, slots=True)
class ReadIssue:
    line: int
    message: str


_ARROW = re.compile(r"\s*-+>\s*")
_INDEX = re.compile(r"^\s*\d+\s*$")


def _timing(line: str) -> tuple[int | None, int | None] | None:
    """Split a timing line into (start, end) ms; None when the line is not a timing line."""
    if "-->" not in line and "->" not in line:
        return None
    parts = _ARROW.split(line.strip(), maxsplit=1)
    if len(parts) != 2:
        return None
    left, right = parts
    right = right.split()[0] if right.split() else ""  # drop cue settings / SRT X1.. coords
    return parse_timestamp(left), parse_timestamp(right)


def parse_srt_text(text: str, first_line: int = 1) -> tuple[list[Caption], list[ReadIssue]]:
    """Parse SRT-like text. ``first_line`` is the file line number of ``text``'s first line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    captions: list[Caption] = []
    issues: list[ReadIssue] = []
    i = 0
    pending_index: int | None = None
    while i < len(lines):
        raw = lines[i]
        lineno = first_line + i
        timing = _timing(raw)
        if timing is None:
            stripped = raw.strip()
            if _INDEX.match(raw) and i + 1 < len(lines) and _timing(lines[i + 1]) is not None:
                pending_index = int(stripped)
            elif stripped:
                issues.append(ReadIssue(lineno, f"text outside any caption ignored: {stripped[:60]!r}"))
            i += 1
            continue
        start, end = timing
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip():
            nxt_is_timing = _timing(lines[i]) is not None
            nxt_is_index = (
                _INDEX.match(lines[i]) is not None
                and i + 1 < len(lines)
                and _timing(lines[i + 1]) is not None
            )
            if nxt_is_timing or nxt_is_index:
                issues.append(ReadIssue(first_line + i, "missing blank line between captions"))
                break
            body.append(lines[i].rstrip())
            i += 1
        if start is None or end is None:
            issues.append(ReadIssue(lineno, f"bad timestamp, caption skipped: {raw.strip()!r}"))
            pending_index = None
            continue
        index = pending_index if pending_index is not None else len(captions) + 1
        pending_index = None
        if end < start:
            issues.append(ReadIssue(lineno, "caption ends before it starts"))
        if not any(part.strip() for part in body):
            issues.append(ReadIssue(lineno, "caption has no text"))
        captions.append(Caption(index, start, end, "\n".join(body).strip("\n"), lineno))
    return captions, issues


def to_srt(captions: list[Caption] | tuple[Caption, ...]) -> str:
    blocks = [
        f"{n}\n{format_srt(c.start)} --> {format_srt(c.end)}\n{c.text}\n"
        for n, c in enumerate(captions, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(captions: list[Caption] | tuple[Caption, ...]) -> str:
    blocks = [
        f"{format_vtt(c.start)} --> {format_vtt(c.end)}\n{c.text.replace('-->', '->')}\n"
        for c in captions
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def decode_caption_bytes(data: bytes) -> str:
    """Bytes of a caption file -> text: BOMs (UTF-8/16), then UTF-8, then Windows-1252."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_caption_text(text: str) -> tuple[list[Caption], list[ReadIssue]]:
    """SRT or WebVTT text -> captions. VTT header, NOTE and STYLE blocks are skipped."""
    if text.lstrip().startswith("WEBVTT"):
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        keep = []
        skipping = True  # the header block, then NOTE/STYLE/REGION blocks
        for line in lines:
            head = line.strip().split(" ")[0]
            if not line.strip():
                skipping = False
                keep.append("")
            elif skipping or (not keep or not keep[-1]) and head in ("NOTE", "STYLE", "REGION"):
                skipping = True
                keep.append("")
            else:
                keep.append(line)
        text = "\n".join(keep)
    return parse_srt_text(text)


def read_captions(path: str | Path) -> tuple[list[Caption], list[ReadIssue]]:
    """Read an SRT or WebVTT file. CaptionError when the file cannot be read at all."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaptionError(f"cannot read captions: {exc.strerror or exc}", path) from None
    return parse_caption_text(decode_caption_bytes(data))
