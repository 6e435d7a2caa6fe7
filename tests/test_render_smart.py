"""Smart render: keyframe-interval planning (pure) and renders that copy untouched intervals."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_render_media import extract_subtitles, frame_at, make_clip, near, patch

from pipeline import ffmpeg
from pipeline.ffmpeg import executable, media_arg
from pipeline.render.plan import CardInput, Frame, Overlay, Segment, Source, Timing
from pipeline.render.run import render_video
from pipeline.render.smart import (
    Packet,
    Piece,
    concat_list,
    encode_piece_args,
    mux_args,
    parse_framecrc,
    plan_pieces,
    shift_card,
    smart_codec_args,
)
from pipeline.render.theme import Theme

FRAMECRC = """#tb 0: 1/1000
#media_type 0: video
0,          0,          0,       33,     7394, 0x0f938a54
0,         33,         33,       33,     1508, 0x18cbff85, F=0x0
0,       1000,       1000,       33,     7822, 0x065033b2
0,       1033,       1033,       33,     1000, 0x065033b3, F=0x0
"""


def packets(seconds: int = 4, fps: int = 10, gop: int = 10) -> list[Packet]:
    """``seconds`` of ``fps`` frames with a keyframe every ``gop`` frames (100 ms apart)."""
    step = 1000 // fps
    return [Packet(n * step, step, n % gop == 0, 1000) for n in range(seconds * fps)]


def kinds(pieces: list[Piece]) -> list[tuple[int, int, int, str]]:
    return [(p.start, p.end, p.frames, "enc" if p.encode else "copy") for p in pieces]


def test_parse_framecrc_reads_keyframe_flags_and_timebase() -> None:
    got = parse_framecrc(FRAMECRC)
    assert [(p.pts, p.key, p.size) for p in got] == [(0, True, 7394), (33, False, 1508),
                                                     (1000, True, 7822), (1033, False, 1000)]
    assert parse_framecrc(FRAMECRC.replace("1/1000", "1/90000"))[2].pts == 11


def test_untouched_recording_is_one_copied_piece() -> None:
    assert kinds(plan_pieces(packets(), 0, 4000, [])) == [(0, 4000, 40, "copy")]


def test_only_intervals_an_overlay_touches_are_encoded() -> None:
    pieces = plan_pieces(packets(), 0, 4000, [(1500, 2200)])
    assert kinds(pieces) == [(0, 1000, 10, "copy"), (1000, 3000, 20, "enc"),
                             (3000, 4000, 10, "copy")]
    # an overlay ending exactly on a keyframe does not touch the next interval
    assert kinds(plan_pieces(packets(), 0, 4000, [(1000, 2000)]))[1] == (1000, 2000, 10, "enc")


def test_trim_inside_an_interval_encodes_from_the_cut() -> None:
    # the start inside an interval is re-encoded (it needs a keyframe); an end inside one
    # is copied up to the cut (its frames decode from the interval's own keyframe)
    pieces = plan_pieces(packets(), 1300, 3500, [])
    assert kinds(pieces) == [(1300, 2000, 7, "enc"), (2000, 3500, 15, "copy")]
    assert sum(p.frames for p in pieces) == 22


def test_trim_on_a_keyframe_copies_from_it() -> None:
    assert kinds(plan_pieces(packets(), 2000, 4000, [])) == [(2000, 4000, 20, "copy")]


def test_shift_card_moves_its_timing() -> None:
    card = CardInput(Path("/w/c_%02d.png"), Timing(2000, 3000, 100, 2), 10, 20)
    assert shift_card(card, 1500).timing == Timing(500, 1500, 100, 2)


def test_encode_piece_args_decode_span_composite_and_encode_video_only() -> None:
    card = CardInput(Path("/w/c_%02d.png"), Timing(500, 1500, 0, 0), 10, 20)
    args = encode_piece_args(Path("/m/rec.webm"), Piece(1000, 3000, 60, True), [card],
                             Frame(320, 180, 30), "fast", Path("/w/p.webm"), source_kbps=900)
    assert args[:4] == ["-ss", "1", "-i", "file:/m/rec.webm"]
    graph = args[args.index("-filter_complex") + 1]
    assert "[0:v][c0]overlay=x=10:y=20:enable='between(t,0.5,1.499)'" in graph
    assert "-an" in args and args[args.index("-frames:v") + 1] == "60"
    assert args[args.index("-b:v") + 1] == "1350k"  # 1.5x the recording's own rate


def test_smart_codec_keeps_preset_floor_and_final_quality() -> None:
    frame = Frame(1920, 1080, 30)
    assert "2000k" in smart_codec_args("fast", frame, 100)
    assert "-crf" in smart_codec_args("final", frame, 5000)


def test_concat_list_quotes_paths() -> None:
    text = concat_list([Path("/w/a.webm"), Path("/w/it's.webm")], [5000, 1234])
    assert text.splitlines() == ["ffconcat version 1.0", "file '/w/a.webm'", "duration 5",
                                 "file '/w/it'\\''s.webm'", "duration 1.234"]


def test_mux_copies_audio_whole_unless_trimmed() -> None:
    whole = Source(Path("/m/r.webm"), 0, 9000, True)
    args = mux_args(Path("/w/l.ffconcat"), whole, 9000, "opus", Path("/w/c.vtt"), Path("/o.webm"))
    assert args[args.index("-c:a") + 1] == "copy" and "-ss" not in args
    assert args[args.index("-c:v") + 1] == "copy" and args[args.index("-c:s") + 1] == "copy"
    trimmed = mux_args(Path("/w/l.ffconcat"), Source(Path("/m/r.webm"), 1500, 9000, True), 9000,
                       "opus", None, Path("/o.webm"))
    assert trimmed[trimmed.index("-c:a") + 1] == "libopus"
    assert trimmed[trimmed.index("-ss") + 1] == "1.5" and "-c:s" not in trimmed


# --- end to end -------------------------------------------------------------------------

def packet_crcs(path: Path, stream: str = "v") -> dict[int, str]:
    proc = subprocess.run([executable(), "-v", "error", "-i", media_arg(path), "-map",
                           f"0:{stream}:0", "-c", "copy", "-f", "framecrc", "pipe:1"],
                          capture_output=True, text=True, check=True)
    lines = [line.split(",") for line in proc.stdout.splitlines() if not line.startswith("#")]
    return {int(f[2]): f[5].strip() for f in lines if len(f) >= 6}


def psnr(a: Path, b: Path, b_start: int = 0) -> list[float]:
    proc = subprocess.run(
        [executable(), "-v", "error", "-i", media_arg(a), "-ss", f"{b_start / 1000}", "-i",
         media_arg(b), "-lavfi",
         "[0:v]setpts=PTS-STARTPTS[x];[1:v]setpts=PTS-STARTPTS[y];[x][y]psnr=stats_file=-",
         "-f", "null", "-"], capture_output=True, text=True, check=True)
    values = re.findall(r"psnr_avg:(\S+)", proc.stdout)
    return [float("inf") if v == "inf" else float(v) for v in values]


@pytest.fixture(scope="module")
def pattern(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 3 s, keyframe every 0.5 s, moving picture
    return make_clip(tmp_path_factory.mktemp("smart") / "rec.webm", seconds=3.0,
                     size="320x180", gop=15, pattern=True)


def test_smart_render_copies_untouched_intervals_bit_for_bit(pattern: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "smart.webm"
    theme = Theme(background="#ff00ffff", fade=0, padding=20)
    result = render_video([Segment(pattern)],
                          [Overlay("visual_text", "card", ("card",), 1100, 1300)],
                          [], out, theme=theme)
    assert result.smart and abs(result.duration - 3000) <= 60
    source, rendered = packet_crcs(pattern), packet_crcs(out)
    assert sorted(rendered) == sorted(source)  # same frame count and timestamps
    changed = [pts for pts in source if source[pts] != rendered[pts]]
    assert changed and min(changed) >= 1000 and max(changed) < 1500  # only [1, 1.5) re-encoded
    assert packet_crcs(out, "a") == packet_crcs(pattern, "a")  # audio copied whole
    quality = psnr(out, pattern)
    assert len(quality) == 90
    assert min(quality[39:45]) >= 30  # re-encoded frames after the card, up to the join
    box = result.overlays[0]
    x, y = box.x + box.w - 4, box.y + box.h // 2
    assert near(patch(frame_at(out, 1200, 320, 180), x, y), (255, 0, 255))
    assert not near(patch(frame_at(out, 1400, 320, 180), x, y), (255, 0, 255))


def test_smart_render_with_trim_and_captions(pattern: Path, tmp_path: Path) -> None:
    from pipeline.models import Caption

    out = tmp_path / "trimmed.webm"
    result = render_video([Segment(pattern, 700, None)], [],
                          [Caption(1, 100, 800, "after the clap: 'yes'")], out)
    assert result.smart and abs(result.duration - 2300) <= 60
    info = ffmpeg.probe(out)
    assert (info.video, info.audio, info.subtitles) == ("vp9", "opus", ("webvtt",))
    assert len(packet_crcs(out)) == 69  # frames from 0.7 s on
    assert "00:00.100 --> 00:00.800" in extract_subtitles(out, tmp_path / "s.vtt")
    first = frame_at(out, 0, 320, 180).astype(int)
    at_cut = frame_at(pattern, 700, 320, 180).astype(int)
    assert np.abs(first - at_cut).mean() < 6  # starts on the source's frame at 0.7 s
    assert min(psnr(out, pattern, 700)) >= 30


def test_full_flag_and_burn_in_skip_smart_render(pattern: Path, tmp_path: Path) -> None:
    assert not render_video([Segment(pattern)], [], [], tmp_path / "a.webm", smart=False).smart
    from pipeline.models import Caption

    burned = render_video([Segment(pattern)], [], [Caption(1, 0, 500, "x")],
                          tmp_path / "b.webm", burn_in=True)
    assert not burned.smart


def test_failed_smart_render_leaves_nothing_and_reports_ffmpeg(
        pattern: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import MediaError
    from pipeline.render import smart

    monkeypatch.setattr(smart, "smart_codec_args",
                        lambda preset, frame, kbps: ["-c:v", "libvpx-vp9", "-cpu-used", "99"])
    out = tmp_path / "o" / "fail.webm"
    with pytest.raises(MediaError, match="ffmpeg failed: .*cpu-used"):
        render_video([Segment(pattern)], [Overlay("visual_text", "c", ("c",), 100, 400)], [], out)
    assert list(out.parent.iterdir()) == []
