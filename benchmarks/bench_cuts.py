"""Smart render with cuts against a full re-encode, in the same run.

A 5-minute VP9 lesson (keyframe every 5 s, 3 cards, soft captions) cut in 10 places (the
pieces a retake, a false start or a long pause leaves): the smart render re-encodes only
the keyframe intervals around each cut (and the cards), copies the rest, and splices the
audio with a crossfade at each cut; the full render decodes and encodes everything once.
Prints smart/full and smart/bare (a bare re-encode of the uncut file); the issue's target
is smart/full <= 0.3. Resolution: 1080p30 unless BENCH_RENDER_HEIGHT says otherwise.

Run: ``python -m benchmarks cuts`` (part of ``make bench``).
"""

from __future__ import annotations

import os

from benchmarks.bench_render import (
    FPS,
    KEYFRAME_S,
    WORK,
    bare,
    best,
    captions,
    cues,
    line,
    make_lesson,
    ratio,
    timed,
)
from pipeline.render.plan import Frame, Segment
from pipeline.render.run import render_video

SECONDS = 300
CUTS = 10
CUT_MS = 1500  # each cut removes 1.5 s (a retake's earlier saying, a long pause shortened)


def pieces(path: object) -> list[Segment]:
    """The 11 pieces 10 cuts leave of the recording: a cut every ~27 s, each starting at
    an arbitrary frame inside a keyframe interval (never on a keyframe)."""
    every = SECONDS * 1000 // (CUTS + 1)
    starts = [every * (n + 1) + 1300 + 700 * (n % 3) for n in range(CUTS)]
    starts = [s - s % 100 for s in starts]  # on the 30 fps frame grid (100 ms = 3 frames)
    out, at = [], 500
    for s in starts:
        out.append(Segment(path, at, s))  # type: ignore[arg-type]
        at = s + CUT_MS
    out.append(Segment(path, at, None))  # type: ignore[arg-type]
    return out


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    height = int(os.environ.get("BENCH_RENDER_HEIGHT", "1080"))
    width = height * 16 // 9
    frame = Frame(width, height, FPS)
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    src = make_lesson(WORK / f"lesson{SECONDS}-{height}.webm", SECONDS, width, height)
    segments = pieces(src)
    three = cues(3, 90_000, 6000, 20_000)
    caps = captions(SECONDS - 30)
    print(f"{SECONDS} s of {width}x{height}@{FPS} VP9, keyframe every {KEYFRAME_S} s, "
          f"{CUTS} cuts of {CUT_MS} ms, 3 cards, {len(caps)} soft captions", flush=True)
    results = []

    def render(smart: bool) -> None:
        results.append(render_video(segments, three, caps, out / f"cut-{smart}.webm",
                                    smart=smart))

    a = timed(lambda: bare(src, out / "bare-cuts.webm", frame))
    full = timed(lambda: render(False))
    smart = best([timed(lambda: render(True)), timed(lambda: render(True))])
    full_result, smart_result = results[0], results[-1]
    assert smart_result.smart and not full_result.smart
    print(line("bare re-encode (uncut)", a))
    print(line("full render with the cuts", full) + f"  -> {full_result.duration} ms")
    print(line("smart render with the cuts (best of 2)", smart)
          + f"  -> {smart_result.duration} ms")
    print(ratio("smart/full", smart, full, "<= 0.30"))
    print(ratio("smart/bare", smart, a, ""), flush=True)


if __name__ == "__main__":
    main()
