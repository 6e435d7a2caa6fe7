"""Overlay cards drawn with Pillow, cropped to their box.

Text never goes near ffmpeg: every cue becomes an RGBA image here, so quotes, colons,
percent signs, backslashes and right-to-left scripts render literally. Fonts ship in
``pipeline/render/fonts`` (DejaVu Sans, see LICENSE-DejaVu.txt).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from pipeline.render.theme import Scale, Theme, parse_colour

FONTS = Path(__file__).parent / "fonts"
REGULAR = FONTS / "DejaVuSans.ttf"
BOLD = FONTS / "DejaVuSans-Bold.ttf"
PANEL_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
LINE_SPACING = 1.22
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Card:
    """A drawn overlay: an RGBA image and where its top-left corner goes on the frame."""

    image: Image.Image
    x: int
    y: int
    panel: Path | None = None  # the panel image used, for MAIN PANEL cues that matched one

    @property
    def w(self) -> int:
        return self.image.width

    @property
    def h(self) -> int:
        return self.image.height


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(BOLD if bold else REGULAR), size, layout_engine=engine)


def slug(text: str) -> str:
    """``"Three Circles: the Model!"`` -> ``"three-circles-the-model"`` (accents dropped)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def find_panel(text: str, panels_dir: Path | None) -> Path | None:
    """The image in ``panels_dir`` named like the cue, forgivingly.

    Names are compared as slugs, ignoring a leading order number (``03-three-circles.png``)
    and the words "panel"/"main panel"; an exact slug wins, then a name that contains the
    cue's slug or is contained in it (the longest such).
    """
    if panels_dir is None or not panels_dir.is_dir():
        return None
    wanted = _panel_key(text)
    if not wanted:
        return None
    candidates = sorted(p for p in panels_dir.iterdir()
                        if p.is_file() and p.suffix.lower() in PANEL_EXTENSIONS)
    keyed = [(_panel_key(p.stem), p) for p in candidates]
    for key, path in keyed:
        if key == wanted:
            return path
    partial = [(len(key), path) for key, path in keyed
               if len(key) >= 4 and (_within(key, wanted) or _within(wanted, key))]
    return max(partial, key=lambda kp: kp[0])[1] if partial else None


def _within(part: str, whole: str) -> bool:
    """``part`` is a run of whole words of ``whole`` (slugs)."""
    return f"-{part}-" in f"-{whole}-"


def _panel_key(text: str) -> str:
    key = slug(text)
    key = re.sub(r"^\d+-", "", key)
    key = re.sub(r"^(main-)?panel-|-(main-)?panel$", "", key)
    return key


def is_rtl(text: str) -> bool:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; words too long for a line are split."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            trial = f"{current} {word}" if current else word
            if face.getlength(trial) <= width:
                current = trial
                continue
            if current:
                lines.append(current)
            while face.getlength(word) > width and len(word) > 1:
                cut = _fit_prefix(word, face, width)
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return [line for line in lines if line] or [""]


def _fit_prefix(word: str, face: ImageFont.FreeTypeFont, width: int) -> int:
    lo, hi = 1, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if face.getlength(word[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True, slots=True)
class TextBlock:
    size: int
    paragraphs: tuple[tuple[str, ...], ...]  # wrapped lines of each item
    line_height: int
    height: int


def fit_text(items: tuple[str, ...], width: int, max_height: int, size: int, min_size: int,
             gap: int, bold: bool = False) -> TextBlock:
    """Wrap ``items`` into ``width``, shrinking the type until they fit ``max_height``;
    at the smallest size, lines that still do not fit are cut with an ellipsis."""
    size = max(size, min_size)
    while True:
        block = _layout(items, width, size, gap, bold)
        if block.height <= max_height or size <= min_size:
            break
        size = max(min_size, int(size * 0.9))
    if block.height <= max_height:
        return block
    return _truncate(block, width, max_height, gap, bold)


def _layout(items: tuple[str, ...], width: int, size: int, gap: int, bold: bool) -> TextBlock:
    face = font(size, bold)
    line_height = round(size * LINE_SPACING)
    paragraphs = tuple(tuple(wrap(item, face, width)) for item in items)
    lines = sum(len(p) for p in paragraphs)
    height = lines * line_height + gap * max(0, len(paragraphs) - 1)
    return TextBlock(size, paragraphs, line_height, height)


def _truncate(block: TextBlock, width: int, max_height: int, gap: int, bold: bool) -> TextBlock:
    face = font(block.size, bold)
    kept: list[tuple[str, ...]] = []
    used = 0
    for paragraph in block.paragraphs:
        lines: list[str] = []
        for line in paragraph:
            extra = block.line_height + (gap if kept and not lines else 0)
            if used + extra > max_height:
                break
            lines.append(line)
            used += extra
        if len(lines) < len(paragraph):
            if lines:
                last = lines[-1]
                while last and face.getlength(last + ELLIPSIS) > width:
                    last = last[:-1]
                lines[-1] = last.rstrip() + ELLIPSIS
            if lines:
                kept.append(tuple(lines))
            break
        kept.append(tuple(lines))
    if not kept:
        kept = [(ELLIPSIS,)]
        used = block.line_height
    return TextBlock(block.size, tuple(kept), block.line_height, used)


def _draw_lines(draw: ImageDraw.ImageDraw, block: TextBlock, x: int, y: int, width: int,
                fill: tuple[int, int, int, int], gap: int, bold: bool = False,
                centre: bool = False) -> None:
    face = font(block.size, bold)
    for paragraph in block.paragraphs:
        for line in paragraph:
            length = face.getlength(line)
            if centre:
                left = x + (width - length) / 2
            elif is_rtl(line):
                left = x + width - length
            else:
                left = x
            draw.text((left, y), line, font=face, fill=fill)
            y += block.line_height
        y += gap


def text_card(items: tuple[str, ...], theme: Theme, scale: Scale) -> Image.Image:
    """VISUAL TEXT: the cue's items stacked on a rounded card with an accent bar."""
    pad, accent_w, gap = scale.px(theme.padding), scale.px(theme.accent_width), scale.px(theme.item_gap)
    width = scale.w(theme.card_width)
    text_x = pad + accent_w + pad // 2
    text_w = max(8, width - text_x - pad)
    block = fit_text(items or ("",), text_w, scale.px(theme.card_max_height) - 2 * pad,
                     scale.px(theme.font_size), scale.px(theme.min_font_size), gap)
    height = block.height + 2 * pad
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    radius = scale.px(theme.radius)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius, fill=parse_colour(theme.background))
    draw.rounded_rectangle((pad, pad, pad + accent_w - 1, height - pad - 1), accent_w // 2,
                           fill=parse_colour(theme.accent))
    _draw_lines(draw, block, text_x, pad, text_w, parse_colour(theme.text_colour), gap)
    return image


def placeholder_card(text: str, theme: Theme, scale: Scale) -> Image.Image:
    """MAIN PANEL without an image: a labelled placeholder an editor recognises."""
    width, height = scale.w(theme.panel_width), scale.px(theme.panel_height)
    pad = scale.px(theme.padding)
    ink = parse_colour(theme.placeholder_text)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), scale.px(theme.radius),
                           fill=parse_colour(theme.placeholder_background))
    _dashed_border(draw, width, height, max(2, scale.px(4)), pad // 2, ink)
    label_size = scale.px(max(theme.min_font_size, theme.font_size * 2 // 3))
    label = fit_text(("MAIN PANEL — image missing",), width - 2 * pad, label_size * 2,
                     label_size, scale.px(theme.min_font_size) // 2 or 1, 0, bold=True)
    _draw_lines(draw, label, pad, pad, width - 2 * pad, ink, 0, bold=True, centre=True)
    hint_size = max(8, label.size * 3 // 4)
    hint = fit_text((f"add media/panels/{slug(text) or 'panel'}.png",), width - 2 * pad,
                    hint_size * 2, hint_size, max(6, hint_size // 2), 0)
    top = pad + label.height + pad // 2
    bottom = height - pad - hint.height
    body = fit_text((text,), width - 2 * pad, max(8, bottom - top - pad // 2),
                    scale.px(theme.font_size), scale.px(theme.min_font_size), 0)
    body_y = top + max(0, (bottom - top - body.height) // 2)
    _draw_lines(draw, body, pad, body_y, width - 2 * pad, parse_colour(theme.text_colour), 0,
                centre=True)
    _draw_lines(draw, hint, pad, bottom, width - 2 * pad, ink, 0, centre=True)
    return image


def _dashed_border(draw: ImageDraw.ImageDraw, width: int, height: int, stroke: int, inset: int,
                   ink: tuple[int, int, int, int]) -> None:
    dash = stroke * 4
    left, top, right, bottom = inset, inset, width - inset - 1, height - inset - 1
    for x in range(left, right, dash * 2):
        draw.rectangle((x, top, min(x + dash, right), top + stroke - 1), fill=ink)
        draw.rectangle((x, bottom - stroke + 1, min(x + dash, right), bottom), fill=ink)
    for y in range(top, bottom, dash * 2):
        draw.rectangle((left, y, left + stroke - 1, min(y + dash, bottom)), fill=ink)
        draw.rectangle((right - stroke + 1, y, right, min(y + dash, bottom)), fill=ink)


def panel_card(path: Path, theme: Theme, scale: Scale) -> Image.Image:
    box_w, box_h = scale.w(theme.panel_width), scale.px(theme.panel_height)
    with Image.open(path) as source:
        image = source.convert("RGBA")
    ratio = min(box_w / image.width, box_h / image.height)
    size = (max(2, round(image.width * ratio)), max(2, round(image.height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS)


def draw_card(kind: str, text: str, items: tuple[str, ...], theme: Theme, width: int,
              height: int, panels_dir: Path | None = None) -> Card:
    """Draw one overlay for a ``width`` x ``height`` frame, placed by the theme."""
    scale = theme.scale(width, height)
    if kind == "main_panel":
        box_x, box_y = scale.w(theme.panel_x), scale.px(theme.panel_y)
        box_w, box_h = scale.w(theme.panel_width), scale.px(theme.panel_height)
        panel = find_panel(text, panels_dir)
        if panel is not None:
            try:
                image = panel_card(panel, theme, scale)
            except OSError:
                panel, image = None, placeholder_card(text, theme, scale)
        else:
            image = placeholder_card(text, theme, scale)
        x = box_x + (box_w - image.width) // 2
        y = box_y + (box_h - image.height) // 2
    else:
        panel = None
        image = text_card(items or (text,), theme, scale)
        x, y = scale.w(theme.card_x), scale.px(theme.card_y)
    return _fit_frame(Card(image, x, y, panel), width, height)


def _fit_frame(card: Card, width: int, height: int) -> Card:
    """Keep the card inside the frame, on even pixels (chroma-subsampled video)."""
    image = card.image
    w, h = min(image.width, width), min(image.height, height)
    w, h = max(2, w - w % 2), max(2, h - h % 2)
    if (w, h) != image.size:
        image = image.crop((0, 0, w, h))
    x = min(max(0, card.x), width - w)
    y = min(max(0, card.y), height - h)
    return Card(image, x - x % 2, y - y % 2, card.panel)


def fade_frames(image: Image.Image, steps: int) -> list[Image.Image]:
    """``steps`` copies of ``image`` at rising opacity (the last one below full)."""
    alpha = image.getchannel("A")
    frames = []
    for n in range(1, steps + 1):
        level = n / (steps + 1)
        frame = image.copy()
        frame.putalpha(alpha.point(lambda a, level=level: round(a * level)))
        frames.append(frame)
    return frames
