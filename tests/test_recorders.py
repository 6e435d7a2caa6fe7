"""Recordings as real recorders write them, through ``render`` and a real ``build``.

One generated take (a clap and speech-like narration at a known offset, see
pipeline/demo.py) is remuxed or re-encoded with ffmpeg into each recorder's format: a
browser's MediaRecorder (live WebM: no duration, no cues; also at a variable frame rate), a
screen recorder (H.264/AAC MP4, 44.1 kHz stereo, 1366x768, a keyframe every 20 s), a phone
(MP4 with a rotation matrix), OBS (Matroska), a WebM whose timestamps start at 3.5 s, a
WebM with a single keyframe, audio longer or shorter than the video, a second audio stream.
Each must give the same trim, caption offset, captions and overlays as the original.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REALDATA

from pipeline import ffmpeg
from pipeline.audio.clap import find_claps
from pipeline.cli import main
from pipeline.demo import make_demos

SCRIPT = """---
title: Recorder lesson
---
{media}

<span style="color:red">**CLAP**</span>

Hello there, welcome to the lesson.

`[VISUAL TEXT: first idea | second idea]`

Now the second part of the lesson begins here.

More words to finish.

`[MAIN PANEL: The closing panel]`

<span style="color:red">**CLAP**</span>
1
00:00:00,000 --> 00:00:02,000
Hello there, welcome to the lesson.

2
00:00:02,400 --> 00:00:05,000
Now the second part of the lesson begins here.

3
00:00:05,400 --> 00:00:06,600
More words to finish.
"""
CAPTIONS, OVERLAYS = 3, ("main_panel", "visual_text")
TOLERANCE = 0.015  # s: trim and caption offset against the original take's truth


@dataclass(frozen=True, slots=True)
class Base:
    path: Path
    clap: float  # s
    offset: float  # s
    duration: float  # s


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("base")
    (root / "scripts").mkdir()
    (root / "scripts" / "base.md").write_text(SCRIPT.format(media="base.webm"))
    [take] = make_demos(root / "scripts", root / "media")
    truth = json.loads(Path(f"{take.path}.truth.json").read_text())
    return Base(take.path, truth["clap"], truth["offset"], truth["duration"])


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg.executable(), "-v", "error", "-y", *args], check=True)


H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
AAC = ("-c:a", "aac", "-b:a", "96k")
VP9 = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k")


def make_variant(kind: str, src: Base, out_dir: Path) -> Path:
    """``src`` rewritten the way ``kind``'s recorder writes files."""
    i = ffmpeg.media_arg(src.path)
    d = src.duration
    if kind == "live_webm":  # MediaRecorder: streamed out, no duration, no cues
        out = out_dir / "take.webm"
        _ff("-i", i, "-c", "copy", "-f", "webm", "-live", "1", ffmpeg.media_arg(out))
    elif kind == "live_webm_vfr":  # ... with frames dropped irregularly (variable rate)
        out = out_dir / "take.webm"
        _ff("-i", i, "-vf", r"select=lt(mod(n\,7)\,4)+eq(mod(n\,11)\,0)", "-fps_mode", "vfr",
            *VP9, "-c:a", "copy", "-f", "webm", "-live", "1", ffmpeg.media_arg(out))
    elif kind == "screen_mp4":  # 1366x768, H.264 with a keyframe every 20 s, AAC 44.1 kHz
        out = out_dir / "take.mp4"
        _ff("-i", i, "-vf", "scale=1366:768", *H264, "-g", "480", "-keyint_min", "480",
            "-sc_threshold", "0", *AAC, "-ar", "44100", "-ac", "2", ffmpeg.media_arg(out))
    elif kind == "phone_mp4":  # stored landscape, shown portrait (display matrix)
        plain = out_dir / "plain.mp4"
        _ff("-i", i, "-vf", "transpose=2", *H264, *AAC, ffmpeg.media_arg(plain))
        out = out_dir / "take.mp4"
        _ff("-display_rotation:v:0", "-90", "-i", ffmpeg.media_arg(plain), "-c", "copy",
            ffmpeg.media_arg(out))
        plain.unlink()
    elif kind == "obs_mkv":
        out = out_dir / "take.mkv"
        _ff("-i", i, *H264, "-g", "60", *AAC, ffmpeg.media_arg(out))
    elif kind == "offset_webm":  # timestamps start at 3.5 s
        out = out_dir / "take.webm"
        _ff("-i", i, "-c", "copy", "-output_ts_offset", "3.5", ffmpeg.media_arg(out))
    elif kind == "one_keyframe_webm":
        out = out_dir / "take.webm"
        _ff("-i", i, *VP9, "-g", "100000", "-c:a", "copy", ffmpeg.media_arg(out))
    elif kind == "audio_longer":  # the video stops 1 s before the audio
        out = out_dir / "take.webm"
        _ff("-t", f"{d - 1:.3f}", "-i", i, "-i", i, "-map", "0:v", "-map", "1:a", "-c", "copy",
            ffmpeg.media_arg(out))
    elif kind == "video_longer":  # the audio stops 1 s before the video
        out = out_dir / "take.webm"
        _ff("-i", i, "-t", f"{d - 1:.3f}", "-i", i, "-map", "0:v", "-map", "1:a", "-c", "copy",
            ffmpeg.media_arg(out))
    elif kind == "second_audio":  # a second audio stream (system sound) after the voice
        out = out_dir / "take.webm"
        _ff("-i", i, "-f", "lavfi", "-t", f"{d:.3f}", "-i", "sine=f=220:sample_rate=48000",
            "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy", "-c:a", "libopus",
            ffmpeg.media_arg(out))
    else:
        raise AssertionError(kind)
    return out


KINDS = ("live_webm", "live_webm_vfr", "screen_mp4", "phone_mp4", "obs_mkv", "offset_webm",
         "one_keyframe_webm", "audio_longer", "video_longer", "second_audio")


@pytest.fixture(scope="session", params=KINDS)
def variant(request: pytest.FixtureRequest, base: Base,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    kind = request.param
    return kind, make_variant(kind, base, tmp_path_factory.mktemp(kind))


def probe_text(path: Path) -> str:
    return subprocess.run([ffmpeg.executable(), "-hide_banner", "-i", ffmpeg.media_arg(path)],
                          capture_output=True, text=True).stderr


def decode_errors(path: Path) -> str:
    return subprocess.run([ffmpeg.executable(), "-v", "error", "-i", ffmpeg.media_arg(path),
                           "-f", "null", "-"], capture_output=True, text=True).stderr.strip()


def test_variants_are_what_recorders_write(variant: tuple[str, Path]) -> None:
    kind, path = variant
    text = probe_text(path)
    if kind.startswith("live"):
        assert "Duration: N/A" in text
    if kind == "offset_webm":
        assert "start: 3.500000" in text
    if kind == "phone_mp4":
        assert "rotation of" in text
    if kind == "second_audio":
        assert text.count("Audio:") == 2
    if kind == "screen_mp4":
        assert "1366x768" in text and "44100 Hz, stereo" in text


def check_output(video: Path, doc: dict, base: Base) -> None:
    assert abs(doc["trim_start"] - (base.clap + 0.5)) <= TOLERANCE, doc["trim_start"]
    assert abs(doc["caption_offset"] - base.offset) <= TOLERANCE, doc["caption_offset"]
    assert doc["captions"] == CAPTIONS
    assert tuple(sorted(o["kind"] for o in doc["overlays"])) == OVERLAYS
    info = ffmpeg.probe(video)
    assert (info.video, info.audio, info.subtitles) == ("vp9", "opus", ("webvtt",))
    assert decode_errors(video) == ""
    assert find_claps(video).claps == ()  # the clap was trimmed off
    expected = base.duration - doc["trim_start"]
    assert abs(doc["duration"] - expected) <= 0.1, (doc["duration"], expected)


def test_render_gives_the_original_trim_offset_captions_and_overlays(
        variant: tuple[str, Path], base: Base, tmp_path: Path, capsys) -> None:
    kind, path = variant
    script = tmp_path / "lesson.md"
    script.write_text(SCRIPT.format(media=path.name))
    out = tmp_path / "out" / "lesson.webm"
    code = main(["render", str(script), "--media", str(path), "-o", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "warning" not in captured.err
    check_output(out, json.loads(captured.out), base)
