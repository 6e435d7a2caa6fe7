"""Overlay cards drawn with Pillow: layout, hostile text, panel matching (no ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from pipeline.render.cards import (
    draw_card,
    fade_frames,
    find_panel,
    fit_text,
    font,
    is_rtl,
    slug,
    wrap,
)
from pipeline.render.theme import DEFAULT_THEME

HOSTILE = [
    "it's \"quoted\": 100% \\ back\\slash ; [brackets], {braces} $HOME `tick`",
    "drawtext=text='x':enable=1 -i /etc/passwd",
    "emoji 😀🚀 and ✓",
    "שלום עולם — مرحبا بالعالم",
    "word " * 100,  # 500 characters
    "x" * 500,  # one unbreakable word
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("kind", ["visual_text", "main_panel"])
def test_hostile_text_draws_a_card_inside_the_frame(kind: str, text: str) -> None:
    items = tuple(part for part in text.split("|")) or ("",)
    card = draw_card(kind, text, items, DEFAULT_THEME, 1280, 720)
    assert card.image.mode == "RGBA"
    assert 0 <= card.x and card.x + card.w <= 1280 and 0 <= card.y and card.y + card.h <= 720
    assert card.w % 2 == 0 and card.h % 2 == 0 and card.x % 2 == 0 and card.y % 2 == 0
    assert card.image.getchannel("A").getextrema()[1] > 0  # something visible


def test_long_text_shrinks_then_truncates_within_the_card_height() -> None:
    block = fit_text(("word " * 100,), 600, 300, 46, 22, 20)
    assert block.size == 22 and block.height <= 300
    assert block.paragraphs[-1][-1].endswith("…")
    short = fit_text(("two words",), 600, 300, 46, 22, 20)
    assert short.size == 46 and short.paragraphs == (("two words",),)


def test_items_are_stacked_so_more_items_make_a_taller_card() -> None:
    one = draw_card("visual_text", "a", ("alpha",), DEFAULT_THEME, 1920, 1080)
    three = draw_card("visual_text", "a|b|c", ("alpha", "beta", "gamma"), DEFAULT_THEME, 1920, 1080)
    assert three.h > 2 * one.h - 80 and three.w == one.w


def test_wrap_splits_unbreakable_words_to_width() -> None:
    face = font(30)
    lines = wrap("x" * 200, face, 300)
    assert len(lines) > 1 and all(face.getlength(line) <= 300 for line in lines)
    assert "".join(lines) == "x" * 200


def test_rtl_detection() -> None:
    assert is_rtl("שלום") and is_rtl("  مرحبا") and not is_rtl("hello שלום") and not is_rtl("123")


def test_slug_and_forgiving_panel_match(tmp_path: Path) -> None:
    assert slug("Three Circles: the Model!") == "three-circles-the-model"
    assert slug("Café TAM × ARPU") == "cafe-tam-arpu"
    panels = tmp_path / "panels"
    panels.mkdir()
    for name in ["03-three-circles.png", "customer_model_panel.JPG", "notes.txt", "tam.png"]:
        path = panels / name
        if name.endswith("txt"):
            path.write_text("x")
        else:
            Image.new("RGB", (40, 20), "red").save(path, "PNG")
    assert find_panel("Three circles", panels) == panels / "03-three-circles.png"
    assert find_panel("The Customer Model", panels) == panels / "customer_model_panel.JPG"
    assert find_panel("Three circles: the beachhead model", panels) == panels / "03-three-circles.png"
    assert find_panel("Thr", panels) is None and find_panel("Three circlesque", panels) is None
    assert find_panel("Nothing like it", panels) is None
    assert find_panel("Three circles", None) is None


def test_main_panel_uses_the_image_fitted_in_its_box(tmp_path: Path) -> None:
    Image.new("RGB", (400, 100), (200, 10, 10)).save(tmp_path / "big-idea.png")
    card = draw_card("main_panel", "Big idea", ("Big idea",), DEFAULT_THEME, 1920, 1080, tmp_path)
    assert card.panel == tmp_path / "big-idea.png"
    assert card.w == DEFAULT_THEME.panel_width and card.h == DEFAULT_THEME.panel_width // 4
    assert card.image.getpixel((card.w // 2, card.h // 2))[:3] == (200, 10, 10)
    missing = draw_card("main_panel", "Other", ("Other",), DEFAULT_THEME, 1920, 1080, tmp_path)
    assert missing.panel is None and missing.h == DEFAULT_THEME.panel_height


def test_cards_scale_with_the_frame() -> None:
    big = draw_card("visual_text", "a", ("alpha",), DEFAULT_THEME, 1920, 1080)
    small = draw_card("visual_text", "a", ("alpha",), DEFAULT_THEME, 960, 540)
    assert abs(small.w - big.w / 2) <= 2 and abs(small.x - big.x / 2) <= 2


def test_fade_frames_rise_in_opacity() -> None:
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 200))
    frames = fade_frames(image, 3)
    alphas = [f.getpixel((0, 0))[3] for f in frames]
    assert alphas == [50, 100, 150]
