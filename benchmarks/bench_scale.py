"""Scale limits: time and peak memory of a 10,000-caption SRT (read, clean, QA, align), a
5 MB script (parse) and a 2-hour recording (clap + sync).

Each case runs in a fresh Python process so its peak resident memory (``ru_maxrss`` from
``os.wait4``) is its own: the analysis process's peak, and the peak of the largest process
it started (ffmpeg decoding) when that is larger. ``python -m benchmarks scale``; the test
suite runs scaled-down versions of the same cases (tests/test_robustness.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "we keep the customer model small and test it against real people"


@dataclass(frozen=True, slots=True)
class Measured:
    what: str
    seconds: float  # wall time of the case in its process, imports excluded
    peak_mb: float  # peak RSS of the case's own Python process
    tree_peak_mb: float  # peak RSS of that process or any process it waited for (ffmpeg)
    detail: dict[str, object]


def write_srt(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            start = i * 3000
            f.write(f"{i + 1}\n{_ts(start)} --> {_ts(start + 2500)}\n"
                    f"{SENTENCE} number {i}\n\n")
    return path


def _ts(ms: int) -> str:
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_script(path: Path, target_bytes: int, *, captions: int = 0) -> Path:
    """A lesson script of about ``target_bytes``: narration paragraphs, a cue every 20."""
    with path.open("w", encoding="utf-8") as f:
        f.write("---\ntitle: Scale\ntags: [scale]\n---\n\n`scale.webm`\n\n# Scale\n\n")
        i = 0
        while f.tell() < target_bytes or (captions and i < captions):
            f.write(f"{SENTENCE.capitalize()} number {i}.\n\n")
            if i % 20 == 10:
                f.write(f"`[VISUAL TEXT: Point {i} | detail]`\n\n")
            i += 1
    return path


def write_recording(path: Path, seconds: int) -> Path:
    """An audio-only Opus webm (48 kHz, like a browser recording) of pink noise with a
    clap-like burst at 2 s; cheap to make and to decode."""
    from pipeline import ffmpeg

    ffmpeg.run(["-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.02:r=48000:d={seconds}",
                "-f", "lavfi", "-i", "anoisesrc=color=white:amplitude=0.9:r=48000:d=0.03",
                "-filter_complex", ("[1]adelay=2000,apad[b];[0][b]amix=inputs=2:duration=first"
                ":normalize=0"), "-c:a", "libopus", "-b:a", "24k", ffmpeg.media_arg(path)])
    return path


_CHILD = r"""
import json, resource, sys, time
kind, *args = sys.argv[1:]
t0 = time.perf_counter()
detail = {}
if kind == "captions":
    from pipeline.align.cues import align_cues, reading_cps
    from pipeline.captions.clean import clean_captions
    from pipeline.captions.io import read_captions
    from pipeline.captions.profiles import get_profile
    from pipeline.captions.qa import check_captions, report_html
    from pipeline.script.parse import parse_script
    t0 = time.perf_counter()
    profile = get_profile("netflix")
    captions, issues = read_captions(args[0])
    lesson = parse_script(args[1])
    cleaned = clean_captions(captions, lesson, profile)
    qa = check_captions(cleaned.captions, profile, lesson, issues)
    page = report_html(qa, captions, cleaned, "scale", args[0])
    aligned = align_cues(lesson, cleaned.captions, max_cps=reading_cps(profile))
    detail = {"captions": len(captions), "findings": len(qa.findings), "html_bytes": len(page),
              "cues": len(aligned.cues)}
elif kind == "script":
    from pipeline.script.parse import parse_script
    t0 = time.perf_counter()
    lesson = parse_script(args[0])
    detail = {"narration_lines": len(lesson.narration), "cues": len(lesson.cues)}
elif kind == "recording":
    from pipeline.audio.clap import find_claps
    from pipeline.audio.sync import measure_sync
    from pipeline.models import Caption
    t0 = time.perf_counter()
    n = int(args[1]) // 3
    caps = [Caption(i + 1, 3000 * i + 500, 3000 * i + 2500, "words") for i in range(n)]
    claps = find_claps(args[0])
    sync = measure_sync(args[0], caps)
    detail = {"duration_s": claps.duration / 1000, "claps": len(claps.claps),
              "sync_method": sync.method}
else:
    import numpy  # baseline: the imports alone
    import pipeline.audio.sync, pipeline.captions.qa, pipeline.align.cues  # noqa
detail["seconds"] = time.perf_counter() - t0
# VmHWM is this process's own peak since exec; ru_maxrss would also carry the peak of the
# process that started it (the kernel keeps it across fork and exec): a big pytest made a
# 60 MB parse read 404 MB. The processes this one waited for (ffmpeg) started small.
with open("/proc/self/status") as status:
    detail["self_peak_kb"] = next(int(line.split()[1]) for line in status
                                  if line.startswith("VmHWM:"))
detail["tree_peak_kb"] = max(detail["self_peak_kb"],
                             resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps(detail))
"""


def measure(kind: str, *args: str | Path) -> Measured:
    """Run one case in a fresh interpreter; its time and peak memory (its own VmHWM, and
    the largest of the processes it ran)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, kind, *map(str, args)],
                                stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, _ = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{kind} case failed: {err.read().decode(errors='replace')}")
        detail = json.loads(out.read())
    seconds = float(detail.pop("seconds"))
    self_peak = float(detail.pop("self_peak_kb")) / 1024
    return Measured(kind, seconds, self_peak, float(detail.pop("tree_peak_kb")) / 1024, detail)


def _report(label: str, m: Measured) -> None:
    print(f"{label:34s} {m.seconds:7.2f} s   peak {m.peak_mb:6.1f} MB"
          f" (largest process {m.tree_peak_mb:6.1f} MB)   {m.detail}", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _report("imports only (baseline)", measure("baseline"))
        srt = write_srt(folder / "many.srt", 10_000)
        script = write_script(folder / "many.md", 0, captions=10_000)
        _report("10,000-caption SRT: read+clean+qa+align", measure("captions", srt, script))
        big = write_script(folder / "big.md", 5 * 1024 * 1024)
        _report(f"{big.stat().st_size / 1e6:.1f} MB script: parse", measure("script", big))
        t0 = time.perf_counter()
        rec = write_recording(folder / "long.webm", 2 * 3600)
        print(f"(2-hour recording made in {time.perf_counter() - t0:.0f} s,"
              f" {rec.stat().st_size / 1e6:.1f} MB)", flush=True)
        _report("2-hour recording: clap + sync", measure("recording", rec, 2 * 3600))


if __name__ == "__main__":
    main()
