"""Caption I/O: tolerant SRT/WebVTT reading and writing.

The reader parses whatever can be parsed and reports the rest as issues with line
numbers; it never raises on bad content. Only a file that holds no captions at all
(empty, or no timing line anywhere) is refused with a CaptionError naming file and line.

* WebVTT follows the WHATWG parsing algorithm (block collection, strict timestamps), so
  the cue counts match the web-platform-tests; a missing signature is reported, not fatal.
* SRT is read leniently (``0:00:05``, ``00:00:013,567``, ``.`` separators, missing index
  lines, missing blank lines), because that is what real SRT files look like.
* Cue text is stored as plain text: HTML/WebVTT tags and ASS overrides are removed, the
  text inside them kept, entities decoded.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic import write_text
from pipeline.errors import CaptionError
from pipeline.models import Caption, Lesson
from pipeline.timecode import format_srt, format_vtt, parse_timestamp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReadIssue:
    line: int
    message: str


# --- text -------------------------------------------------------------------------------

_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<\d[\d:.]*>")  # <b>, </i>, <c.red>, <v Bob>, <00:01.000>
_ASS = re.compile(
    r" ?\{\\[^{}\n]*\} ?"
)  # {\an8}, {\ an 2}; "{ \an2}" is not a tag (ExoPlayer agrees)
_RUBY_TEXT = re.compile(r"<rt>.*?</rt>", re.DOTALL)


def plain_text(text: str) -> str:
    """Cue markup -> the words a viewer reads: tags and ASS overrides out, entities decoded."""
    text = _RUBY_TEXT.sub("", text)
    text = _ASS.sub(lambda m: " " if " " in m.group() else "", _TAG.sub("", text))
    return html.unescape(text).replace("\xa0", " ")


def _body(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _split_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


# --- SRT ------------------------------------------------------------------------------

_INDEX = re.compile(r"^\s*\d+\s*$")


def _srt_timing(line: str) -> tuple[int | None, int | None] | None:
    """(start, end) ms of an SRT timing line (None parts when unparseable); None if no arrow."""
    if "-->" not in line:
        return None
    left, _, right = line.strip().partition("-->")
    fields = right.split()
    return parse_timestamp(left), parse_timestamp(fields[0]) if fields else None


def parse_srt_text(text: str, first_line: int = 1) -> tuple[list[Caption], list[ReadIssue]]:
    """Parse SRT-like text. ``first_line`` is the file line number of ``text``'s first line."""
    lines = _split_lines(text)
    captions: list[Caption] = []
    issues: list[ReadIssue] = []

    def is_index(i: int) -> bool:
        return (
            _INDEX.match(lines[i]) is not None
            and i + 1 < len(lines)
            and _srt_timing(lines[i + 1]) is not None
        )

    i = 0
    pending_index: int | None = None
    while i < len(lines):
        raw = lines[i]
        lineno = first_line + i
        timing = _srt_timing(raw)
        if timing is None:
            if is_index(i):
                pending_index = int(raw)
            elif raw.strip():
                issues.append(
                    ReadIssue(lineno, f"text outside any caption ignored: {raw.strip()[:60]!r}")
                )
            i += 1
            continue
        start, end = timing
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip():
            if _srt_timing(lines[i]) is not None or is_index(i):
                issues.append(ReadIssue(first_line + i, "missing blank line between captions"))
                break
            body.append(lines[i])
            i += 1
        if start is None or end is None:
            issues.append(ReadIssue(lineno, f"bad timestamp, caption skipped: {raw.strip()!r}"))
            pending_index = None
            continue
        index = pending_index if pending_index is not None else len(captions) + 1
        if pending_index is None:
            issues.append(ReadIssue(lineno, "caption has no index line"))
        pending_index = None
        captions.append(_make_caption(index, start, end, body, lineno, issues))
    return captions, issues


def _make_caption(
    index: int, start: int, end: int, body: list[str], lineno: int, issues: list[ReadIssue]
) -> Caption:
    raw = _body(body)
    text = _body(plain_text(raw).split("\n"))
    if text != raw:
        issues.append(ReadIssue(lineno, "formatting tags or entities converted to plain text"))
    if end < start:
        issues.append(ReadIssue(lineno, "caption ends before it starts"))
    if not text.strip():
        issues.append(ReadIssue(lineno, "caption has no text"))
    return Caption(index, start, end, text, lineno)


# --- WebVTT (WHATWG "WebVTT parser algorithm", cue parts only) ----------------------------

_VTT_WS = " \t\f"  # ASCII whitespace left after line splitting (no vertical tab: WPT agrees)


def _vtt_timestamp(s: str, pos: int) -> tuple[int, int] | None:
    """Collect a WebVTT timestamp at ``pos``: (ms, new position) or None."""

    def digits(p: int) -> tuple[str, int]:
        q = p
        while q < len(s) and "0" <= s[q] <= "9":
            q += 1
        return s[p:q], q

    first, pos = digits(pos)
    if not first:
        return None
    hours_form = len(first) != 2 or int(first) > 59
    if pos >= len(s) or s[pos] != ":":
        return None
    second, pos = digits(pos + 1)
    if len(second) != 2:
        return None
    if hours_form or (pos < len(s) and s[pos] == ":"):
        if pos >= len(s) or s[pos] != ":":
            return None
        third, pos = digits(pos + 1)
        if len(third) != 2:
            return None
        h, m, sec = int(first), int(second), int(third)
    else:
        h, m, sec = 0, int(first), int(second)
    if pos >= len(s) or s[pos] != ".":
        return None
    frac, pos = digits(pos + 1)
    if len(frac) != 3 or m > 59 or sec > 59:
        return None
    return ((h * 60 + m) * 60 + sec) * 1000 + int(frac), pos


def _vtt_timing(line: str) -> tuple[int, int] | None:
    pos = len(line) - len(line.lstrip(_VTT_WS))
    got = _vtt_timestamp(line, pos)
    if got is None:
        return None
    start, pos = got
    while pos < len(line) and line[pos] in _VTT_WS:
        pos += 1
    if line[pos : pos + 3] != "-->":
        return None
    pos += 3
    while pos < len(line) and line[pos] in _VTT_WS:
        pos += 1
    got = _vtt_timestamp(line, pos)
    if got is None:
        return None
    return start, got[0]


def parse_vtt_text(text: str, first_line: int = 1) -> tuple[list[Caption], list[ReadIssue]]:
    """Parse WebVTT text the way browsers do; deviations from the format become issues."""
    lines = _split_lines(text.replace("\x00", "\ufffd"))
    issues: list[ReadIssue] = []
    captions: list[Caption] = []
    sig = lines[0] if lines else ""
    if not (sig.startswith("WEBVTT") and (len(sig) == 6 or sig[6] in " \t")):
        issues.append(ReadIssue(first_line, "missing 'WEBVTT' signature on the first line"))
        pos = 0  # tolerant: read the rest as blocks anyway
    else:
        pos = 1
        # Header: lines up to a blank line, unless a timing line starts the first cue.
        while pos < len(lines) and lines[pos] and "-->" not in lines[pos]:
            pos += 1
    n = len(lines)
    while pos < n:
        while pos < n and lines[pos] == "":
            pos += 1
        if pos >= n:
            break
        block_start = pos
        buffer: list[str] = []
        timing: tuple[int, int] | None = None
        timing_line = 0
        seen_arrow = False
        count = 0
        while pos < n:
            line = lines[pos]
            if line == "":
                break
            count += 1
            if "-->" in line:
                if count == 1 or (count == 2 and not seen_arrow):
                    seen_arrow = True
                    timing_line = pos
                    timing = _vtt_timing(line)
                    if timing is None:
                        issues.append(
                            ReadIssue(
                                first_line + pos,
                                f"bad timing line, cue skipped: {line.strip()[:60]!r}",
                            )
                        )
                    buffer = []
                    pos += 1
                    continue
                if count > 1 and seen_arrow:
                    issues.append(ReadIssue(first_line + pos, "missing blank line between cues"))
                break  # this line starts the next block
            buffer.append(line)
            pos += 1
        if timing is not None:
            start, end = timing
            captions.append(
                _make_caption(
                    len(captions) + 1, start, end, buffer, first_line + timing_line, issues
                )
            )
        elif not seen_arrow and buffer:
            head = buffer[0]
            if not re.match(r"(NOTE|STYLE|REGION)([ \t]|$)", head):
                issues.append(
                    ReadIssue(
                        first_line + block_start,
                        f"text outside any cue ignored: {head.strip()[:60]!r}",
                    )
                )
    return captions, issues


# --- writing ----------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def to_srt(captions: Sequence[Caption]) -> str:
    """SRT text, numbered from 1. Blank lines inside a caption are dropped (they end a cue)."""
    blocks = [
        f"{n}\n{format_srt(c.start)} --> {format_srt(c.end)}\n"
        + "".join(f"{x}\n" for x in _lines(c.text))
        for n, c in enumerate(captions, start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(captions: Sequence[Caption]) -> str:
    """WebVTT text; ``&``, ``<`` and ``>`` escaped so the text reads back unchanged."""
    blocks = [
        f"{format_vtt(c.start)} --> {format_vtt(c.end)}\n"
        + "".join(f"{_vtt_escape(x)}\n" for x in _lines(c.text))
        for c in captions
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def write_captions(path: str | Path, captions: Sequence[Caption]) -> None:
    """Write captions atomically; the extension (.srt or .vtt) picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".srt", ".vtt"):
        raise CaptionError("caption output must end in .srt or .vtt", path)
    write_text(path, to_srt(captions) if suffix == ".srt" else to_vtt(captions))


# --- decoding ---------------------------------------------------------------------------

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# Single-byte candidates in order of preference; ties go to the earlier one.
_SINGLE_BYTE = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256")
_MULTI_BYTE = ("gb18030", "big5", "cp949", "euc_kr", "shift_jis", "cp932", "euc_jp")
_GOOD_CATEGORIES = ("L", "M", "P", "Z")


def _implausibility(text: str) -> int:
    """How unlike real text a decoding looks: symbols where letters belong, mixed scripts."""
    bad = 0
    for ch in text:
        if ord(ch) < 128:
            continue
        cat = unicodedata.category(ch)
        if not cat.startswith(_GOOD_CATEGORIES) and ch not in "€£":
            bad += 1
    for word in re.findall(r"[^\W\d_]+", text):
        scripts = {unicodedata.name(c, "?").split()[0] for c in word if c.isalpha()}
        if len(scripts) > 1:
            bad += 2
        bad += sum(1 for a, b in itertools.pairwise(word) if a.islower() and b.isupper())  # "ўЬ"
    return bad


def _detect_legacy(data: bytes) -> str:
    """Pick the codec of non-UTF-8 bytes: a multibyte guess if charset-normalizer finds
    one (its language models tell CJK codecs apart), else the most plausible code page."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        guess = best.encoding if best is not None else None
    except Exception:  # detection is only a hint; never let it break reading
        log.debug("charset detection failed", exc_info=True)
        guess = None
    if guess in _MULTI_BYTE:
        return guess
    scored = []
    for rank, codec in enumerate(_SINGLE_BYTE):
        try:
            scored.append((_implausibility(data.decode(codec)), rank, codec))
        except UnicodeDecodeError:
            continue
    return min(scored)[2] if scored else "cp1252"


def detect_encoding(data: bytes) -> str:
    """The codec to decode caption bytes with (BOM, UTF-16 without BOM, UTF-8, legacy)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec + "-sig" if codec == "utf-8" else codec
    head = data[:200]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return "utf-16-le"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 and head[1::2].count(0) == 0:
        return "utf-16-be"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return _detect_legacy(data)


def decode_caption_bytes(data: bytes, encoding: str | None = None) -> str:
    """Bytes of a caption file -> text (BOM removed). ``encoding`` overrides detection."""
    codec = encoding or detect_encoding(data)
    text = data.decode(codec, errors="replace")
    return text.removeprefix("\ufeff")


# --- entry points -----------------------------------------------------------------------


def parse_caption_text(text: str, fmt: str | None = None) -> tuple[list[Caption], list[ReadIssue]]:
    """SRT or WebVTT text -> captions. ``fmt`` ("srt"/"vtt") is a hint; a signature wins."""
    if text.startswith("WEBVTT") or (fmt == "vtt" and not _looks_like_srt(text)):
        return parse_vtt_text(text)
    captions, issues = parse_srt_text(text)
    if fmt == "vtt":
        issues.insert(0, ReadIssue(1, "no 'WEBVTT' signature and SRT timings: read as SRT"))
    return captions, issues


def _looks_like_srt(text: str) -> bool:
    """A file without signature whose timings use SRT commas is SRT, whatever its name."""
    return re.search(r"\d,\d{1,3}\s*-->", text) is not None


def read_captions(
    path: str | Path, encoding: str | None = None
) -> tuple[list[Caption], list[ReadIssue]]:
    """Read an SRT or WebVTT file. CaptionError when the file cannot be read at all."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaptionError(f"cannot read captions: {exc.strerror or exc}", path) from None
    try:
        text = decode_caption_bytes(data, encoding)
    except LookupError:
        raise CaptionError(f"unknown text encoding {encoding!r}", path) from None
    if not text.strip():
        raise CaptionError("caption file is empty", path, 1)
    captions, issues = parse_caption_text(text, path.suffix.lower().lstrip("."))
    if not captions and "-->" not in text:
        if not text.startswith("WEBVTT"):
            raise CaptionError("not a caption file: no timing line ('-->') found", path, 1)
        issues.append(ReadIssue(1, "file holds no captions"))
    return captions, issues


def embedded_issues(lesson: Lesson) -> tuple[ReadIssue, ...]:
    """What the parser found wrong inside a script's embedded SRT block, as read issues."""
    if not lesson.captions:
        return ()
    first = lesson.captions[0].line - 1  # the index line above the first timing line
    return tuple(ReadIssue(w.line, w.message) for w in lesson.warnings if w.line >= first)
