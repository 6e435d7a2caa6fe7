"""Our caption reader against pysrt on ../shared/realdata/subs (SRT files only for pysrt).

Run: .venv/bin/python benchmarks/captions_readers.py
Prints, per reader: files read, files raising, and where the cue counts differ.
"""

from __future__ import annotations

from pathlib import Path

import pysrt

from pipeline.captions.io import read_captions
from pipeline.errors import CaptionError

SUBS = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata" / "subs"


def main() -> None:
    files = sorted(SUBS.iterdir())
    ours_read = ours_refused = 0
    srt_files = [p for p in files if p.suffix == ".srt"]
    pysrt_raised: list[str] = []
    differ: list[str] = []
    for path in files:
        try:
            caps, _ = read_captions(path)
            ours_read += 1
        except CaptionError:
            ours_refused += 1
            caps = None
        if path.suffix != ".srt":
            continue
        try:
            items = pysrt.open(str(path), error_handling=pysrt.ERROR_RAISE)
        except Exception as exc:  # noqa: BLE001 - pysrt raises many kinds
            pysrt_raised.append(f"{path.name}: {type(exc).__name__}")
            continue
        n = len(caps) if caps is not None else "refused"
        if n != len(items):
            differ.append(f"{path.name}: ours {n}, pysrt {len(items)}")
    print(f"ours: {ours_read} read, {ours_refused} refused of {len(files)}")
    print(f"pysrt (ERROR_RAISE): raised on {len(pysrt_raised)} of {len(srt_files)} SRT files")
    print("".join(f"  {line}\n" for line in pysrt_raised), end="")
    passed = {"raised": 0, "fewer": 0}
    for path in srt_files:
        try:
            items = pysrt.open(str(path))  # default: ERROR_PASS, bad items dropped silently
        except Exception as exc:  # noqa: BLE001 - measuring, not handling
            passed["raised"] += 1
            print(f"  default mode raised on {path.name}: {type(exc).__name__}")
            continue
        try:
            ours = len(read_captions(path)[0])
        except CaptionError:
            ours = 0
        if len(items) < ours:
            passed["fewer"] += 1
            print(f"  default mode silently read {len(items)} of {ours} cues: {path.name}")
    print(
        f"pysrt (default ERROR_PASS): raised on {passed['raised']} of {len(srt_files)} SRT files,"
        f" fewer cues than ours (silently) on {passed['fewer']}"
    )
    print(f"cue counts differ on {len(differ)} files:")
    print("".join(f"  {line}\n" for line in differ), end="")


if __name__ == "__main__":
    main()
