"""Captions as an ASS file for burning in with libass, in a readable theme style."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models import Caption
from pipeline.render.theme import Theme, parse_colour

FONT_NAME = "DejaVu Sans"  # shipped in pipeline/render/fonts, passed to libass as fontsdir
WORD_JOINER = "\u2060"


def ass_colour(text: str) -> str:
    """``#RRGGBBAA`` -> ASS ``&HAABBGGRR`` (ASS alpha: 00 opaque, FF transparent)."""
    r, g, b, a = parse_colour(text)
    return f"&H{255 - a:02X}{b:02X}{g:02X}{r:02X}"


def ass_time(ms: int) -> str:
    cs = max(0, ms) // 10
    h, rest = divmod(cs, 360000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def ass_text(text: str) -> str:
    """Caption text shown literally: no override blocks, no escapes, line breaks kept."""
    text = text.replace("\\", "\\" + WORD_JOINER)  # "\N", "\h" stay two visible characters
    text = text.replace("{", "\\{").replace("}", "\\}")
    return "\\N".join(line.strip() for line in text.splitlines())


def to_ass(captions: Sequence[Caption], width: int, height: int, theme: Theme) -> str:
    scale = height / 1080
    size = max(8, round(theme.caption_font_size * scale))
    margin = max(2, round(theme.caption_margin * scale))
    side = max(2, round(96 * width / 1920))
    outline = max(1.0, round(2.5 * scale, 1))
    style = ",".join([
        "Default", FONT_NAME, str(size), ass_colour(theme.caption_colour), "&H000000FF",
        ass_colour(theme.caption_outline), ass_colour(theme.caption_box),
        "0", "0", "0", "0", "100", "100", "0", "0", "1", str(outline), str(max(1, outline // 2)),
        "2", str(side), str(side), str(margin), "1",
    ])
    events = [
        f"Dialogue: 0,{ass_time(c.start)},{ass_time(c.end)},Default,,0,0,0,,{ass_text(c.text)}"
        for c in captions
    ]
    return "\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}",
        "WrapStyle: 0", "ScaledBorderAndShadow: yes", "",
        "[V4+ Styles]",
        ("Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
         "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
         "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"),
        f"Style: {style}", "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        *events, "",
    ])
