"""Review app: one cue moved and rebuilt, the way the app's Rebuild does it.

Builds demo lesson 002 (4:23 of synthetic 1080p VP9, seven cues) in a temporary course,
then three times: pins one VISUAL TEXT cue 2 s later through the app's own calls (the
sidecar write of the pin handler) and times what the Rebuild button does, over HTTP on the
running app: POST the rebuild, poll its status every 200 ms as the page does, load the
lesson page again (what the browser then shows; the video's own loading is not counted).
Then checks the last patched render against a full render of the same state by decoding. Prints the median of the three and the ratio to the full build
measured in the same run; the target is under 3 s. Run: ``python -m benchmarks review``.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from pipeline import ffmpeg
from pipeline.course.discover import discover
from pipeline.course.index import write_index
from pipeline.course.orchestrate import build_course
from pipeline.course.work import run_lesson
from pipeline.demo import make_demos
from pipeline.review import state as review_state
from pipeline.review.app import Server
from pipeline.review.sidecar import Pin, write_pin

LESSON = "002-intro-customer-segments"
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
RUNS = 3


def make_course(root: Path) -> None:
    """A course of demo lesson 002 alone: its script and its demo recordings."""
    (root / "scripts").mkdir(parents=True)
    shutil.copyfile(SCRIPTS / f"{LESSON}.md", root / "scripts" / f"{LESSON}.md")
    make_demos(root / "scripts", root / "media")


def move_cue(root: Path, shift: int) -> tuple[int, int]:
    """Pin the lesson's first VISUAL TEXT cue ``shift`` ms later, as the pin handler does;
    returns its video ms before and after."""
    [job] = [j for j in discover(root) if j.name == LESSON]
    view = review_state.load(job, root / "output")
    cue = next(c for c in view.aligned.cues if c.cue.kind == "visual_text")
    write_pin(job.script, cue.cue, cue.id, Pin(cue.start + shift),
              by_id=view.shares_text(cue), seen=view.version)
    return view.at(cue.start), view.at(cue.start + shift)


def _call(server: Server, method: str, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request(method, path, body=b"{}" if method == "POST" else None,
                 headers={"Host": f"127.0.0.1:{server.port}", "X-Review-Token": server.token})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {body[:200]!r}")
    return body


def press_rebuild(server: Server) -> dict[str, object]:
    """What the page does on Rebuild: POST it, poll its status every 200 ms (review.js),
    then load the lesson page again (the reloaded player); returns the final status."""
    api = f"/_/api/{LESSON}/rebuild"
    status = json.loads(_call(server, "POST", api))
    while status["state"] == "running":
        time.sleep(0.2)
        status = json.loads(_call(server, "GET", api))
    _call(server, "GET", f"/_/lesson/{LESSON}")
    return dict(status)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        root = Path(tmp)
        make_course(root)
        t0 = time.perf_counter()
        report = build_course(root, run_lesson, jobs=1, index=write_index)
        full = time.perf_counter() - t0
        assert [o.status for o in report.lessons] == ["built"], report
        server = Server(root, run_lesson, port=0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        times = []
        try:
            for run in range(RUNS):
                before, after = move_cue(root, 2000)
                t0 = time.perf_counter()
                status = press_rebuild(server)
                times.append(time.perf_counter() - t0)
                assert status["state"] == "built", status
                print(f"  rebuild {run + 1}: cue {before / 1000:.3f} s -> {after / 1000:.3f} s,"
                      f" {times[-1]:.2f} s (rebuild {status['seconds']} s, then the page)")
        finally:
            server.stop()
            thread.join(timeout=10)
        patched = root / "patched"
        shutil.copytree(root / "output" / LESSON, patched)
        shutil.rmtree(root / "output" / LESSON)  # no previous output: a full render
        t0 = time.perf_counter()
        build_course(root, run_lesson, jobs=1, only=[LESSON], index=write_index)
        again = time.perf_counter() - t0
        compare(patched / f"{LESSON}.webm", root / "output" / LESSON / f"{LESSON}.webm",
                before / 1000, after / 1000)
    median = statistics.median(times)
    print(f"demo lesson {LESSON}: full build {full:.1f} s (again, of the final state:"
          f" {again:.1f} s); one cue moved and rebuilt (median of {RUNS}): {median:.2f} s"
          f" (target < 3 s); ratio to the full build {median / full:.3f}")


def frame(video: Path, at: float, size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """The frame at ``at`` seconds, small and grey."""
    raw = b"".join(ffmpeg.stream(
        ["-ss", f"{at:.3f}", "-i", ffmpeg.media_arg(video), "-frames:v", "1",
         "-vf", f"scale={size[0]}:{size[1]},format=gray", "-f", "rawvideo", "pipe:1"],
        chunk_bytes=1 << 20, what=video))
    return np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0]).astype(int)


def audio(video: Path) -> np.ndarray:
    raw = b"".join(ffmpeg.stream(["-i", ffmpeg.media_arg(video), "-map", "0:a:0", "-ac", "1",
                                  "-ar", "8000", "-f", "s16le", "pipe:1"],
                                 chunk_bytes=1 << 20, what=video))
    return np.frombuffer(raw, dtype=np.int16).astype(int)


def compare(patched: Path, full: Path, old_at: float, new_at: float) -> None:
    """The patched render against a full render of the same lesson: duration, frames (every
    10 s, and where the moved card was and is), audio, caption track."""
    a, b = ffmpeg.probe(patched), ffmpeg.probe(full)
    times = sorted({*range(1, int(b.duration or 0) // 1000, 10), old_at + 0.6, new_at + 0.6})
    diffs = [float(np.abs(frame(patched, t) - frame(full, t)).mean()) for t in times]
    worst = max(range(len(times)), key=lambda k: diffs[k])
    sound = float(np.abs(audio(patched) - audio(full)).mean())
    print(f"  patched vs full render: duration {a.duration} vs {b.duration} ms,"
          f" subtitles {a.subtitles} vs {b.subtitles}; frames at {len(times)} times differ by"
          f" {statistics.mean(diffs):.2f} grey levels on average, at most {diffs[worst]:.2f}"
          f" (at {times[worst]:.1f} s); audio differs by {sound:.1f} (16-bit) on average")


if __name__ == "__main__":
    main()
