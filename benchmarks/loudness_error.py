"""The in-pass loudness figures (16 kHz mono) against ffmpeg's ``ebur128=peak=true`` run on
the original files, on the real recordings of ../shared/realdata.

Run: .venv/bin/python benchmarks/loudness_error.py
Prints, for every file with audio in realdata's speech/, video/, align/ and claps/:
integrated loudness, true peak and loudness range, ours and ffmpeg's, and the differences
(mono files measured by ffmpeg as dual mono, as the pipeline counts them); the target is
the integrated loudness within 0.5 LU of ffmpeg's on every file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipeline import ffmpeg
from pipeline.audio.loudness import ABSOLUTE_GATE, measure
from pipeline.audio.sync import analyse
from pipeline.errors import MediaError

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
FOLDERS = ("speech", "video", "align", "claps")
MEDIA = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm", ".mp4", ".mov", ".mkv")
TARGET = 0.5  # LU: integrated loudness against ffmpeg's


def ebur128(path: Path) -> dict[str, float]:
    text = subprocess.run(
        [ffmpeg.executable(), "-hide_banner", "-nostats", "-i", ffmpeg.media_arg(path),
         "-map", "0:a:0", "-af", "ebur128=peak=true:dualmono=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True).stderr
    summary = text[text.rindex("Summary:"):]

    def number(pattern: str) -> float:
        found = re.search(pattern, summary)
        return float(found[1]) if found else float("nan")
    return {"I": number(r"I:\s+(-?[\d.]+) LUFS"), "LRA": number(r"LRA:\s+(-?[\d.]+) LU"),
            "TP": number(r"Peak:\s+(-?[\d.]+) dBFS")}


def main() -> None:
    rows = []
    for folder in FOLDERS:
        for path in sorted((REAL / folder).glob("*")):
            if path.suffix.lower() not in MEDIA:
                continue
            name = f"{folder}/{path.name}"
            try:
                found = analyse(path, [])
                theirs = ebur128(path)
            except (MediaError, subprocess.CalledProcessError, ValueError) as exc:
                print(f"{name:42s} skipped: no audio to measure ({str(exc).splitlines()[0][:60]})")
                continue
            ours = measure(found.loudness, found.speech, 0, found.duration)
            # nothing above the absolute gate (silence, or shorter than one 400 ms block):
            # ffmpeg prints -70, we give SILENT_DB; both say "not measurable"
            silent = max(ours.integrated, theirs["I"]) <= ABSOLUTE_GATE
            error = 0.0 if silent else ours.integrated - theirs["I"]
            rows.append((name, error, None if silent else ours.true_peak - theirs["TP"]))
            print(f"{name:42s} I {ours.integrated:6.1f} / {theirs['I']:6.1f} ({error:+.2f})"
                  f"{' (neither measurable)' if silent else '' if abs(error) <= TARGET else ' OVER'}  TP {ours.true_peak:5.1f} / "
                  f"{theirs['TP']:5.1f} ({ours.true_peak - theirs['TP']:+.2f})  "
                  f"LRA {ours.loudness_range:4.1f} / {theirs['LRA']:4.1f}")
    worst = max(rows, key=lambda r: abs(r[1]))
    peaks = [r[2] for r in rows if r[2] is not None]
    print(f"{len(rows)} files: integrated loudness {min(r[1] for r in rows):+.2f} .. "
          f"{max(r[1] for r in rows):+.2f} LU (worst {worst[0]}), "
          f"{sum(abs(r[1]) <= TARGET for r in rows)} of {len(rows)} within {TARGET} LU; "
          f"true peak {min(peaks):+.2f} .. {max(peaks):+.2f} dB (16 kHz mono; measurable files)")


if __name__ == "__main__":
    main()
