"""Course build: no-op rebuild time for 50 lessons, and the speed-up of --jobs 2 over --jobs 1.

The work per lesson is real: parse the script, then encode a short VP9 clip of the
recording's length with ffmpeg and grab a thumbnail (what rendering costs, in miniature).
Run: ``python -m benchmarks build``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import ffmpeg
from pipeline.build.discover import LessonJob
from pipeline.build.index import write_index
from pipeline.build.orchestrate import build_course
from pipeline.build.work import run_lesson, summary, write_json
from pipeline.script.parse import parse_script

LESSONS = 50
ENCODE_LESSONS = 8
CLIP_SECONDS = 3
ROUNDS = 2


def encode_work(job: LessonJob, out: Path, report: object) -> None:
    """Parse, encode a 3 s 320x180 VP9 clip with progress, write a thumbnail and summary."""
    run_lesson(job, out, report)  # type: ignore[arg-type]
    lesson = parse_script(job.script)
    video = out / f"{job.name}.webm"
    ffmpeg.run([
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=24:duration={CLIP_SECONDS}",
        "-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "4", "-b:v", "300k",
        "-threads", "1", ffmpeg.media_arg(video),
    ], duration=CLIP_SECONDS * 1000, progress=lambda f: report("render", f),  # type: ignore[operator]
        what=video)
    ffmpeg.run(["-ss", "1", "-i", ffmpeg.media_arg(video), "-frames:v", "1",
                ffmpeg.media_arg(out / "thumbnail.jpg")], what=video)
    write_json(out / "summary.json", summary(
        job, lesson.title, duration=float(CLIP_SECONDS), video=video.name,
        thumbnail="thumbnail.jpg", cues=len(lesson.cues), captions=len(lesson.captions),
    ))


def make_course(root: Path, lessons: int) -> None:
    (root / "scripts").mkdir(parents=True)
    (root / "media").mkdir()
    take = root / "take.webm"
    ffmpeg.run(["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=1",
                "-c:v", "libvpx-vp9", "-deadline", "realtime", ffmpeg.media_arg(take)])
    for i in range(lessons):
        name = f"{i:03d}-generated lesson"
        shutil.copyfile(take, root / "media" / f"{name}.webm")
        narration = "\n\n".join(f"Paragraph {p} of lesson {i}: the words a presenter says."
                                for p in range(20))
        (root / "scripts" / f"{name}.md").write_text(
            f"---\ntitle: Generated lesson {i}\ntags: [bench]\n---\n\n`{name}.webm`\n\n"
            f"# Lesson {i}\n\n{narration}\n\n`[VISUAL TEXT: Idea {i} | more]`\n",
            encoding="utf-8")


def _timed(root: Path, **kwargs: object) -> float:
    start = time.perf_counter()
    build_course(root, index=write_index, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        root = Path(tmp) / "course"
        make_course(root, LESSONS)
        first = _timed(root, work=run_lesson, jobs=2)
        noop = min(_timed(root, work=run_lesson) for _ in range(5))
        cli_start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "build", "--root", str(root), "--json"],
                       check=True, capture_output=True)
        cli = time.perf_counter() - cli_start
        print(f"{LESSONS} lessons: first build {first:.2f} s (parse + probe, --jobs 2); "
              f"no-op rebuild {noop * 1000:.0f} ms in process, {cli * 1000:.0f} ms as "
              f"`python -m pipeline build` (interpreter start included)")

        small = Path(tmp) / "encode"
        make_course(small, ENCODE_LESSONS)
        times = {1: float("inf"), 2: float("inf")}
        for _ in range(ROUNDS):  # alternate, keep the best: the machine is shared
            for jobs in (1, 2):
                shutil.rmtree(small / "output", ignore_errors=True)
                times[jobs] = min(times[jobs], _timed(small, work=encode_work, jobs=jobs))
        print(f"{ENCODE_LESSONS} lessons, parse + {CLIP_SECONDS} s VP9 encode each: "
              f"--jobs 1 {times[1]:.2f} s, --jobs 2 {times[2]:.2f} s, "
              f"speed-up {times[1] / times[2]:.2f}x (best of {ROUNDS}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
