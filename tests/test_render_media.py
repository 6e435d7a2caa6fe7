"""Helpers for the render tests: tiny generated media and frame probes (imported by the
other test_render_* files), and a check of the helpers themselves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from pipeline.ffmpeg import executable, media_arg


def make_clip(path: Path, *, seconds: float = 2.0, size: str = "160x90", rate: int = 30,
              colour: str = "0x208020", gop: int = 15, audio: bool = True,
              pattern: bool = False, live: bool = False) -> Path:
    """A small VP9 + Opus webm: a solid colour (or testsrc2) and a sine tone.

    ``live`` writes it through a pipe, as a browser's recorder does: no duration, no cues.
    """
    video = (f"testsrc2=size={size}:rate={rate}:duration={seconds}" if pattern
             else f"color=c={colour}:size={size}:rate={rate}:duration={seconds}")
    args = [executable(), "-v", "error", "-y", "-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
             "-g", str(gop), "-keyint_min", str(gop), "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "libopus"]
    if live:
        with path.open("wb") as sink:
            subprocess.run([*args, "-f", "webm", "pipe:1"], stdout=sink, check=True)
    else:
        subprocess.run([*args, media_arg(path)], check=True)
    return path


def frame_at(path: Path, ms: int, width: int, height: int) -> np.ndarray:
    """The decoded frame shown at ``ms`` as an (h, w, 3) RGB array."""
    proc = subprocess.run(
        [executable(), "-v", "error", "-ss", f"{ms / 1000:.3f}", "-i", media_arg(path),
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    )
    return np.frombuffer(proc.stdout, np.uint8)[: width * height * 3].reshape(height, width, 3)


def patch(frame: np.ndarray, x: int, y: int, r: int = 1) -> np.ndarray:
    return frame[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3).mean(axis=0)


def near(colour: np.ndarray, rgb: tuple[int, int, int], tol: float = 40) -> bool:
    return bool(np.abs(colour - np.array(rgb)).max() <= tol)


def extract_subtitles(path: Path, out: Path) -> str:
    subprocess.run([executable(), "-v", "error", "-y", "-i", media_arg(path), "-map", "0:s:0",
                    "-c:s", "copy", media_arg(out)], check=True)
    return out.read_text(encoding="utf-8")


def frame_count(path: Path) -> int:
    proc = subprocess.run([executable(), "-v", "error", "-i", media_arg(path), "-map", "0:v:0",
                           "-c", "copy", "-f", "framecrc", "pipe:1"],
                          capture_output=True, text=True, check=True)
    return sum(1 for line in proc.stdout.splitlines() if line and not line.startswith("#"))


def test_generated_clip_is_tiny_vp9_opus(tmp_path: Path) -> None:
    from pipeline.ffmpeg import probe

    info = probe(make_clip(tmp_path / "c.webm", seconds=1.0))
    assert (info.video, info.audio, info.width, info.height) == ("vp9", "opus", 160, 90)
    assert frame_count(tmp_path / "c.webm") == 30
