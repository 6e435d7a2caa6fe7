"""Captions from real human speech: lesson-like takes of real recordings (real_takes.py)
captioned by ``python -m pipeline captions`` and timed by ``align --media``, against the
references the take builder knows exactly (where each clip went).

Takes (about two minutes each: all the transcribed real speech there is, ~100 s, with
pauses): ``read`` (the clips read in order, clean), ``lesson`` (the same with fillers, a
stutter, a re-read line, a skipped line and phrase, a second speaker), ``room`` (the lesson
under reverb and room noise at 20 dB SNR), ``phone`` (the lesson band-passed to
300-3400 Hz, 8 kHz mu-law). Per take:

* starts: share of clip starts (each clip is a sentence or a verse line) whose first word
  starts within 0.1 s and 0.25 s of the clip's first speech (median error)
* edges: mean error of the first word's start and the last word's end against the clip's
  speech edges (word boundaries next to a pause: the only word boundaries known exactly
  here; MFA's 20-27 ms is over every boundary of TIMIT/Buckeye, so this flatters us)
* cues: script cues (one after each paragraph) starting inside the pause they belong in
  (the last word of the paragraph to the next one's first, 0.1 s leeway)
* unsaid: words of never-said script text claimed heard or shown in a caption (must be 0)
* on strays: script words timed inside a filler, stutter, earlier saying or the second
  speaker (must be 0)
* strays reported: the earlier saying and the second speaker found in ``unscripted``;
  fillers reported as ``unscripted`` ad-libs (not as ``kind: "filler"``)

``python -m benchmarks speech_real``. Needs ../shared/realdata; the Sense and Sensibility
clips come from Debian's pocketsphinx-testdata when it is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.real_takes import AUSTEN, REALDATA, Take, build, write
from pipeline.align.words import tokenize
from pipeline.script.parse import parse_script
from pipeline.speech.forced import script_words

TARGETS = {"read": (0.1, 0.95), "spontaneous": (0.25, 0.90)}


def _units(text: str) -> int:
    return len({(t.start, t.end) for t in tokenize(text)})


def _run(command: str, script: Path, rec: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "pipeline", command, str(script), "--media",
                          str(rec), "--json"], capture_output=True, text=True, check=True)
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def measure(take: Take, script: Path, words: list[dict[str, Any]],
            captions: list[dict[str, Any]], cues: list[dict[str, Any]],
            unscripted: list[dict[str, Any]]) -> dict[str, Any]:
    """The take's numbers (see the module doc) from the ``captions``/``align`` documents."""
    units = script_words(parse_script(script))
    assert len(units) == len(words), (len(units), len(words))
    # each script unit's ref (-1: never said), paragraph by paragraph, piece by piece
    owner: list[int] = []
    for pieces in take.paragraphs:
        for text, ref in pieces:
            owner += [ref] * _units(text)
    assert len(owner) == len(words)
    first: dict[int, dict[str, Any]] = {}
    last: dict[int, dict[str, Any]] = {}
    for w, ref in zip(words, owner, strict=True):
        if ref >= 0:
            first.setdefault(ref, w)
            last[ref] = w
    errors, edges = [], []
    for k, r in enumerate(take.refs):
        w = first.get(k)
        start = w["start"] if w else None
        errors.append(abs(start * 1000 - r.start) if start is not None else float("inf"))
        if start is not None:
            edges.append(abs(start * 1000 - r.start))
        end = last[k]["end"] if k in last else None
        if end is not None and r.end >= 0:
            edges.append(abs(end * 1000 - r.end))
    said = [w for w, ref in zip(words, owner, strict=True) if ref < 0 and w["start"] is not None]
    shown = " ".join(c["text"].replace("\n", " ") for c in captions).lower()
    unsaid_shown = sum(" ".join(t.lower().split()[:4]) in shown for t in take.unsaid)
    on_strays = sum(1 for w in words if w["start"] is not None and any(
        a <= (w["start"] + w["end"]) * 500 <= b for _, a, b in take.strays))
    inside = sum(1 for c, (a, b) in zip(cues, take.cue_windows, strict=False)
                 if a - 100 <= c["start"] * 1000 <= b + 100)

    def over(u: dict[str, Any], a: int, b: int) -> bool:
        return bool(u["start"] * 1000 < b and u["end"] * 1000 > a)

    def reported(kind: str) -> tuple[int, int]:
        spans = [(a, b) for k, a, b in take.strays if k == kind]
        hit = sum(any(over(u, a, b) and u.get("kind") != "filler" for u in unscripted)
                  for a, b in spans)
        return hit, len(spans)

    # fillers listed as ad-libs: unscripted speech over a filler and over no other stray
    others = [(a, b) for k, a, b in take.strays if k not in ("filler", "stutter")]
    adlibs = sum(1 for u in unscripted if u.get("kind") != "filler"
                 and any(over(u, a, b) for k, a, b in take.strays if k in ("filler", "stutter"))
                 and not any(over(u, a, b) for a, b in others))

    americans = None
    if take.americans is not None:
        w = next(w for w in words if w["text"].startswith("Americans"))
        americans = w["start"] is not None and w["start"] * 1000 <= take.americans <= w["end"] * 1000
    return {"starts": errors, "edges": edges, "cues": (inside, len(take.cue_windows)),
            "unsaid": len(said) + unsaid_shown, "on_strays": on_strays,
            "retake": reported("retake"), "second": reported("second speaker"),
            "filler_adlibs": adlibs, "americans": americans}


def main() -> None:
    if not REALDATA.is_dir():
        print("(../shared/realdata absent: no real-speech takes)")
        return
    if not AUSTEN.is_dir():
        print(f"({AUSTEN} absent (Debian pocketsphinx-testdata): takes without the Sense and"
              " Sensibility clips)")
    takes = [(build("read", disfluent=False), False),
             (build("lesson", disfluent=True), False),
             (build("room", disfluent=True, condition="room"), False),
             (build("phone", disfluent=True), True)]
    print(f"{'take':>7} {'kind':>11} {'min':>4} {'starts':>6} {'<=0.1s':>7} {'<=0.25s':>8}"
          f" {'median':>7} {'edge mean':>9} {'cues in':>8} {'unsaid':>6} {'on strays':>9}"
          f" {'retake':>6} {'2nd spk':>7} {'fill.adlib':>10}  target")
    with tempfile.TemporaryDirectory() as tmp:
        for take, phone in takes:
            script, rec = write(take, Path(tmp) / take.name, phone=phone)
            doc = _run("captions", script, rec)
            cues = _run("align", script, rec)["cues"]
            m = measure(take, script, doc["words"], doc["captions"], cues, doc["unscripted"])
            e = np.array(m["starts"])
            tol, share = TARGETS[take.kind]
            within = float(np.mean(e <= tol * 1000))
            print(f"{take.name:>7} {take.kind:>11} {take.duration / 60000:4.1f} {len(e):6d}"
                  f" {np.mean(e <= 100):7.0%} {np.mean(e <= 250):8.0%}"
                  f" {np.median(e):5.0f}ms {np.mean(m['edges']):7.0f}ms"
                  f" {m['cues'][0]:>4}/{m['cues'][1]:<3} {m['unsaid']:6d} {m['on_strays']:9d}"
                  f" {m['retake'][0]:>4}/{m['retake'][1]} {m['second'][0]:>5}/{m['second'][1]}"
                  f" {m['filler_adlibs']:>10}  {'met' if within >= share else 'MISSED'}"
                  f" ({within:.0%} within {tol} s)"
                  + ("" if m["americans"] is None else
                     f"; 'Americans' over whisper's 1.8 s: {'yes' if m['americans'] else 'NO'}"))
            worst = sorted(zip(m["starts"], [r.clip for r in take.refs], strict=True))[-3:]
            print(f"{'':>8} worst starts: " + ", ".join(f"{c} {v:.0f} ms" for v, c in worst))


if __name__ == "__main__":
    main()
