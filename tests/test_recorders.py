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
from conftest import tiny_script

from pipeline import ffmpeg
from pipeline.audio.clap import find_claps
from pipeline.cli import main
from pipeline.demo import make_demos

SCRIPT = tiny_script(title="Recorder lesson", media="{media}", cuts="off")  # timing by the trim
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
    elif kind == "phone_mp4":  # stored as the sensor sees it, shown upright (display matrix)
        plain = out_dir / "plain.mp4"
        _ff("-i", i, *H264, *AAC, ffmpeg.media_arg(plain))
        out = out_dir / "take.mp4"
        _ff("-display_rotation:v:0", "90", "-i", ffmpeg.media_arg(plain), "-c", "copy",
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
    elif kind == "audio_starts_late":  # the audio stream begins 0.3 s after the video
        out = out_dir / "take.webm"
        _ff("-i", i, "-itsoffset", f"{LATE_AUDIO:.3f}", "-i", i, "-map", "0:v", "-map", "1:a",
            "-c:v", "copy", "-c:a", "libopus", ffmpeg.media_arg(out))
    elif kind == "second_audio":  # a second audio stream (system sound) after the voice
        out = out_dir / "take.webm"
        _ff("-i", i, "-f", "lavfi", "-t", f"{d:.3f}", "-i", "sine=f=220:sample_rate=48000",
            "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy", "-c:a", "libopus",
            ffmpeg.media_arg(out))
    else:
        raise AssertionError(kind)
    return out


KINDS = ("live_webm", "live_webm_vfr", "screen_mp4", "phone_mp4", "obs_mkv", "offset_webm",
         "one_keyframe_webm", "audio_longer", "video_longer", "audio_starts_late",
         "second_audio")
# In the file's time, the late audio's clap and speech come LATE_AUDIO later than the base
# take's (the video is cut on the file's timeline, so that is where the trim must be).
LATE_AUDIO = 0.3
SHIFT = {"audio_starts_late": LATE_AUDIO}


# the frame each recorder's file decodes to (the phone's is stored 480x270 and its display
# matrix turns it upright: a probe that ignored the matrix would place cards off the frame)
SIZES = {"screen_mp4": (1366, 768), "phone_mp4": (270, 480)}


@pytest.fixture(scope="session")
def variants(base: Base, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every recorder's file, made once per session."""
    return {kind: make_variant(kind, base, tmp_path_factory.mktemp(kind)) for kind in KINDS}


@pytest.fixture(params=KINDS)
def variant(request: pytest.FixtureRequest, variants: dict[str, Path]) -> tuple[str, Path]:
    return request.param, variants[request.param]


def probe_text(path: Path) -> str:
    return subprocess.run([ffmpeg.executable(), "-hide_banner", "-i", ffmpeg.media_arg(path)],
                          check=False, capture_output=True, text=True).stderr


def decode_errors(path: Path) -> str:
    return subprocess.run([ffmpeg.executable(), "-v", "error", "-i", ffmpeg.media_arg(path),
                           "-f", "null", "-"], check=False, capture_output=True,
                          text=True).stderr.strip()


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
    if kind == "audio_starts_late":
        assert f"start {LATE_AUDIO:.2f}" in text  # 0.301: Opus pre-skip
    if kind == "screen_mp4":
        assert "1366x768" in text and "44100 Hz, stereo" in text


def check_output(video: Path, doc: dict, base: Base, kind: str) -> None:
    shift = SHIFT.get(kind, 0.0)
    assert abs(doc["trim_start"] - (base.clap + shift + 0.5)) <= TOLERANCE, doc["trim_start"]
    assert abs(doc["caption_offset"] - (base.offset + shift)) <= TOLERANCE, doc["caption_offset"]
    assert doc["captions"] == CAPTIONS
    assert tuple(sorted(o["kind"] for o in doc["overlays"])) == OVERLAYS
    info = ffmpeg.probe(video)
    assert (info.video, info.audio, info.subtitles) == ("vp9", "opus", ("webvtt",))
    assert (info.width, info.height) == SIZES.get(kind, (480, 270))
    for o in doc["overlays"]:  # every card inside the frame and inside the video
        assert 0 <= o["x"] and o["x"] + o["w"] <= info.width, o
        assert 0 <= o["y"] and o["y"] + o["h"] <= info.height, o
        # within a frame (42 ms at 24 fps) and the 10 ms ffmpeg -i rounds durations to
        assert 0 <= o["start"] < o["end"] <= doc["duration"] + 0.052, o
    assert decode_errors(video) == ""
    assert find_claps(video).claps == ()  # the clap was trimmed off
    expected = base.duration + shift - doc["trim_start"]
    assert abs(doc["duration"] - expected) <= 0.1, (doc["duration"], expected)


def test_render_gives_the_original_trim_offset_captions_and_overlays(
        variant: tuple[str, Path], base: Base, tmp_path: Path, capsys) -> None:
    kind, path = variant
    script = tmp_path / "lesson.md"
    script.write_text(SCRIPT.format(media=path.name))
    out = tmp_path / "out" / "lesson.webm"
    code = main(["render", str(script), "--media", str(path), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "warning" not in captured.err
    # VP9 recordings take the smart path (keyframe listing and cuts from the stream start)
    smart = ffmpeg.probe(path).video == "vp9"
    assert ("(smart render)" if smart else "(full encode)") in captured.out
    check_output(out, json.loads(out.with_suffix(".json").read_text()), base, kind)


@pytest.mark.parametrize("kind", ["offset_webm", "live_webm_vfr"])
def test_full_render_of_webm_recorders(kind: str, variants: dict[str, Path], base: Base,
                                       tmp_path: Path, capsys) -> None:
    script = tmp_path / "lesson.md"
    script.write_text(SCRIPT.format(media=variants[kind].name))
    out = tmp_path / "lesson.webm"
    assert main(["render", str(script), "--media", str(variants[kind]), "-o", str(out),
                 "--full", "--json"]) == 0
    check_output(out, json.loads(capsys.readouterr().out), base, kind)


def test_build_finds_and_builds_every_recorder_format(variants: dict[str, Path], base: Base,
                                                      tmp_path: Path, capsys) -> None:
    """A real ``build``: one lesson per recorder; the screen recording is found by the
    lesson's own name (its script names no recording) in an MP4."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "media").mkdir()
    for kind, path in variants.items():
        stored = tmp_path / "media" / f"{kind}{path.suffix}"
        shutil.copy(path, stored)
        named = "" if kind == "screen_mp4" else stored.name
        (tmp_path / "scripts" / f"{kind}.md").write_text(SCRIPT.format(media=named))
    code = main(["build", "--root", str(tmp_path), "--jobs", "2", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert {(o["name"], o["status"]) for o in doc["lessons"]} == {(k, "built") for k in KINDS}
    for kind in KINDS:
        folder = tmp_path / "output" / kind
        summary = json.loads((folder / "data" / "summary.json").read_text())
        assert summary["dropped"] == [], kind
        assert summary["media"] == [variants[kind].name.replace("take", kind)]
        manifest = json.loads((folder / f"{kind}.json").read_text())
        check_output(folder / f"{kind}.webm", manifest, base, kind)
        [sync] = summary["sync"]
        assert sync["trim_start"] == manifest["trim_start"]


def test_a_real_recording_without_a_duration(realdata: Path, tmp_path: Path, capsys) -> None:
    """moviepy's no-duration WebM (``Duration: N/A``): measured, rendered whole."""
    path = realdata / "video" / "moviepy_no_duration.webm"
    if not path.is_file():
        pytest.skip(f"{path} is not in ../shared/realdata")
    assert "Duration: N/A" in probe_text(path)
    info = ffmpeg.probe(path, measure=True)
    frames = subprocess.run(
        [ffmpeg.executable(), "-v", "error", "-i", ffmpeg.media_arg(path), "-map", "0:v",
         "-f", "framecrc", "-"], capture_output=True, text=True, check=True).stdout
    decoded = [line for line in frames.splitlines() if line and not line.startswith("#")]
    assert info.duration is not None
    assert abs(info.duration - len(decoded) * 1000 / info.fps) <= 70  # within a frame
    script = tmp_path / "real.md"
    script.write_text("---\ntitle: Real\ncaption_offset: 0\n---\nmoviepy_no_duration.webm\n\n"
                      "Hello there.\n\n`[VISUAL TEXT: real file]`\n\nAnd more words.\n\n"
                      "**CLAP**\n1\n00:00:00,500 --> 00:00:02,000\nHello there.\n\n"
                      "2\n00:00:02,500 --> 00:00:04,500\nAnd more words.\n")
    out = tmp_path / "real.webm"
    assert main(["render", str(script), "--media", str(path), "-o", str(out), "--json",
                 "--no-cuts"]) == 0  # (rendered whole: no tail cut)
    doc = json.loads(capsys.readouterr().out)
    assert doc["captions"] == 2 and [o["kind"] for o in doc["overlays"]] == ["visual_text"]
    assert abs(doc["duration"] - (info.duration / 1000 - doc["trim_start"])) <= 0.1
    assert decode_errors(out) == ""


# --- nothing dropped silently ----------------------------------------------------------

LATE = """
4
00:00:30,000 --> 00:00:32,000
Words the recording never reached.
"""


def late_script(folder: Path, base: Base, media: str) -> tuple[Path, int, int]:
    """A script whose last caption and cue come after the recording ends; returns the
    script and the script lines of the late cue and the late caption's timing."""
    text = SCRIPT.format(media=media).replace(
        "`[MAIN PANEL: The closing panel]`\n",
        "`[MAIN PANEL: The closing panel]`\n\nWords the recording never reached.\n\n"
        "`[VISUAL TEXT: late idea]`\n").rstrip("\n") + "\n" + LATE
    # pinned offset: the sync is not what this test is about
    text = text.replace("title: Recorder lesson", f"title: Recorder lesson\ncaption_offset: {base.offset}")
    script = folder / "late.md"
    script.write_text(text)
    lines = text.splitlines()
    return (script, lines.index("`[VISUAL TEXT: late idea]`") + 1,
            lines.index("00:00:30,000 --> 00:00:32,000") + 1)


def test_render_names_every_cue_and_caption_it_could_not_place(
        base: Base, tmp_path: Path, capsys) -> None:
    script, cue_line, caption_line = late_script(tmp_path, base, base.path.name)
    out = tmp_path / "late.webm"
    assert main(["render", str(script), "--media", str(base.path), "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert (f"{script}:{cue_line}: warning: VISUAL TEXT 'late idea' is not in the output: "
            "outside every recording (caption time 32.000 s)") in err
    assert any(e.startswith(f"{script}:{caption_line}: warning: caption 'Words the recording")
               for e in err), err
    assert main(["render", str(script), "--media", str(base.path), "-o", str(out),
                 "--strict"]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 2


def test_build_reports_drops_in_summary_index_and_fails_them_under_strict(
        base: Base, tmp_path: Path, capsys) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "media").mkdir()
    shutil.copy(base.path, tmp_path / "media" / "late.webm")
    script, cue_line, caption_line = late_script(tmp_path / "scripts", base, "late.webm")
    assert main(["build", "--root", str(tmp_path), "--jobs", "1", "--json"]) == 0
    captured = capsys.readouterr()
    [lesson] = json.loads(captured.out)["lessons"]
    assert lesson["status"] == "built" and len(lesson["warnings"]) == 2
    assert f"{script}:{cue_line}: warning: VISUAL TEXT 'late idea'" in captured.err
    summary = json.loads((tmp_path / "output" / "late" / "data" / "summary.json").read_text())
    assert [(d["kind"], d["line"], d["file"]) for d in summary["dropped"]] == [
        ("visual_text", cue_line, "late.md"), ("caption", caption_line, "late.md")]
    assert all(d["reason"].startswith("outside every recording") for d in summary["dropped"])
    assert summary["captions"] == CAPTIONS  # the three the recording holds
    index = (tmp_path / "output" / "index.html").read_text()
    assert "2 not in the video" in index and f"late.md:{cue_line}" in index
    assert "late idea" in index and "2 dropped" in index

    # --strict: the cached lesson fails (its summary says what it lacks), and so does a
    # rebuild; the previous output stays in place
    for extra in ([], ["--force"]):
        assert main(["build", "--root", str(tmp_path), "--strict", "--json", *extra]) == 1
        captured = capsys.readouterr()
        [lesson] = json.loads(captured.out)["lessons"]
        assert lesson["status"] == "failed" and "--strict" in lesson["reason"], lesson
        assert f"{script}:{cue_line}: warning:" in captured.err
        assert (tmp_path / "output" / "late" / "late.webm").is_file()


def test_a_clean_lesson_has_an_empty_dropped_list(base: Base, tmp_path: Path) -> None:
    from pipeline.lesson import produce

    script = tmp_path / "clean.md"
    script.write_text(SCRIPT.format(media=base.path.name))
    summary = produce(script, [base.path], tmp_path / "out", name="clean")
    assert summary["dropped"] == [] and summary["status"] == "built"


@pytest.mark.parametrize(("head", "rotation", "expected"), [
    ("Duration: N/A, start: 3.500000, bitrate: N/A", "-90.00", (None, 3500, 1080, 1920)),
    ("Duration: 00:01:02.50, start: -0.021333, bitrate: 900 kb/s", "180.00",
     (62_500, -21, 1920, 1080)),
    ("Duration: 00:00:04.00, start: 0.000000, bitrate: 1 kb/s", "270.00", (4000, 0, 1080, 1920)),
])
def test_probe_reads_start_rotation_and_an_unknown_duration(
        head: str, rotation: str, expected: tuple[object, ...]) -> None:
    text = (f"Input #0, mov,mp4, from 'x':\n  {head}\n"
            "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, "
            "1920x1080, 30 fps, 30 tbr, 90k tbn (default)\n"
            f"    Side data:\n      Display Matrix: rotation of {rotation} degrees\n"
            "  Stream #0:1[0x2](und): Audio: aac (LC), 44100 Hz, stereo, fltp (default)\n")
    info = ffmpeg.parse_probe(Path("x.mp4"), text)
    assert (info.duration, info.start, info.width, info.height) == expected


def test_probe_reads_how_late_the_audio_starts() -> None:
    text = ("Input #0, matroska,webm, from 'x':\n  Duration: 00:00:11.06, start: 0.000000\n"
            "  Stream #0:0: Video: vp9 (Profile 0), yuv420p, 480x270, 24 fps, 1k tbn\n"
            "  Stream #0:1: Audio: opus, 48000 Hz, mono, fltp, start 0.301000\n")
    assert ffmpeg.parse_probe(Path("x.webm"), text).audio_delay == 301
    shifted = text.replace("start: 0.000000", "start: 0.200000")
    assert ffmpeg.parse_probe(Path("x.webm"), shifted).audio_delay == 101


def test_a_take_measured_empty_is_named_in_the_reason(tmp_path: Path) -> None:
    # protects: a cue or caption lost to a take with nothing left after its trim says so
    from pipeline.align.cues import AlignedCue
    from pipeline.lesson import Captions, _dropped_in_plan
    from pipeline.script.parse import parse_script
    from pipeline.timeline import join

    script = tmp_path / "empty.md"
    script.write_text(SCRIPT.format(media="a.webm"))
    lesson = parse_script(script)
    takes = join([(Path("a.webm"), 5000, 0, 5000)])  # trimmed at its very end
    assert takes[0].length == 0
    cue = AlignedCue(lesson.cues[0], 2000, 4000, 1, 0.9, "text")
    lost = _dropped_in_plan(lesson, Captions(lesson.captions, (), "script"), takes,
                            [cue], lesson.captions)
    assert [(d.kind, d.line) for d in lost] == [
        ("visual_text", lesson.cues[0].line), *(("caption", c.line) for c in lesson.captions)]
    assert all("a.webm is empty after its trim" in d.reason for d in lost)
    assert lost[0].message().startswith(f"{script}:{lesson.cues[0].line}: warning: VISUAL TEXT")
