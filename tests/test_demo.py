"""Demo recordings: real webm files whose clap and offset are where their truth file says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from pipeline import ffmpeg
from pipeline.cli import main
from pipeline.demo import RATE, make_demos

SCRIPT = """---
title: Tiny lesson
---
tiny take.webm

<span style="color:red">**CLAP**</span>
1
00:00:00,000 --> 00:00:01,200
Hello there.

2
00:00:01,500 --> 00:00:02,400
Short one.
"""


def decode_mono(path: Path) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg.executable(), "-v", "error", "-i", ffmpeg.media_arg(path), "-ac", "1",
         "-ar", str(RATE), "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4")


def test_demo_recording_matches_its_truth(tmp_path: Path) -> None:
    scripts, media = tmp_path / "scripts", tmp_path / "media"
    scripts.mkdir()
    (scripts / "tiny.md").write_text(SCRIPT)
    (scripts / "no-media.md").write_text("---\ntitle: x\n---\nJust words.\n")
    made = make_demos(scripts, media)
    assert [m.path.name for m in made] == ["tiny take.webm"]
    rec = made[0]
    assert rec.path.parent == media / "demo"  # never outside media/demo/
    assert sorted(p.name for p in media.rglob("*")) == [
        "demo", "tiny take.webm", "tiny take.webm.truth.json"]

    info = ffmpeg.probe(rec.path)
    assert (info.video, info.audio) == ("vp9", "opus")
    assert abs(info.duration - rec.duration) <= 60

    truth = json.loads((media / "demo" / "tiny take.webm.truth.json").read_text())
    assert truth["synthetic"] is True
    assert truth["clap"] == rec.clap / 1000 and truth["offset"] == rec.offset / 1000

    audio = decode_mono(rec.path)
    loudest = int(np.argmax(np.abs(audio))) / RATE * 1000
    assert abs(loudest - rec.clap) < 25  # the clap is the loudest thing in the take
    # speech follows the captions shifted by the offset: loud inside, quiet in the gap
    def rms(start_ms: int, end_ms: int) -> float:
        seg = audio[int(start_ms * RATE / 1000):int(end_ms * RATE / 1000)]
        return float(np.sqrt(np.mean(seg ** 2)))
    speech = rms(200 + rec.offset, 1000 + rec.offset)
    gap = rms(1250 + rec.offset, 1450 + rec.offset)
    assert speech > 5 * gap

    again = make_demos(scripts, media)
    assert again[0].cached and again[0].clap == rec.clap  # deterministic and incremental


def test_demo_cli_says_what_it_made(tmp_path: Path, capsys) -> None:
    scripts, media = tmp_path / "s", tmp_path / "m"
    scripts.mkdir()
    (scripts / "tiny.md").write_text(SCRIPT)
    assert main(["demo", "--scripts", str(scripts), "--media", str(media), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in doc["recordings"]] == ["tiny take.webm"]
    assert doc["recordings"][0]["clap"] > 0.5
