"""End-to-end renders of tiny generated recordings, checked by probing and decoded frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_render_media import extract_subtitles, frame_at, make_clip, near, patch

from pipeline import cli, ffmpeg
from pipeline.errors import MediaError, RenderError
from pipeline.models import Caption
from pipeline.render import ffmpeg_args
from pipeline.render.plan import Overlay, Segment
from pipeline.render.run import render_video
from pipeline.render.theme import Theme

GREEN = (0x20, 0x80, 0x20)
MAGENTA = (255, 0, 255)
# An opaque magenta card with no fade, so its pixels are easy to find.
THEME = Theme(background="#ff00ffff", fade=0, padding=20)
CAPTIONS = [Caption(1, 200, 900, "First: 100% 'sure'"), Caption(2, 1000, 1700, "Second \\ line")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("src") / "rec.webm", size="320x180")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def test_full_render_has_streams_overlay_in_its_span_and_captions(clip: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "lesson.webm"
    fractions: list[float] = []
    result = render_video([Segment(clip)], [Overlay("visual_text", "card", ("card",), 600, 1400)],
                          CAPTIONS, out, theme=THEME, smart=False, progress=fractions.append)
    info = ffmpeg.probe(out)
    assert (info.video, info.audio, info.subtitles) == ("vp9", "opus", ("webvtt",))
    assert info.sample_rate == 48000 and (info.width, info.height) == (320, 180)
    assert abs(result.duration - 2000) <= 60 and not result.smart
    assert fractions and fractions[-1] == 1.0
    box = result.overlays[0]
    assert (box.start, box.end) == (600, 1400)
    x, y = box.x + box.w - 4, box.y + box.h // 2
    assert near(patch(frame_at(out, 1000, 320, 180), x, y), MAGENTA)
    for ms in (300, 1700):
        assert near(patch(frame_at(out, ms, 320, 180), x, y), GREEN)
    vtt = extract_subtitles(out, tmp_path / "x.vtt")
    assert "00:00.200 --> 00:00.900" in vtt and "First: 100% 'sure'" in vtt
    assert "Second \\ line" in vtt
    assert "00:00:01,000 --> 00:00:01,700\nSecond \\ line" in out.with_suffix(".srt").read_text()
    assert "First: 100% 'sure'" in out.with_suffix(".vtt").read_text()
    assert leftovers(tmp_path) == []


def test_cards_fade_in_and_out(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "fade.webm"
    theme = Theme(background="#ff00ffff", fade=300, padding=20)
    result = render_video([Segment(clip)], [Overlay("visual_text", "c", ("c",), 500, 1500)], [],
                          out, theme=theme, smart=False)
    box = result.overlays[0]
    x, y = box.x + box.w - 4, box.y + box.h // 2
    rising = patch(frame_at(out, 617, 320, 180), x, y)  # ~3/7 of the way in
    falling = patch(frame_at(out, 1390, 320, 180), x, y)
    for colour in (rising, falling):
        assert not near(colour, MAGENTA) and not near(colour, GREEN)
        assert GREEN[0] + 20 < colour[0] < MAGENTA[0] - 20
    assert near(patch(frame_at(out, 1000, 320, 180), x, y), MAGENTA)


def test_joined_segments_trimmed_keep_order_duration_and_audio(clip: Path, tmp_path: Path) -> None:
    blue = make_clip(tmp_path / "second.webm", size="320x180", colour="0x2020c0", seconds=1.5)
    out = tmp_path / "joined.webm"
    result = render_video([Segment(clip, 500, 1500), Segment(blue, 0, None)], [], [], out,
                          smart=True)
    assert abs(result.duration - 2500) <= 60 and not result.smart
    info = ffmpeg.probe(out)
    assert info.audio == "opus" and info.subtitles == ()
    assert near(patch(frame_at(out, 500, 320, 180), 160, 150), GREEN)
    assert near(patch(frame_at(out, 1800, 320, 180), 160, 150), (0x20, 0x20, 0xC0))


def test_recording_without_duration_is_measured(tmp_path: Path) -> None:
    live = make_clip(tmp_path / "live.webm", seconds=1.5, live=True)
    assert ffmpeg.probe(live).duration is None
    result = render_video([Segment(live)], [], [Caption(1, 0, 900, "x")], tmp_path / "o.webm")
    assert abs(result.duration - 1500) <= 60 and result.captions == 1


def test_burn_in_draws_captions_and_has_no_subtitle_stream(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "burned.webm"
    render_video([Segment(clip)], [], [Caption(1, 0, 1000, "WWWWWWWW")], out, burn_in=True)
    assert ffmpeg.probe(out).subtitles == ()
    row = slice(120, 175)
    during, after = frame_at(out, 500, 320, 180)[row], frame_at(out, 1500, 320, 180)[row]
    assert (abs(during.astype(int) - after.astype(int)).max(axis=2) > 80).sum() > 50
    assert out.with_suffix(".srt").read_text().count("WWWWWWWW") == 1


def test_failed_encode_leaves_nothing_and_reports_ffmpeg(clip: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ffmpeg_args, "video_codec_args",
                        lambda preset, frame: ["-c:v", "libvpx-vp9", "-deadline", "bogus"])
    out = tmp_path / "fail.webm"
    with pytest.raises(MediaError, match="ffmpeg failed: .*deadline"):
        render_video([Segment(clip)], [], CAPTIONS, out, smart=False)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_recording_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.webm"
    bad.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "out" / "x.webm"
    with pytest.raises(MediaError, match="bad.webm"):
        render_video([Segment(bad)], [], [], out)
    with pytest.raises(RenderError, match="unknown preset"):
        render_video([Segment(bad)], [], [], out, preset="ultra")
    assert not out.exists() and not out.with_suffix(".srt").exists()


def test_cli_render_hostile_text_and_awkward_names(clip: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "a dir 'quoted'"
    folder.mkdir()
    media = folder / "-rec it's.webm"
    media.write_bytes(clip.read_bytes())
    script = folder / "lesson.md"
    hostile = "it's: 100% \\ (x), {y}; drawtext=text='z' 😀 שלום"
    script.write_text(
        "---\ntitle: Hostile\n---\n\n# Hostile\n\nFirst line of narration.\n\n"
        f"`[VISUAL TEXT: {hostile} | second item]`\n\nSecond line.\n\n"
        "`[MAIN PANEL: Three circles]`\n\nThird line.\n\nCLAP\n\n"
        "1\n00:00:00,100 --> 00:00:00,900\nSay: 'hi' 50%\n\n"
        "2\n00:00:01,000 --> 00:00:01,900\nbye\n",
        encoding="utf-8",
    )
    out = folder / "-out \"final\".webm"
    code = cli.main(["render", str(script), "--media", str(media), "-o", str(out), "--json",
                     "--no-cuts"])  # (the whole 2 s clip: no tail cut)
    assert code == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(out.with_suffix(".json").read_text())
    assert list(doc) == ["output", "duration", "trim_start", "caption_offset", "overlays",
                         "captions", "takes", "patch"]
    assert doc["captions"] == 2 and doc["trim_start"] == 0 and abs(doc["duration"] - 2.0) < 0.07
    assert [o["kind"] for o in doc["overlays"]] == ["visual_text", "main_panel"]
    assert doc["overlays"][0]["text"] == f"{hostile} | second item"
    assert ffmpeg.probe(out).subtitles == ("webvtt",)
    assert "Say: 'hi' 50%" in out.with_suffix(".srt").read_text()
    assert leftovers(folder) == []


def test_cli_render_bad_usage_exits_2(clip: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "l.md"
    script.write_text("# L\n\ntext\n")
    assert cli.main(["render", str(script), "--media", str(clip), "-o",
                     str(tmp_path / "x.mp4")]) == 2
    assert cli.main(["render", str(script), "--media", str(tmp_path / "none.webm"), "-o",
                     str(tmp_path / "x.webm")]) == 2
    assert "recording not found" in capsys.readouterr().err
