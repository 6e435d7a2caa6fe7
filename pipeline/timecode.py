"""Integer-millisecond times: parsing and formatting at the edges only."""

from __future__ import annotations

import re

_TIMESTAMP = re.compile(
    r"^\s*(?:(?P<h>\d+):)?(?P<m>\d{1,2}):(?P<s>\d{1,3})(?:[.,](?P<f>\d{1,3}))?\s*$"
)


def parse_timestamp(text: str) -> int | None:
    """Parse ``HH:MM:SS,mmm`` / ``MM:SS.mmm`` (and the usual sloppy variants) to ms.

    Returns None when the text is not a timestamp; never raises.
    """
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    hours = int(match["h"] or 0)
    minutes, seconds = int(match["m"]), int(match["s"])
    if minutes >= 60 or seconds >= 60:
        return None
    fraction = match["f"] or "0"
    millis = int(fraction.ljust(3, "0"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def _split(ms: int) -> tuple[int, int, int, int]:
    ms = max(0, int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return hours, minutes, seconds, millis


def format_srt(ms: int) -> str:
    h, m, s, f = _split(ms)
    return f"{h:02d}:{m:02d}:{s:02d},{f:03d}"


def format_vtt(ms: int) -> str:
    h, m, s, f = _split(ms)
    return f"{h:02d}:{m:02d}:{s:02d}.{f:03d}"


def format_clock(ms: int) -> str:
    """Short human form for reports: ``m:ss.mmm`` or ``h:mm:ss.mmm``."""
    h, m, s, f = _split(ms)
    return f"{h}:{m:02d}:{s:02d}.{f:03d}" if h else f"{m}:{s:02d}.{f:03d}"


def seconds(ms: int) -> float:
    """Milliseconds to seconds for JSON and ffmpeg (exactly millisecond precision)."""
    return round(ms / 1000, 3)


def to_ms(secs: float) -> int:
    """Seconds (from the outside world) to integer milliseconds."""
    return round(secs * 1000)
