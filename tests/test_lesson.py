"""The whole lesson flow on a generated take whose clap and caption offset are known."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_script

from pipeline import ffmpeg
from pipeline.cli import main
from pipeline.demo import make_demos
from pipeline.errors import PipelineError
from pipeline.lesson import Settings, plan, produce

SCRIPT = tiny_script()


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, float]]:
    root = tmp_path_factory.mktemp("course")
    (root / "scripts").mkdir()
    script = root / "scripts" / "tiny.md"
    script.write_text(SCRIPT)
    [take] = make_demos(root / "scripts", root / "media")
    truth = json.loads(Path(f"{take.path}.truth.json").read_text())
    return script, take.path, truth


def frame_rgb(video: Path, at: float, size: tuple[int, int]) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg.executable(), "-v", "error", "-ss", f"{at:.3f}", "-i", ffmpeg.media_arg(video),
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0], 3).astype(int)


def test_plan_trims_at_the_clap_and_maps_everything_to_the_output(course) -> None:
    script, take, truth = course
    p = plan(script, [take], settings=Settings(apply_cuts=False))  # the trim alone (no cuts)
    [sync] = p.syncs
    assert abs(sync.clap / 1000 - truth["clap"]) <= 0.005
    assert abs(sync.offset / 1000 - truth["offset"]) <= 0.010
    [t] = p.takes
    assert t.trim == sync.clap + Settings().lead_in  # the output starts just after the clap
    first = p.captions[0]
    assert abs(first.start - (truth["offset"] * 1000 - t.trim)) <= 10
    visual = next(o for o in p.overlays if o.kind == "visual_text")
    # the cue comes after "welcome to the lesson" (caption 1 ends at 2.0 s caption time)
    assert abs(visual.start - (2000 + sync.offset - t.trim)) <= 150
    panel = next(o for o in p.overlays if o.kind == "main_panel")
    assert panel.end == t.length  # the last MAIN PANEL stays to the end of the video


def test_render_command_writes_video_sidecars_and_manifest(course, tmp_path: Path,
                                                           capsys) -> None:
    script, take, truth = course
    out = tmp_path / "out dir" / "lesson.webm"
    assert main(["render", str(script), "--media", str(take), "-o", str(out), "--json",
                 "--no-cuts"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(out.with_suffix(".json").read_text())
    assert set(doc) == {"output", "duration", "trim_start", "caption_offset", "overlays",
                        "captions", "takes", "patch"}
    # one take: caption time + (caption_offset - trim_start) = output time
    assert doc["takes"] == [{"from": 0.0, "offset": round(doc["caption_offset"]
                                                         - doc["trim_start"], 3)}]
    assert abs(doc["trim_start"] - (truth["clap"] + 0.5)) <= 0.005
    assert abs(doc["caption_offset"] - truth["offset"]) <= 0.010
    assert doc["captions"] == 3
    info = ffmpeg.probe(out)
    assert (info.video, info.audio, info.subtitles) == ("vp9", "opus", ("webvtt",))
    assert abs(info.duration / 1000 - doc["duration"]) <= 0.05
    assert abs(doc["duration"] - (truth["duration"] - doc["trim_start"])) <= 0.1
    srt = out.with_suffix(".srt").read_text()
    assert "Hello there, welcome to the lesson." in srt
    visual = next(o for o in doc["overlays"] if o["kind"] == "visual_text")
    size = (info.width, info.height)
    box = (slice(visual["y"], visual["y"] + visual["h"]), slice(visual["x"], visual["x"] + visual["w"]))
    during = frame_rgb(out, (visual["start"] + visual["end"]) / 2, size)[box]
    before = frame_rgb(out, visual["start"] - 0.5, size)[box]
    assert np.abs(during - before).mean() > 20  # the card is drawn inside its span only


def test_produce_writes_every_report(course, tmp_path: Path) -> None:
    script, take, _ = course
    summary = produce(script, [take], tmp_path, name="tiny")
    for name in ("tiny.webm", "tiny.srt", "tiny.vtt", "tiny.json", "qa.html", "qa.csv",
                 "data/qa.json", "align.html", "align.otio", "align.csv", "data/align.json",
                 "data/lesson.json", "data/summary.json"):
        assert (tmp_path / name).is_file(), name
    assert summary["captions"] == 3 and summary["cues"] == 2
    assert summary["sync"][0]["method"] == "speech"
    assert summary["min_confidence"] is not None and summary["min_confidence"] > 0.5


def test_no_recording_is_a_clear_error(course, capsys) -> None:
    script, _, _ = course
    assert main(["render", str(script), "--media", str(script.parent / "missing.webm"),
                 "-o", "/tmp/never-written.webm"]) == 2
    err = capsys.readouterr().err
    assert "missing.webm" in err and "Traceback" not in err
    assert not Path("/tmp/never-written.webm").exists()


def test_align_report_seeks_each_take_by_its_own_offset(tmp_path: Path) -> None:
    # protects: cues in a second joined take seek to where that take lands in the video
    from pipeline.align.report import Video
    from pipeline.timeline import join, offsets_by_take

    takes = join([(Path("a.webm"), 12_000, 2000, 1500), (Path("b.webm"), 13_000, -7000, 1500)])
    video = Video(Path("v.webm"), pieces=offsets_by_take(takes))
    assert video.at(0) == 500  # take a: caption 0 -> recording 2.0 s -> output 0.5 s
    assert video.at(-400) == 100  # before take a's own span still uses take a
    assert video.at(10_000) == 10_500 + 1500  # take b begins at 10.5 s of the output


def test_a_lesson_without_captions_places_every_cue(tmp_path: Path) -> None:
    # protects: a lesson without captions is captioned from its (espeak-narrated demo)
    # recording, and a cue after the last narration word still lands inside the recording
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "nocaps.md"
    script.write_text(
        "---\ntitle: No captions\n---\nnocaps take.webm\n\n**CLAP**\n\n"
        "Here's what you've got: it's product-market fit, and we'd keep it.\n\n"
        "`[VISUAL TEXT: one | two]`\n\nThey'll say it's high-potential, well-defined, "
        "short-lived and we're sure you'd agree it's what they've wanted.\n\n"
        "`[MAIN PANEL: The end]`\n")
    [take] = make_demos(tmp_path / "scripts", tmp_path / "media")
    p = plan(script, [take.path], settings=Settings(apply_cuts=False))
    assert [a.method for a in p.aligned.cues] == ["audio", "audio"]
    assert p.source.source == "recording" and p.cleaned.captions
    assert [o.kind for o in p.overlays] == ["visual_text", "main_panel"]
    assert p.overlays[-1].end == p.takes[0].length > p.overlays[-1].start


def test_frontmatter_caption_offset_wins_in_either_form(course, tmp_path: Path) -> None:
    # protects: the lesson flow reads caption_offset exactly as `sync` does (one reader)
    script, take, _ = course
    for value, expected in (('"0:02.500"', 2500), ("2.5", 2500), ("-0.25", -250)):
        pinned = tmp_path / "pinned.md"
        pinned.write_text(script.read_text().replace(
            "title: Tiny lesson", f"title: Tiny lesson\ncaption_offset: {value}"))
        [sync] = plan(pinned, [take]).syncs
        assert (sync.method, sync.offset) == ("frontmatter", expected)
    pinned.write_text(script.read_text().replace(
        "title: Tiny lesson", "title: Tiny lesson\ncaption_offset: soon"))
    with pytest.raises(PipelineError, match="caption_offset") as caught:
        plan(pinned, [take])
    assert caught.value.line == 3  # the key's own line
