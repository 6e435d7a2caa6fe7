"""Pure tests of the render planners and ffmpeg argument builders (no ffmpeg runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import RenderError
from pipeline.models import Caption
from pipeline.render.ass import ass_colour, ass_text, ass_time, to_ass
from pipeline.render.ffmpeg_args import (
    escape_filter_value,
    full_render_args,
    image2_pattern,
    sec,
    setpts_expr,
    video_codec_args,
)
from pipeline.render.plan import (
    CardInput,
    Frame,
    Overlay,
    PlacedOverlay,
    RenderResult,
    Segment,
    Source,
    Timing,
    clip_captions,
    plan_timing,
    resolve_sources,
    video_bitrate,
)
from pipeline.render.theme import DEFAULT_THEME, load_theme, parse_colour

FRAME = Frame(1920, 1080, 30.0)
SRC = Source(Path("/m/rec.webm"), 0, 10_000, True)


def card(i: int, start: int, end: int, steps: int = 0) -> CardInput:
    return CardInput(Path(f"/tmp/w/card{i:03d}_%02d.png"), Timing(start, end, 200 if steps else 0,
                                                                   steps), 96, 96)


def filter_graph(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def test_sec_formats_milliseconds_as_seconds() -> None:
    assert [sec(0), sec(1500), sec(61_001), sec(40)] == ["0", "1.5", "61.001", "0.04"]


def test_escape_filter_value_escapes_both_levels() -> None:
    assert escape_filter_value("/a b/c") == "/a b/c"
    assert escape_filter_value("x:y") == "x\\\\:y"
    assert escape_filter_value("it's") == "it\\\\\\'s"
    assert escape_filter_value("a[1],b;c") == "a\\[1\\]\\,b\\;c"
    assert escape_filter_value("back\\slash") == "back\\\\\\\\slash"


def test_image2_pattern_doubles_percent_in_folder() -> None:
    assert image2_pattern(Path("/tmp/50%"), "card001") == "/tmp/50%%/card001_%02d.png"


def test_fast_preset_is_vp9_realtime_row_mt() -> None:
    args = video_codec_args("fast", FRAME)
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["-c:v"] == "libvpx-vp9"
    assert pairs["-deadline"] == "realtime" and pairs["-cpu-used"] == "8"
    assert pairs["-row-mt"] == "1" and pairs["-b:v"] == "2000k"
    assert pairs["-pix_fmt"] == "yuv420p" and pairs["-g"] == "150"


def test_final_preset_is_quality_and_unknown_preset_fails() -> None:
    args = video_codec_args("final", FRAME)
    assert "good" in args and "-crf" in args
    with pytest.raises(ValueError):
        video_codec_args("ultra", FRAME)


def test_bitrate_scales_with_area_and_has_a_floor() -> None:
    assert video_bitrate(1920, 1080) == 2000
    assert 150 <= video_bitrate(160, 90) < video_bitrate(1280, 720) < 2000


def test_single_source_graph_overlays_each_card_once_in_its_span() -> None:
    args = full_render_args([SRC], FRAME, [card(0, 1000, 3000), card(1, 4000, 6000)],
                            Path("/out/x.webm"), captions_vtt=Path("/tmp/w/c.vtt"),
                            duration=10_000, full_lengths=[10_000])
    graph = filter_graph(args)
    assert "concat" not in graph and "movie=" not in graph and "loop" not in graph
    assert "overlay=x=96:y=96:enable='between(t,1,2.999)'" in graph
    assert "enable='between(t,4,5.999)'" in graph
    assert graph.count("overlay=") == 2 and graph.endswith("format=yuv420p[vout]")
    assert args[:2] == ["-i", "file:/m/rec.webm"]  # whole recording: no -ss / -to
    assert args.count("-framerate") == 2  # each card read once, as a short image sequence
    # the audio goes through its chain (48 kHz stereo, the loudness gain when there is one)
    assert ["-map", "[vout]", "-map", "[asrc]"] == args[args.index("-map"):args.index("-map") + 4]
    assert "[0:a:0]aresample=48000,pan=stereo|FL=FL+FC|FR=FR+FC[asrc]" in graph
    assert "webvtt" in args and args[args.index("-c:s") + 1] == "copy"
    assert args[-3:] == ["-f", "webm", "file:/out/x.webm"]
    assert args[args.index("-t") + 1] == "10" and "libopus" in args and "48000" in args


def test_trimmed_source_seeks_on_input() -> None:
    args = full_render_args([Source(Path("/m/a.webm"), 1500, 4000, True)], FRAME, [],
                            Path("/o.webm"), duration=2500, full_lengths=[9000])
    assert args[:5] == ["-ss", "1.5", "-to", "4", "-i"]


def test_several_sources_are_normalised_and_concatenated_with_audio() -> None:
    sources = [SRC, Source(Path("/m/b.webm"), 2000, 5000, False)]
    graph = filter_graph(full_render_args(sources, FRAME, [card(0, 500, 900)], Path("/o.webm"),
                                          duration=13_000))
    assert "[v0][a0][v1][a1]concat=n=2:v=1:a=1[vcat][acat]" in graph
    assert "anullsrc=r=48000:cl=stereo,atrim=duration=3[a1]" in graph  # b has no audio
    assert "[vcat][c0]overlay" in graph


def test_burn_in_uses_subtitles_filter_with_escaped_path_and_no_subtitle_stream() -> None:
    args = full_render_args([SRC], FRAME, [], Path("/o.webm"),
                            burn_in=Path("/tmp/it's:[x]/c.ass"), fonts_dir=Path("/f"),
                            duration=10_000)
    graph = filter_graph(args)
    assert "subtitles=filename=/tmp/it\\\\\\'s\\\\:\\[x\\]/c.ass:fontsdir=/f" in graph
    assert "-c:s" not in args


def test_fade_schedule_places_frames() -> None:
    timing = Timing(1000, 3000, 200, 4)
    assert timing.frames == 9
    assert timing.frame_times() == (1000, 1050, 1100, 1150, 1200, 2800, 2850, 2900, 2950)
    assert setpts_expr(Timing(1000, 3000, 0, 0)) == "1"
    assert setpts_expr(timing).startswith("if(lt(N,4),1+N*0.050000,if(eq(N,4),1.2,2.8+(N-5)")


def test_plan_timing_clamps_and_drops() -> None:
    assert plan_timing(Overlay("visual_text", "t", (), -500, 2000), 10_000, 250, 30) == \
        Timing(0, 2000, 250, 6)
    assert plan_timing(Overlay("visual_text", "t", (), 9000, 12_000), 10_000, 0, 30) == \
        Timing(9000, 10_000, 0, 0)
    assert plan_timing(Overlay("visual_text", "t", (), 11_000, 12_000), 10_000, 250, 30) is None
    short = plan_timing(Overlay("visual_text", "t", (), 0, 150), 10_000, 250, 30)
    assert short is not None and short.fade <= 50


def test_clip_captions_keeps_output_span_and_renumbers() -> None:
    caps = [Caption(7, -500, 400, "a"), Caption(8, 500, 900, " \n"), Caption(9, 1000, 1500, "b\n\nc"),
            Caption(10, 2500, 3000, "late")]
    kept = clip_captions(caps, 2000)
    assert [(c.index, c.start, c.end, c.text) for c in kept] == [(1, 0, 400, "a"),
                                                                 (2, 1000, 1500, "b\nc")]


def test_resolve_sources_clamps_to_recording() -> None:
    got = resolve_sources([Segment(Path("a"), 500, None), Segment(Path("b"), 0, 99_999)],
                          [3000, 4000], [True, False])
    assert [(s.start, s.end, s.has_audio) for s in got] == [(500, 3000, True), (0, 4000, False)]


def test_manifest_has_exactly_interface_fields() -> None:
    result = RenderResult(Path("out/x.webm"), 61_234,
                          (PlacedOverlay("visual_text", "a | b", 1000, 7000, 96, 96, 720, 200),),
                          12, True)
    doc = result.to_json(trim_start=2_345, caption_offset=-120)
    assert list(doc) == ["output", "duration", "trim_start", "caption_offset", "overlays",
                         "captions"]
    assert doc["duration"] == 61.234 and doc["trim_start"] == 2.345
    assert doc["caption_offset"] == -0.12 and doc["captions"] == 12
    assert doc["overlays"] == [{"kind": "visual_text", "text": "a | b", "start": 1.0, "end": 7.0,
                                "x": 96, "y": 96, "w": 720, "h": 200}]


def test_theme_file(tmp_path: Path) -> None:
    path = tmp_path / "theme.toml"
    path.write_text('[theme]\ncard_x = 120\naccent = "#ff0000"\nfade = 0\n')
    theme = load_theme(path)
    assert (theme.card_x, theme.accent, theme.fade) == (120, "#ff0000", 0)
    assert theme.font_size == DEFAULT_THEME.font_size
    path.write_text("card_xx = 1\n")
    with pytest.raises(RenderError, match="unknown theme key 'card_xx'"):
        load_theme(path)
    path.write_text('accent = "red"\n')
    with pytest.raises(RenderError, match="accent"):
        load_theme(path)
    path.write_text("fade = [\n")
    with pytest.raises(RenderError, match="TOML"):
        load_theme(path)
    assert parse_colour("#11223380") == (0x11, 0x22, 0x33, 0x80)


def test_ass_escapes_text_and_formats_style() -> None:
    assert ass_time(3_723_456) == "1:02:03.45"
    assert ass_colour("#11223380") == "&H7F332211"
    assert ass_text("{\\b1}bold\\N\nnext") == "\\{\\\u2060b1\\}bold\\\u2060N\\Nnext"
    doc = to_ass([Caption(1, 0, 1000, "hi: 100%")], 1280, 720, DEFAULT_THEME)
    assert "PlayResY: 720" in doc and "Dialogue: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,hi: 100%" in doc


