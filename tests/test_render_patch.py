"""Patch render: a render reuses the previous output, rendering again only the keyframe
intervals whose cards changed (pure planning, and renders checked against a full one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_render_media import frame_at, make_clip, near, patch
from test_render_smart import packet_crcs, psnr

from pipeline.render.patch import Record, WindowSource, take_starts, window_args, window_sources
from pipeline.render.plan import CardInput, Frame, Overlay, Segment, Source, Timing
from pipeline.render.run import render_video, write_manifest
from pipeline.render.smart import Piece
from pipeline.render.theme import Theme

THEME = Theme(background="#ff00ffff", fade=0, padding=10)


def test_changed_spans_are_the_cards_drawn_in_one_render_and_not_the_other() -> None:
    before = Record("k", (("a", 0, 500), ("b", 1000, 1500), ("c", 2000, 2500)))
    after = Record("k", (("a", 0, 500), ("b2", 1200, 1700), ("c", 2000, 2500), ("d", 3000, 3100)))
    assert before.changed(after) == [(1000, 1500), (1200, 1700), (3000, 3100)]
    assert before.changed(before) == []


def test_windows_map_output_time_to_each_recording() -> None:
    a = Source(Path("a.webm"), 300, 2000, True)
    b = Source(Path("b.webm"), 200, 2000, True)
    starts = take_starts([a, b], [51, 54], 30.0)
    assert starts == [0, 1700]  # 51 frames of a at 30 fps
    assert take_starts([a], [0], 30.0) == [0]
    inside_a = window_sources([a, b], starts, 500, 1000, 30.0)
    assert inside_a == [WindowSource(Path("a.webm"), 783, None)]  # half a frame early
    across = window_sources([a, b], starts, 1500, 2500, 30.0)
    assert across == [WindowSource(Path("a.webm"), 1783, 2000),
                      WindowSource(Path("b.webm"), 183, None)]


def test_window_args_join_fit_composite_and_count_frames() -> None:
    parts = [WindowSource(Path("a.webm"), 1783, 2000), WindowSource(Path("b.webm"), 183, None)]
    card = CardInput(Path("/tmp/c_%02d.png"), Timing(100, 400, 0, 0), 4, 5)
    args = window_args(parts, True, Piece(1500, 2500, 30, True), [card], Frame(160, 90, 30.0),
                       "fast", Path("out.webm"), 300)
    text = " ".join(args)
    assert args[:5] == ["-ss", "1.783", "-to", "2", "-i"] and args[5].endswith("/a.webm")
    assert args[6:8] == ["-ss", "0.183"] and args[9].endswith("/b.webm") and "concat=n=2:v=1:a=0" in text
    assert "fps=30" in text and "setpts=PTS-STARTPTS" in text and "-an" in args
    assert args[args.index("-frames:v") + 1] == "30"


# --- end to end ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("patch")
    # 5.7 s and 5.8 s used: a render's keyframe intervals are 5 s long
    return (make_clip(folder / "a.webm", seconds=6.0, size="160x90", gop=15, pattern=True),
            make_clip(folder / "b.webm", seconds=6.0, size="160x90", gop=15, pattern=True))


def _render(takes: tuple[Path, Path], card: tuple[int, int], out: Path,
            previous: Path | None = None, gain: float = 0.0) -> object:
    segments = [Segment(takes[0], 300, None, gain), Segment(takes[1], 200, None)]
    result = render_video(segments, [Overlay("visual_text", "card", ("card",), *card)], [],
                          out, theme=THEME, previous=previous)
    write_manifest(out.with_suffix(".json"), {"patch": result.patch})
    return result


def test_a_moved_card_patches_the_previous_render_like_a_full_one(
        takes: tuple[Path, Path], tmp_path: Path) -> None:
    first, moved, full = (tmp_path / f"{name}.webm" for name in ("first", "moved", "full"))
    _render(takes, (10_300, 10_800), first)  # in the last interval, [10, 11.5) s
    result = _render(takes, (6500, 7000), moved, previous=first)  # take 2, in [5, 10) s
    assert result.patched and not _render(takes, (6500, 7000), full).patched  # type: ignore[attr-defined]
    before, after, fresh = packet_crcs(first), packet_crcs(moved), packet_crcs(full)
    assert sorted(after) == sorted(fresh) == sorted(before)  # same frames, same times
    changed = [pts for pts in before if before[pts] != after[pts]]
    assert min(changed) >= 5000  # [0, 5) s copied bit for bit
    assert packet_crcs(moved, "a") == packet_crcs(first, "a")  # the audio copied
    quality = psnr(moved, full)
    # two lossy encodes of the same frames: 30-34 dB where re-encoded (a frame off: 14-25)
    assert len(quality) == len(fresh) and min(quality) >= 27
    box = result.overlays[0]  # type: ignore[attr-defined]
    x, y = box.x + box.w - 3, box.y + box.h // 2
    assert near(patch(frame_at(moved, 6700, 160, 90), x, y), (255, 0, 255))
    assert not near(patch(frame_at(moved, 10_500, 160, 90), x, y), (255, 0, 255))  # gone
    assert near(patch(frame_at(first, 10_500, 160, 90), x, y), (255, 0, 255))


def test_no_patch_when_the_recordings_or_settings_changed(
        takes: tuple[Path, Path], tmp_path: Path) -> None:
    first = tmp_path / "first.webm"
    _render(takes, (400, 900), first)
    louder = _render(takes, (6500, 7000), tmp_path / "louder.webm", previous=first, gain=3.0)
    assert not louder.patched  # type: ignore[attr-defined]
    manifest = json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))
    manifest["patch"]["version"] = 0
    first.with_suffix(".json").write_text(json.dumps(manifest), encoding="utf-8")
    assert not _render(takes, (6500, 7000), tmp_path / "old.webm",
                       previous=first).patched  # type: ignore[attr-defined]
