"""Cuts (issue 21): retakes, false starts, long pauses, head and tail left out on word
boundaries. Unit tests on the edit list and the timeline through it; an espeak-ng
narrated take with a known retake and a long pause rendered end to end (real webm,
decoded and measured)."""

from __future__ import annotations

import json
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
    assert cut_settings(False).mode == "off"  # frontmatter `cuts: off` is YAML's false
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
    # a cue whose moment was cut shows from the next kept moment, for as long as it would
    from pipeline.cuts import cue_span

    assert cue_span(pieces, [take], 2500, 3500) == (2500, 2500 + 1000)
    assert cue_span(pieces, [take], 1000, 2000) == span_to_output(pieces, 1000, 2000)
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



def _frames(path: Path) -> np.ndarray:
    """Every video frame, grey, 160x90."""
    raw = b"".join(ffmpeg.stream(["-i", ffmpeg.media_arg(path), "-map", "0:v:0", "-f",
                                  "rawvideo", "-pix_fmt", "gray", "-"], chunk_bytes=1 << 20,
                                 what=path))
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 90, 160).astype(np.float32)


def _pcm(path: Path, rate: int) -> np.ndarray:
    raw = b"".join(ffmpeg.stream(["-i", ffmpeg.media_arg(path), "-map", "0:a:0", "-ac", "1",
                                  "-ar", str(rate), "-f", "s16le", "-"], chunk_bytes=1 << 20,
                                 what=path))
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768


@pytest.fixture(scope="module")
def built(retake: tuple[Path, Path, list[dict]]) -> tuple[Path, dict, dict]:
    from pipeline.cli import main

    script, _, _ = retake
    root = script.parent.parent
    assert main(["build", "--root", str(root), "--jobs", "1", "--json"]) == 0
    out = root / "output" / "lesson"
    return out, json.loads((out / "data" / "cuts.json").read_text()), json.loads(
        (out / "data" / "summary.json").read_text())


def test_the_retake_and_the_pause_are_cut_between_words(
        retake: tuple[Path, Path, list[dict]], built: tuple[Path, dict, dict]) -> None:
    _, _, truth = retake
    out, edit, summary_ = built
    applied = [c for c in edit["cuts"] if c["applied"]]
    reasons = [c["reason"] for c in applied]
    assert reasons.count("retake") == 1 and reasons.count("silence") == 1, applied
    [cut] = [c for c in applied if c["reason"] == "retake"]
    first_saying, kept_saying = truth[1], truth[2]  # S2 said twice
    assert cut["start"] <= first_saying["start"] + 0.1 and cut["end"] >= first_saying["end"] - 0.2
    assert cut["end"] <= kept_saying["start"]
    [pause] = [c for c in applied if c["reason"] == "silence"]
    assert truth[2]["end"] <= pause["start"] and pause["end"] <= truth[3]["start"]
    left = truth[3]["start"] - truth[2]["end"] - (pause["end"] - pause["start"])
    assert 0.45 <= left <= 0.75  # shortened to keep_silence (0.6 s)
    # no script word timed in the recording is inside an applied cut
    words = json.loads((out / "data" / "speech.json").read_text())["words"]
    for w in words:
        assert w["start"] is not None
        for c in applied:
            assert w["end"] <= c["start"] + 0.001 or w["start"] >= c["end"] - 0.001, (w, c)
    assert summary_["cuts"]["by_reason"]["retake"] == 1
    assert summary_["cuts"]["applied"] == len(applied)
    assert "1 retake cut" in (out.parent / "index.html").read_text()


def test_the_cut_render_keeps_sound_and_picture_where_the_mapping_says(
        retake: tuple[Path, Path, list[dict]], built: tuple[Path, dict, dict]) -> None:
    _, take, _ = retake
    out, edit, _ = built
    video = out / "lesson.webm"
    kept = [(round(a * 1000), round(b * 1000)) for a, b in edit["kept"][0]]
    manifest = json.loads((out / "lesson.json").read_text())
    length = sum(b - a for a, b in kept)
    assert abs(ffmpeg.probe(video).duration - length) <= 1000 / FPS
    assert abs(manifest["duration"] * 1000 - length) <= 1000 / FPS
    assert len(manifest["takes"]) == len(kept)  # the mapping, one entry per kept piece

    # sound: 250 ms of the recording just after each splice and in the middle of each
    # piece, found in the output where the mapping puts it (cross-correlation normalised by
    # the window's energy: the raw one leans towards a louder stretch and, on espeak-ng's
    # regular voice, picked a pitch period (8.4 ms) late just after a splice; within 2 ms)
    rate = 16_000
    src, dst = _pcm(take, rate), _pcm(video, rate)
    at = 0
    for a, b in kept:
        for offset in (20, (b - a) // 2):
            r, o = a + offset, at + offset
            snippet = src[r * rate // 1000:(r + 250) * rate // 1000]
            lo = max(0, (o - 50) * rate // 1000)
            window = dst[lo:lo + len(snippet) + 100 * rate // 1000]
            score = np.correlate(window, snippet, mode="valid") / np.sqrt(np.maximum(
                np.convolve(np.square(window), np.ones(len(snippet)), mode="valid"), 1e-12))
            lag = (lo + int(np.argmax(score))) * 1000 / rate - o
            if np.abs(snippet).max() > 0.01:  # speech, not room tone alone
                assert abs(lag) <= 2, (a, offset, lag)
        at += b - a

    # picture: the output frame a few frames after each splice is the recording's frame at
    # the mapped time (best of the recording's frames around it): cut on the same frame
    # as the sound, so in sync within one frame
    source, output = _frames(take), _frames(video)
    frame = 1000 / FPS
    at = 0
    for a, b in kept:
        for offset in (0, 3 * frame, (b - a) // 2, b - a - frame):  # (last: before the cut)
            n = round((at + offset) / frame)
            m = round((a + offset) / frame)
            diffs = {d: float(np.abs(output[n] - source[m + d]).mean()) for d in (-2, -1, 0, 1, 2)
                     if 0 <= m + d < len(source)}
            assert min(diffs, key=diffs.__getitem__) == 0, (a, offset, diffs)
        at += b - a

    # loudness is measured after the cuts: the cut lesson is at the target (-16 LUFS)
    from test_loudness import ebur128

    assert abs(ebur128(video)["I"] - (-16.0)) <= 0.5

    # no click: around each splice the largest sample step is no bigger than the signal's
    # own steps elsewhere
    pcm = _pcm(video, 48_000)
    steps = np.abs(np.diff(pcm))
    normal = float(np.percentile(steps, 99.9))
    at = 0
    for a, b in kept[:-1]:
        at += b - a
        k = at * 48
        assert float(steps[k - 480:k + 480].max()) <= max(normal, 1e-3), (at, normal)


def test_captions_and_cues_land_on_the_same_words_as_before(
        retake: tuple[Path, Path, list[dict]], built: tuple[Path, dict, dict]) -> None:
    from pipeline.captions.io import read_captions

    _, _, truth = retake
    out, edit, _ = built
    kept = [(round(a * 1000), round(b * 1000)) for a, b in edit["kept"][0]]

    def mapped(ms: int) -> int:
        at = 0
        for a, b in kept:
            if a <= ms < b:
                return at + ms - a
            at += b - a
        raise AssertionError(f"{ms} is cut")

    captions, _ = read_captions(out / "lesson.vtt")
    # each kept sentence's caption starts where its first word went (S2's kept saying)
    for sentence in (truth[0], truth[2], truth[3], truth[4]):
        start = mapped(round(sentence["start"] * 1000))
        assert any(abs(c.start - start) <= 120 and sentence["text"][:12] in c.text.replace(
            "\n", " ") for c in captions), (sentence, [(c.start, c.text) for c in captions])
    # the VISUAL TEXT after S2 appears right after S2's kept saying ends
    manifest = json.loads((out / "lesson.json").read_text())
    [card] = [o for o in manifest["overlays"] if o["kind"] == "visual_text"]
    assert abs(card["start"] * 1000 - mapped(round(truth[2]["end"] * 1000))) <= 150


def test_no_cuts_renders_the_take_whole(retake: tuple[Path, Path, list[dict]],
                                        built: tuple[Path, dict, dict], tmp_path: Path) -> None:
    from pipeline.cli import main

    script, take, _ = retake
    out = tmp_path / "uncut.webm"
    assert main(["render", str(script), "--media", str(take), "-o", str(out), "--no-cuts",
                 "--json"]) == 0
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert len(manifest["takes"]) == 1
    assert abs(manifest["duration"] - (ffmpeg.probe(take).duration or 0) / 1000
               + manifest["trim_start"]) <= 0.05


def test_a_crossfade_splices_a_loud_tone_without_a_click(tmp_path: Path) -> None:
    """Pieces of a loud 440 Hz tone cut at arbitrary phases: without the crossfade the
    joins jump; with it no step is bigger than the tone's own, but for the at most
    +3 dB (x1.41) an equal-power fade gives where the two sides happen to be in phase."""
    from pipeline.render.ffmpeg_args import spliced_audio_chain
    from pipeline.render.plan import Source

    tone = tmp_path / "tone.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "sine=f=440:r=48000:d=4", "-af", "volume=0.8",
                ffmpeg.media_arg(tone)], what=tone)
    pieces = [Source(tone, 0, 1003, True), Source(tone, 1517, 2271, True),
              Source(tone, 2900, 3800, True)]
    steps = {}
    for fade in (0, 16):
        out = tmp_path / f"spliced{fade}.wav"
        if fade:
            chain = spliced_audio_chain(pieces, 0, "a", fade)
        else:  # plain cuts, for contrast
            chain = [f"[0:a]atrim={p.start / 1000}:{p.end / 1000},asetpts=PTS-STARTPTS[p{k}]"
                     for k, p in enumerate(pieces)] + ["[p0][p1][p2]concat=n=3:v=0:a=1[a]"]
        ffmpeg.run(["-i", ffmpeg.media_arg(tone), "-filter_complex", ";".join(chain), "-map",
                    "[a]", "-ac", "1", ffmpeg.media_arg(out)], what=out)
        with wave.open(str(out)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32768
            assert abs(w.getnframes() - 48 * sum(p.duration for p in pieces)) <= 48
        steps[fade] = np.abs(np.diff(pcm))
    own = float(np.percentile(steps[16][:40_000], 100))  # the tone's largest step
    joins = [1003, 1003 + 754]
    assert max(float(steps[0][j * 48 - 96:j * 48 + 96].max()) for j in joins) > 2 * own
    for j in joins:
        assert float(steps[16][j * 48 - 960:j * 48 + 960].max()) <= 1.45 * own


def test_pieces_of_one_vp9_take_render_smart(retake: tuple[Path, Path, list[dict]],
                                             tmp_path: Path) -> None:
    from pipeline.render.plan import Segment
    from pipeline.render.run import render_video

    _, take, _ = retake
    spans = [(1200, 4000), (6720, 9560), (12_280, 17_920)]
    result = render_video([Segment(take, a, b) for a, b in spans], [], [],
                          tmp_path / "cut.webm")
    assert result.smart
    assert abs(result.duration - sum(b - a for a, b in spans)) <= 1000 / FPS


def test_the_otio_export_holds_the_cut_lesson_as_an_edit_of_the_recording(
        retake: tuple[Path, Path, list[dict]], built: tuple[Path, dict, dict]) -> None:
    import opentimelineio as otio

    _, take, _ = retake
    out, edit, _ = built
    timeline = otio.adapters.read_from_file(str(out / "align.otio"))
    [_, cut] = timeline.tracks
    clips = list(cut.find_clips())
    kept = [(round(a * 1000), round(b * 1000)) for a, b in edit["kept"][0]]
    assert len(clips) == len(kept)
    for clip, (a, b) in zip(clips, kept, strict=True):
        assert clip.media_reference.target_url == take.absolute().as_uri()
        r = clip.source_range
        assert abs(r.start_time.to_seconds() * 1000 - a) <= 34
        assert abs(r.duration.to_seconds() * 1000 - (b - a)) <= 34
    names = [m.name for c in clips for m in c.markers]
    assert sum(n.startswith("CUT: earlier take") for n in names) == 1
    assert len(names) == len(edit["cuts"])


# --- an editor's choices in the sidecar ----------------------------------------------------


def test_cut_choices_restore_change_add_and_refuse_bad_input(tmp_path: Path) -> None:
    from pipeline.cuts import apply_choices, read_choices

    side = tmp_path / "lesson.cues.yaml"
    side.write_text("cue_times: []\ncuts:\n  - {restore: 3.0}\n  - {at: 9.0, from: 7.5, to: 11}\n"
                    "  - {from: '0:15.000', to: 16, note: a cough}\n  - {restore: 99}\n"
                    "  - {from: 50, to: 51}\n")
    choices = read_choices(side)
    assert [(c.restore, c.adds, c.line) for c in choices] == [
        (True, False, 3), (False, False, 4), (False, True, 5), (True, False, 6), (False, True, 7)]
    take = _take()  # recording = caption time here (offset 0)
    cuts, warnings = apply_choices(propose([take]), choices, [take], [0], [(0, 20_000)], side)
    retake = next(c for c in cuts if c.reason == "retake")
    assert not retake.applied and retake.kind == "restored"
    silence = next(c for c in cuts if c.reason == "silence")
    assert silence.kind == "changed" and abs(silence.start - 7500) <= 60
    assert abs(silence.end - 11_000) <= 60 and silence.applied
    [manual] = [c for c in cuts if c.kind == "manual"]
    assert abs(manual.start - 15_000) <= 60 and abs(manual.end - 16_000) <= 60
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{side}:6: warning: no proposed cut at 99.000 s")
    assert warnings[1].startswith(f"{side}:7: warning: the cut 50.000-51.000 s is outside")

    for text, line, what in (
            ("cuts:\n  - {from: 1, to: 3}\n  - {from: 2, to: 4}\n", 3, "overlaps the one at line 2"),
            ("cuts:\n  - {from: 3, to: 1}\n", 2, "ends"),
            ("cuts:\n  - {restore: 3, from: 1}\n", 2, "stands alone"),
            ("cuts:\n  - {cut: 3}\n", 2, "a cut choice is"),
            ("cuts:\n  - {from: soon, to: 3}\n", 2, "bad cue time"),
            ("cuts: 3\n", 1, "must be a list")):
        side.write_text(text)
        with pytest.raises(Exception, match=what) as caught:
            read_choices(side)
        assert getattr(caught.value, "line", None) == line, (text, caught.value)


def test_a_restored_retake_is_rendered_and_the_report_lists_the_cuts(
        retake: tuple[Path, Path, list[dict]], built: tuple[Path, dict, dict]) -> None:
    from pipeline.cli import main

    script, _, _ = retake
    out, edit, _ = built
    html = (out / "align.html").read_text()
    assert 'id="cuts"' in html and "earlier take" in html and "restore:" in html
    [cut] = [c for c in edit["cuts"] if c["reason"] == "retake"]
    side = script.with_name("lesson.cues.yaml")
    middle = (cut["caption_start"] + cut["caption_end"]) / 2
    side.write_text(f"cuts:\n  - {{restore: {middle:.3f}}}\n")
    try:
        assert main(["build", "--root", str(script.parent.parent), "--jobs", "1"]) == 0
        again = json.loads((out / "data" / "cuts.json").read_text())
        [restored] = [c for c in again["cuts"] if c["reason"] == "retake"]
        assert restored["kind"] == "restored" and not restored["applied"]
        longer = json.loads((out / "lesson.json").read_text())["duration"]
        before = sum(b - a for a, b in edit["kept"][0])
        assert abs(longer - before - (cut["end"] - cut["start"])) <= 0.05
    finally:
        side.unlink()


def test_two_cut_takes_render_in_one_encode_with_spliced_sound(
        retake: tuple[Path, Path, list[dict]], tmp_path: Path) -> None:
    import shutil

    from pipeline.render.plan import Segment
    from pipeline.render.run import render_video

    _, take, _ = retake
    other = tmp_path / "second take.webm"
    shutil.copy(take, other)
    spans = [(take, 1200, 4000), (take, 6720, 9560), (other, 6720, 9560), (other, 12_280, 17_920)]
    out = tmp_path / "two.webm"
    result = render_video([Segment(p, a, b) for p, a, b in spans], [], [], out)
    assert not result.smart
    assert abs(result.duration - sum(b - a for _, a, b in spans)) <= 1000 / FPS
    rate = 16_000
    src, dst = _pcm(take, rate), _pcm(out, rate)
    at = 0
    for _, a, b in spans:  # each piece's middle where the joins put it
        r, o = a + (b - a) // 2, at + (b - a) // 2
        snippet = src[r * rate // 1000:(r + 250) * rate // 1000]
        lo = (o - 50) * rate // 1000
        score = np.correlate(dst[lo:lo + len(snippet) + 100 * rate // 1000], snippet, "valid")
        assert abs((lo + int(np.argmax(score))) * 1000 / rate - o) <= 2, (a, b)
        at += b - a


def test_given_captions_a_retaken_caption_is_cut(retake: tuple[Path, Path, list[dict]],
                                                 tmp_path: Path) -> None:
    """Captions given beside the script (an .srt, times on the recording: offset 0): the
    caption the script does not say (the earlier saying of S2) is the retake."""
    from pipeline.captions.io import to_srt
    from pipeline.lesson import plan

    _, take, truth = retake
    script = tmp_path / "given.md"
    script.write_text(SCRIPT.replace("title: Cut test", "title: Given\ncaption_offset: 0"))
    first = "Talk with advisors, and the experts first."  # said a little differently
    texts = [truth[0]["text"], first, *(t["text"] for t in truth[2:])]
    script.with_suffix(".srt").write_text(to_srt([
        Caption(k + 1, round(t["start"] * 1000), round(t["end"] * 1000), text)
        for k, (t, text) in enumerate(zip(truth, texts, strict=True))]))
    p = plan(script, [take])
    assert p.source.source == "given.srt"
    applied = [c for c in p.edit.cuts if c.applied] if p.edit else []
    [cut] = [c for c in applied if c.reason == "retake"]
    assert cut.start <= truth[1]["start"] * 1000 and cut.end >= truth[1]["end"] * 1000
    assert cut.end <= truth[2]["start"] * 1000 and cut.words == first
    assert any(c.reason == "silence" for c in applied)
    kept = " ".join(c.text.replace("\n", " ") for c in p.captions)
    assert kept.count("Talk with advisors") == 1  # the retake's caption left out with it
    assert not p.dropped  # a caption cut with its words is listed with the cuts instead
    [gone] = p.edit.removed if p.edit else []
    assert gone["text"] == first and gone["reason"].startswith("cut (earlier take: retake)")


def test_build_no_cuts_builds_the_lesson_uncut(retake: tuple[Path, Path, list[dict]],
                                               built: tuple[Path, dict, dict]) -> None:
    # (last: it rebuilds the course the tests above read)
    from pipeline.cli import main

    script, take, _ = retake
    out, _, _ = built
    assert main(["build", "--root", str(script.parent.parent), "--jobs", "1",
                 "--no-cuts"]) == 0
    summary_ = json.loads((out / "data" / "summary.json").read_text())
    assert summary_["cuts"]["applied"] == 0 and summary_["cuts"]["proposed"] >= 4
    manifest = json.loads((out / "lesson.json").read_text())
    assert abs(manifest["duration"] + manifest["trim_start"]
               - (ffmpeg.probe(take).duration or 0) / 1000) <= 0.05
    assert "not applied (--no-cuts)" in (out / "align.html").read_text()


def test_a_sidecar_with_cut_choices_alone_is_read_by_align_too(tmp_path: Path) -> None:
    from pipeline.align.overrides import load_overrides
    from pipeline.script.parse import parse_script

    script = tmp_path / "lesson.md"
    script.write_text(SCRIPT)
    side = tmp_path / "lesson.cues.yaml"
    side.write_text("cuts:\n  - {restore: 3.0}\n")
    assert load_overrides(parse_script(script)) == ()
    side.write_text("notes: hi\n")  # neither cue pins nor cut choices: still refused
    with pytest.raises(Exception, match="cue_times"):
        load_overrides(parse_script(script))


def test_real_speech_said_twice_with_a_long_pause(realdata: Path, tmp_path: Path) -> None:
    """LJ Speech LJ001-0001 said twice (the first saying a retake), a 3 s pause, then
    LJ001-0002: one saying cut, the other kept, the pause shortened, no timed word cut."""
    from pipeline.lesson import Settings, plan

    texts = {row.split("|")[0]: row.split("|")[1] for row in
             (realdata / "speech" / "ljspeech_metadata.csv").read_text().splitlines()}
    one, two = (_pcm(realdata / "speech" / f"ljspeech_LJ001-000{k}.flac", RATE) for k in (1, 2))
    rng = np.random.default_rng(5)
    gap, pause = np.zeros(RATE * 4 // 10, np.float32), np.zeros(RATE * 3, np.float32)
    speech = np.concatenate([one, gap, one, pause, two])
    lead = np.zeros(RATE * 3 // 2, np.float32)
    audio = np.concatenate([lead, speech, np.zeros(RATE, np.float32)])
    audio += 0.002 * rng.standard_normal(len(audio)).astype(np.float32)
    second_at = 1500 + (len(one) + len(gap)) * 1000 // RATE  # ms: the kept saying
    pause_at = second_at + len(one) * 1000 // RATE
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "lj.md"
    script.write_text(f"---\ntitle: LJ\n---\nlj.webm\n\n{texts['LJ001-0001']}\n\n"
                      f"{texts['LJ001-0002']}\n")
    take = tmp_path / "lj.webm"
    _encode(audio, take, len(audio) * 1000 // RATE)
    p = plan(script, [take], settings=Settings())
    assert p.edit is not None and p.speech is not None
    applied = [c for c in p.edit.cuts if c.applied]
    [retake] = [c for c in applied if c.reason in ("retake", "false_start")]
    first = (1500, 1500 + len(one) * 1000 // RATE)
    second = (second_at, pause_at)
    # one saying is cut (nearly all of it), the other is not touched
    cut_one = [s for s in (first, second)
               if retake.start <= s[0] + 300 and retake.end >= s[1] - 300]
    assert len(cut_one) == 1, (retake, first, second)
    [kept] = [s for s in (first, second) if s not in cut_one]
    assert retake.end <= kept[0] or retake.start >= kept[1]
    assert any(c.reason == "silence" and pause_at <= c.start and c.end <= pause_at + 3000
               for c in applied), applied
    for w in p.speech["words"]:
        if w["start"] is None:
            continue
        for c in applied:
            assert w["end"] * 1000 <= c.start + 1 or w["start"] * 1000 >= c.end - 1, (w, c)
