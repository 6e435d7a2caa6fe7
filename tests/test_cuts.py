"""Cuts (issue 21): retakes, false starts, long pauses, head and tail left out on word
boundaries. Unit tests on the edit list and the timeline through it; an espeak-ng
narrated take with a known retake and a long pause rendered end to end (real webm,
decoded and measured)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline import ffmpeg
from pipeline.cuts import (
    Cut,
    CutsError,
    CutSettings,
    TakeSpeech,
    cut_settings,
    describe,
    kept_spans,
    propose,
    summary,
    with_settings,
)
from pipeline.demo import RATE, narrate, synthesize_audio
from pipeline.models import Caption
from pipeline.timeline import Take, cut_takes, removed_to_output, span_to_output

# --- settings -------------------------------------------------------------------------


def test_settings_modes_tables_and_bad_input() -> None:
    assert cut_settings(None).mode == "retakes+silences"
    assert cut_settings("off").mode == "off"
    base = cut_settings({"mode": "retakes", "silence": 2, "keep_silence": 0.5,
                         "unscripted": "cut"})
    assert (base.mode, base.silence, base.keep_silence, base.unscripted) == (
        "retakes", 2.0, 0.5, "cut")
    assert cut_settings({"tail": 1}, base=base).mode == "retakes"  # frontmatter over course
    for bad, what in (("sometimes", "mode"), ({"silense": 1}, "unknown cuts key"),
                      ({"silence": -1}, "silence"), ({"silence": 1, "keep_silence": 2},
                                                     "shorter"),
                      ({"unscripted": "maybe"}, "unscripted"), ([1], "table")):
        with pytest.raises(CutsError, match=what):
            cut_settings(bad, "course.toml")


# --- proposing cuts on a synthetic take ------------------------------------------------


def _take(frame_ms: float = 40.0) -> TakeSpeech:
    """A 20 s take: 'zero' at 1-1.5 s, 'one two three' at 2-3.2 s, the same said again
    3.6-4.8 s (the first saying unscripted), 'four five' 5.0-5.8 s, a 4 s pause, 'six' 9.8-10.4 s,
    silence to the end. The level track: -30 dB in speech, -60 in pauses, a few 20 ms
    dips to -80 dB."""
    words = [(1000, 1500, 9, ("zero",)), (3600, 4000, 0, ("one",)), (4000, 4400, 1, ("two",)),
             (4400, 4800, 2, ("three",)), (5000, 5400, 3, ("four",)),
             (5400, 5800, 4, ("five",)), (9800, 10400, 5, ("six",))]
    strays = [(2000, 3200, "one two three")]
    speech = [(1000, 1500), (2000, 3200), (3600, 5800), (9800, 10400)]
    levels = np.full(2000, -60, dtype=np.int8)
    for a, b in speech:
        levels[a // 10:b // 10] = -30
    for dip in (3320, 7000, 8000):  # 20 ms dips
        levels[dip // 10:dip // 10 + 2] = -80
    return TakeSpeech(20_000, tuple(words), tuple(strays), tuple(speech), levels, frame_ms)


def test_a_retake_a_long_pause_head_and_tail_are_proposed_in_pauses() -> None:
    take = _take()
    cuts = propose([take])
    by = {c.reason: c for c in cuts}
    assert set(by) == {"head", "tail", "retake", "silence"}, cuts
    retake = by["retake"]
    assert retake.words == "one two three"
    # the earlier saying is inside the cut, the kept saying is not
    assert retake.start <= 2000 and retake.end >= 3200 and retake.end <= 3600
    # the head ends 0.3 s (or a little more) before the first word
    assert by["head"].start == 0 and 1000 - 300 - 200 <= by["head"].end <= 1000 - 300
    assert by["tail"].start >= 10_400 + 500 and by["tail"].end == 20_000
    # the 4 s pause shortened to about keep_silence (0.6 s), cut points on the frame grid
    silence = by["silence"]
    left = (silence.start - 5800) + (9800 - silence.end)
    assert 500 <= left <= 700, silence
    for c in cuts:
        assert c.start % 40 == 0 or c.start == 0
        assert c.end % 40 == 0 or c.end == 20_000
        for a, b, _, _ in take.words:  # no cut touches a script word
            assert c.end <= a or c.start >= b, (c, a, b)


def test_the_cut_point_is_the_quietest_spot_near_the_boundary() -> None:
    take = _take(frame_ms=0)  # no video grid: 10 ms points
    retake = next(c for c in propose([take]) if c.reason == "retake")
    assert retake.end == 3330  # in the middle of the 20 ms dip in the pause


def test_an_aside_is_kept_unless_the_settings_cut_it() -> None:
    take = _take()
    aside = TakeSpeech(take.duration, take.words, ((6200, 7400, "holiday in portugal"),),
                       take.speech + ((6200, 7400),), take.levels, take.frame_ms)
    cuts = propose([aside])
    [stray] = [c for c in cuts if c.reason == "unscripted"]
    assert not stray.applied and stray.words == "holiday in portugal"
    assert next(c for c in with_settings(cuts, CutSettings(unscripted="cut"))
                if c.reason == "unscripted").applied
    off = with_settings(cuts, CutSettings(mode="off"))
    assert not any(c.applied for c in off)
    retakes = with_settings(cuts, CutSettings(mode="retakes"))
    assert {c.reason for c in retakes if c.applied} == {"head", "tail"}  # silence not applied


def test_a_short_restart_is_a_false_start() -> None:
    take = _take()
    short = TakeSpeech(take.duration, take.words, ((2600, 3200, "one two"),), take.speech,
                       take.levels, take.frame_ms)
    assert any(c.reason == "false_start" for c in propose([short]))


def test_summary_and_index_line() -> None:
    cuts = [Cut(0, 0, 1000, "head"), Cut(0, 2000, 4000, "retake", "a b c"),
            Cut(0, 5000, 6000, "retake", "d e f"), Cut(0, 7000, 14_000, "silence"),
            Cut(0, 8000, 9000, "unscripted", applied=False)]
    counts = summary(cuts)
    assert counts["applied"] == 4 and counts["proposed"] == 5
    assert describe(counts) == "2 retakes cut, 7 s of silence shortened"


# --- the timeline through the cuts ---------------------------------------------------------


def test_kept_pieces_map_captions_cues_and_removed_moments() -> None:
    take = Take(Path("t.webm"), 20_000, offset=1000, trim=500, out_start=0)
    cuts = [Cut(0, 3000, 5000, "retake"), Cut(0, 8000, 12_000, "silence"),
            Cut(0, 9000, 9050, "silence", applied=False)]
    kept = kept_spans(take.trim, take.duration, cuts)
    assert kept == [(500, 3000), (5000, 8000), (12_000, 20_000)]
    pieces = cut_takes([take], [kept])
    assert [p.out_start for p in pieces] == [0, 2500, 5500]
    assert sum(p.length for p in pieces) == 20_000 - 500 - 2000 - 4000
    # caption time + 1000 = recording time; a caption across the silence cut keeps its end
    assert span_to_output(pieces, 6000, 12_000) == (2500 + 2000, 5500 + 1000)
    # a span starting inside removed material starts at the next kept moment
    assert span_to_output(pieces, 2500, 5000) == (2500, 2500 + 1000)
    assert removed_to_output(pieces, 4000, take) == 2500
    assert removed_to_output(pieces, 13_000, take) == 5500 + 1000
    # a tiny piece between two cuts goes, unless a script word is in it
    close = [Cut(0, 1000, 2000, "retake"), Cut(0, 2050, 3000, "silence")]
    assert kept_spans(0, 5000, close) == [(0, 1000), (3000, 5000)]
    assert kept_spans(0, 5000, close, [(2010, 2040)]) == [(0, 1000), (2000, 2050), (3000, 5000)]


# --- end to end: an espeak-ng take with a retake and a long pause ---------------------------

S1 = "Customers buy what solves their problem."
S2 = "Talk with advisors and experts first."
S3 = "The market is large enough when the numbers add up."
S4 = "Make a list of the best ideas."
SCRIPT = f"""---
title: Cut test
---
take.webm

**CLAP**

{S1} {S2}

`[VISUAL TEXT: advisors | experts]`

{S3} {S4}
"""
CLAP_AT, SPEECH_AT, PAUSE = 700, 1500, 3000
FPS = 25


def _encode(audio: np.ndarray, out: Path, duration: int) -> None:
    """A small VP9 + Opus webm: a test pattern (every frame differs) and ``audio``."""
    wav = out.with_suffix(".wav")
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    ffmpeg.run(["-f", "lavfi", "-i", f"testsrc=size=160x90:rate={FPS}", "-i",
                ffmpeg.media_arg(wav), "-map", "0:v", "-map", "1:a",
                "-t", f"{duration / 1000:.3f}", "-c:v", "libvpx-vp9", "-deadline", "realtime",
                "-cpu-used", "8", "-b:v", "150k", "-g", "50", "-c:a", "libopus", "-b:a",
                "64k", "-f", "webm", ffmpeg.media_arg(out)], what=out)
    wav.unlink()


@pytest.fixture(scope="module")
def retake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    """S1, S2 said twice (the first saying is the retake), a 3 s pause, S3, S4."""
    root = tmp_path_factory.mktemp("cuts")
    (root / "scripts").mkdir()
    (root / "media").mkdir()
    script = root / "scripts" / "lesson.md"
    script.write_text(SCRIPT)
    first, truth1 = narrate([Caption(k + 1, 0, 0, s) for k, s in enumerate([S1, S2, S2])],
                            SPEECH_AT)
    second_at = SPEECH_AT + len(first) * 1000 // RATE + PAUSE
    second, truth2 = narrate([Caption(k + 1, 0, 0, s) for k, s in enumerate([S3, S4])],
                             second_at)
    duration = second_at + len(second) * 1000 // RATE + 1500
    audio = synthesize_audio([], CLAP_AT, 0, duration, seed=3)
    for at, voice in ((SPEECH_AT, first), (second_at, second)):
        a = at * RATE // 1000
        audio[a:a + len(voice)] += 0.7 * voice[:len(audio) - a]
    take = root / "media" / "take.webm"
    _encode(audio, take, duration)
    return script, take, truth1 + truth2


def _pcm(path: Path, rate: int = 16_000) -> np.ndarray:
    raw = ffmpeg.run_bytes(["-i", ffmpeg.media_arg(path), "-map", "0:a:0", "-ac", "1", "-ar",
                            str(rate), "-f", "s16le", "-"], what=path)
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768
