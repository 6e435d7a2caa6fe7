"""The one place that runs ffmpeg: locating it, probing media, running with progress.

ffmpeg comes from the imageio-ffmpeg package (no system install, no ffprobe), so probing
reads the stream summary ``ffmpeg -i`` prints.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import IO

from pipeline.errors import MediaError

if sys.platform != "win32":
    import fcntl
else:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

Progress = Callable[[float], None]  # fraction done, 0..1


@cache
def executable() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def media_arg(path: str | Path) -> str:
    """A path ffmpeg cannot mistake for an option or a protocol (``-i.webm``, ``a:b``)."""
    return "file:" + str(Path(path).absolute())


@dataclass(frozen=True, slots=True)
class MediaInfo:
    path: Path
    duration: int | None  # ms; None when the container does not say
    video: str | None  # codec name of the first video stream
    audio: str | None  # codec name of the first audio stream
    subtitles: tuple[str, ...]
    width: int = 0
    height: int = 0
    fps: float = 0.0
    sample_rate: int = 0
    start: int = 0  # ms: the first timestamp (e.g. 3500 for a WebM written with an offset)
    audio_delay: int = 0  # ms the first audio stream starts after the file does (recorders)
    mono: bool = False  # the first audio stream has one channel


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d)\.(\d+)")
_START = re.compile(r"Duration: [^\n]*?, start: (-?\d+)\.(\d+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_STREAM = re.compile(r"Stream #\d+:\d+(?:\[\w+\])?(?:\(\w+\))?: (Video|Audio|Subtitle): (\w+)(.*)")


def probe(path: str | Path, *, measure: bool = False) -> MediaInfo:
    """Describe a media file, or raise MediaError naming it when ffmpeg cannot read it.

    ``measure``: when the container does not say how long the file is (a live-recorded
    WebM: ``Duration: N/A``) or its timestamps do not start at 0 (where the container's
    duration may count from 0, not from the first frame), measure the length from the last
    packet of every stream (see :func:`measure_duration`). Never an unknown length as zero.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError("recording not found", path)
    if path.stat().st_size == 0:
        raise MediaError("recording is empty (0 bytes)", path)
    proc = subprocess.run(
        [executable(), "-hide_banner", "-nostdin", "-i", media_arg(path)],
        capture_output=True, text=True, errors="replace", check=False,
    )
    info = parse_probe(path, proc.stderr)
    if measure and (info.duration is None or info.start != 0):
        measured = measure_duration(path)
        if measured is None:
            raise MediaError("cannot tell how long this recording is: no packets found", path)
        info = replace(info, duration=measured)
    return info


def packet_listing_args(path: str | Path, streams: Sequence[str] = ("0:v:0",)) -> list[str]:
    """Arguments listing the packets (times, sizes, key flags) of ``streams`` without
    decoding them, as ``-f framecrc`` text on stdout. Times count from the file's start."""
    maps = [arg for spec in streams for arg in ("-map", spec)]
    return ["-i", media_arg(path), *maps, "-c", "copy", "-f", "framecrc", "pipe:1"]


def packet_listing(path: str | Path, streams: Sequence[str] = ("0:v:0",)) -> str:
    """The ``-f framecrc`` packet listing of ``streams`` (a demux pass: no decoding)."""
    data = b"".join(stream(packet_listing_args(path, streams), chunk_bytes=1 << 20, what=path))
    return data.decode("utf-8", "replace")


def measure_duration(path: str | Path) -> int | None:
    """ms from the file's first timestamp to the end of its last audio or video packet."""
    ends = [pts + dur for pts, dur in _packet_times(packet_listing(path, ("0:v?", "0:a?")))]
    return max(ends) if ends else None


_TIMEBASE = re.compile(r"^#tb (\d+): (\d+)/(\d+)", re.MULTILINE)


def _packet_times(text: str) -> list[tuple[int, int]]:
    """(pts, duration) in ms of every packet of a framecrc listing."""
    bases = {int(m[1]): (int(m[2]), int(m[3])) for m in _TIMEBASE.finditer(text)}
    times = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) < 5:
            continue
        num, den = bases.get(int(fields[0]), (1, 1000))
        times.append((round(int(fields[2]) * 1000 * num / den),
                      round(int(fields[3]) * 1000 * num / den)))
    return times


def _seconds_ms(whole: str, frac: str) -> int:
    """``ffmpeg -i``'s ``-1.500`` as ms (``whole`` carries the sign, even ``-0``)."""
    ms = abs(int(whole)) * 1000 + int(frac.ljust(3, "0")[:3])
    return -ms if whole.startswith("-") else ms


def parse_probe(path: Path, text: str) -> MediaInfo:
    if "Input #0" not in text:
        raise MediaError(f"not a readable media file: {_last_line(text)}", path)
    duration = None
    if match := _DURATION.search(text):
        h, m, s, frac = match.groups()
        duration = ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(3, "0")[:3])
    start = _seconds_ms(*found.groups()) if (found := _START.search(text)) else 0
    video = audio = None
    subtitles: list[str] = []
    width = height = rate = audio_delay = 0
    fps = 0.0
    mono = False
    for found in _STREAM.finditer(text):
        kind, codec, rest = found.groups()
        if kind == "Video" and video is None:
            video = codec
            if size := re.search(r"\b(\d{2,5})x(\d{2,5})\b", rest):
                width, height = int(size[1]), int(size[2])
            # a phone's display matrix: ffmpeg decodes the frames turned upright
            following = text[found.end():].split("Stream #", 1)[0]
            if (turn := _ROTATION.search(following)) and round(float(turn[1])) % 180 == 90:
                width, height = height, width
            if frames := re.search(r"([\d.]+) (?:fps|tbr)", rest):
                fps = float(frames[1])
        elif kind == "Audio" and audio is None:
            audio = codec
            if hz := re.search(r"(\d+) Hz", rest):
                rate = int(hz[1])
            mono = re.search(r", (mono|1 channels),", rest) is not None
            if late := re.search(r"\bstart (-?\d+)\.(\d+)", rest):
                audio_delay = max(0, _seconds_ms(late[1], late[2]) - start)
        elif kind == "Subtitle":
            subtitles.append(codec)
    if video is None and audio is None:
        raise MediaError("file has no audio or video stream", path)
    return MediaInfo(path, duration, video, audio, tuple(subtitles), width, height, fps, rate,
                     start, audio_delay, mono)


_SIGNAL_HINTS = {
    "SIGXFSZ": "the output file exceeded the file size limit",
    "SIGKILL": "perhaps out of memory",
}


def _exit_reason(code: int) -> str:
    """ffmpeg's exit code in words; a negative code is the signal that killed it."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    hint = _SIGNAL_HINTS.get(name)
    return f"killed by {name}" + (f" ({hint})" if hint else "")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg gave no reason"


def run(
    args: Sequence[str],
    *,
    duration: int | None = None,
    progress: Progress | None = None,
    what: str | Path | None = None,
) -> None:
    """Run ffmpeg with ``args`` (everything after the executable).

    ``duration`` (ms of output expected) turns ffmpeg's ``-progress`` reports into fractions
    passed to ``progress``. On failure raises MediaError with ffmpeg's own last words,
    naming ``what`` (the file the run was about).
    """
    cmd = [executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    tail: deque[str] = deque(maxlen=20)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE if progress else subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, errors="replace",
    ) as proc:
        assert proc.stderr is not None
        stderr = proc.stderr
        drain = threading.Thread(target=lambda: tail.extend(line.rstrip() for line in stderr))
        drain.start()
        try:
            if progress is not None and proc.stdout is not None:
                for line in proc.stdout:
                    key, _, value = line.strip().partition("=")
                    if key == "out_time_us" and duration and value.isdigit():
                        progress(min(1.0, int(value) / 1000 / duration))
            code = proc.wait()
        except BaseException:
            proc.kill()
            raise
        finally:
            drain.join()
    if code != 0:
        reason = "; ".join(line for line in tail if line) or _exit_reason(code)
        raise MediaError(f"ffmpeg failed: {reason}", what)
    if progress is not None:
        progress(1.0)


def stream(args: Sequence[str], *, chunk_bytes: int, what: str | Path | None = None) -> Iterator[bytes]:
    """Run ffmpeg with ``args`` writing raw data to stdout, yielding it in chunks.

    Each chunk has ``chunk_bytes`` bytes (the last may be shorter), so callers can hold a
    fixed-size window of a long decode in memory. Stopping the iteration early kills ffmpeg.
    On failure raises MediaError with ffmpeg's own last words, naming ``what``.
    """
    cmd = [executable(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    tail: deque[str] = deque(maxlen=20)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        _widen_pipe(proc.stdout, chunk_bytes * 2)
        stderr = proc.stderr
        drain = threading.Thread(
            target=lambda: tail.extend(
                line.decode("utf-8", "replace").rstrip() for line in stderr
            ),
            daemon=True,
        )
        drain.start()
        finished = False
        try:
            while True:
                data = _read_exactly(proc.stdout, chunk_bytes)
                if not data:
                    break
                yield data
            finished = True
        finally:
            if not finished:
                proc.kill()
            code = proc.wait()
            drain.join()
    if code != 0:
        reason = "; ".join(line for line in tail if line) or _exit_reason(code)
        raise MediaError(f"ffmpeg failed: {reason}", what)


def _widen_pipe(pipe: IO[bytes], size: int) -> None:
    """Let ffmpeg run ahead of the reader by up to ``size`` bytes (Linux; else a no-op).

    With the default 64 KB pipe ffmpeg stalls whenever the reader is busy with a chunk,
    so decoding and analysis take turns instead of sharing the two cores.
    """
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
    if setsize is None:
        return
    for wanted in (size, 1 << 20, 1 << 18):
        try:
            fcntl.fcntl(pipe.fileno(), setsize, wanted)
            return
        except OSError:
            continue


def _read_exactly(pipe: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        data = pipe.read(size)
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)
