"""The look of rendered lessons: card boxes, colours, type sizes, fades, caption style.

Sizes are pixels on a 1920x1080 reference frame, scaled to the recording's real size, so
one theme works for 720p screen captures and 4K alike. A course sets its own in a TOML file::

    # course-theme.toml
    card_x = 96            # VISUAL TEXT card, left edge
    card_y = 96
    card_width = 720
    background = "#0f172acc"   # RRGGBB or RRGGBBAA
    accent = "#38bdf8"
    font_size = 46
    fade = 250             # ms

Keys may also sit under a ``[theme]`` table. Unknown keys are an error, so a typo is seen.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from pipeline.errors import RenderError

REF_WIDTH = 1920
REF_HEIGHT = 1080

Rgba = tuple[int, int, int, int]

_COLOUR = re.compile(r"^#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")


@dataclass(frozen=True, slots=True)
class Theme:
    # VISUAL TEXT card: top-left corner and width; its height follows its text.
    card_x: int = 96
    card_y: int = 96
    card_width: int = 720
    card_max_height: int = 620
    # MAIN PANEL box: the panel image is fitted inside it.
    panel_x: int = 880
    panel_y: int = 96
    panel_width: int = 944
    panel_height: int = 620
    padding: int = 36
    radius: int = 18
    accent_width: int = 10
    item_gap: int = 22
    background: str = "#0f172ae0"  # slate-900, 88 % opaque
    text_colour: str = "#f8fafc"
    accent: str = "#38bdf8"
    placeholder_background: str = "#3f3f46e6"
    placeholder_text: str = "#fde68a"
    font_size: int = 46
    min_font_size: int = 22
    fade: int = 250  # ms, fade in and out
    # Burned-in captions (libass).
    caption_font_size: int = 44
    caption_margin: int = 56
    caption_colour: str = "#ffffff"
    caption_outline: str = "#000000"
    caption_box: str = "#000000a0"

    def scale(self, width: int, height: int) -> Scale:
        return Scale(width / REF_WIDTH, height / REF_HEIGHT)


@dataclass(frozen=True, slots=True)
class Scale:
    x: float
    y: float

    def px(self, value: int) -> int:
        """A reference length (type, padding) scaled by the frame height."""
        return max(1, round(value * self.y))

    def w(self, value: int) -> int:
        return max(1, round(value * self.x))


DEFAULT_THEME = Theme()


def parse_colour(text: str) -> Rgba:
    match = _COLOUR.match(text.strip())
    if not match:
        raise ValueError(f"not a colour: {text!r} (use #RRGGBB or #RRGGBBAA)")
    rgb = match[1]
    alpha = int(match[2], 16) if match[2] else 255
    return int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16), alpha


def theme_from_dict(data: dict[str, Any], path: str | Path | None = None) -> Theme:
    if isinstance(data.get("theme"), dict):
        data = data["theme"]
    data = {k: v for k, v in data.items() if k != "audio"}  # the [audio] table: normalize.py
    known = {f.name: f for f in fields(Theme)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise RenderError(f"unknown theme key {key!r} (known: {', '.join(sorted(known))})",
                              path)
        default = getattr(DEFAULT_THEME, key)
        if isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise RenderError(f"theme key {key!r} must be a non-negative number", path)
            value = round(value)
        else:
            if not isinstance(value, str):
                raise RenderError(f"theme key {key!r} must be a colour string", path)
            try:
                parse_colour(value)
            except ValueError as exc:
                raise RenderError(f"theme key {key!r}: {exc}", path) from None
        changes[key] = value
    theme = replace(DEFAULT_THEME, **changes)
    if theme.min_font_size > theme.font_size or theme.font_size == 0:
        raise RenderError("theme: need 0 < min_font_size <= font_size", path)
    return theme


def read_toml(path: str | Path, what: str = "theme") -> dict[str, Any]:
    """A settings file (a ``--theme`` file or the course's ``course.toml``: its theme keys
    and its ``[audio]`` table) as data; RenderError naming the file when it cannot be read."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RenderError(f"cannot read {what}: {exc.strerror or exc}", path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RenderError(f"{what} is not valid TOML: {exc}", path) from None


def load_theme(path: str | Path) -> Theme:
    return theme_from_dict(read_toml(path), path)
