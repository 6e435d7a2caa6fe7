"""Render cost against a bare re-encode with the same encoder settings, in the same run.

Part 1, 60 s of 1080p30 VP9 (keyframe every 5 s):
  (a) bare ffmpeg re-encode (the fast preset: VP9 realtime, cpu-used 8, row-mt; Opus),
  (b) ``render_video`` with 6 overlays + 20 soft captions, full re-encode path,
  (c) the same 6 cards composited by moviepy's CompositeVideoClip;
  prints b/a (target <= 1.10) and c/a.
Part 2, the realistic lesson shape: 5 minutes, 7 cues of ~6 s, keyframe every 5 s, soft
captions: smart render (copy untouched keyframe intervals) against a bare re-encode
(target <= 0.4x). Resolution: 1080p30 unless BENCH_RENDER_HEIGHT says otherwise.

The generated recordings are kept in the system temp folder between runs.
Run: ``python -m benchmarks render`` (or ``make bench``).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import ffmpeg
from pipeline.models import Caption
from pipeline.render.cards import draw_card
from pipeline.render.ffmpeg_args import audio_codec_args, video_codec_args
from pipeline.render.plan import Frame, Overlay, Segment
from pipeline.render.run import render_video
from pipeline.render.theme import DEFAULT_THEME

FPS = 30
KEYFRAME_S = 5
WORK = Path(tempfile.gettempdir()) / "pipeline-bench-render"


def make_lesson(path: Path, seconds: int, width: int, height: int) -> Path:
    """A moving test picture with a tone, VP9 + Opus, a keyframe exactly every 5 s."""
    if path.exists():
        return path
    gop = FPS * KEYFRAME_S
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        part = Path(tmp) / path.name
        ffmpeg.run([
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
            "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
            "-b:v", "2M", "-g", str(gop), "-keyint_min", str(gop), "-pix_fmt", "yuv420p",
            "-c:a", "libopus", "-b:a", "96k", ffmpeg.media_arg(part),
        ], what=path)
        part.rename(path)
    return path


def cues(count: int, every: int, length: int, first: int) -> list[Overlay]:
    overlays = []
    for n in range(count):
        start = first + n * every
        if n % 3 == 2:
            overlays.append(Overlay("main_panel", f"Panel {n}: the customer model", (), start,
                                    start + length))
        else:
            items = (f"Point {n}: narrow focus", "absolute buyers — 100%", "big enough to win")
            overlays.append(Overlay("visual_text", " | ".join(items), items, start,
                                    start + length))
    return overlays


def captions(seconds: int, every: int = 3000) -> list[Caption]:
    return [Caption(n + 1, t, t + every - 200, f"Caption {n + 1}: what the presenter says here.")
            for n, t in enumerate(range(0, seconds * 1000 - every, every))]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg runs), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(what: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call. On a machine shared with other work the
    CPU time is the steadier measure of cost; both are printed."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    what()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def line(label: str, cost: tuple[float, float]) -> str:
    return f"  {label:<44} wall {cost[0]:7.1f} s   cpu {cost[1]:7.1f} s"


def ratio(label: str, num: tuple[float, float], den: tuple[float, float], target: str) -> str:
    return (f"  {label} = {num[0] / den[0]:.2f} wall, {num[1] / den[1]:.2f} cpu"
            f"{'   (target ' + target + ')' if target else ''}")


def bare(src: Path, out: Path, frame: Frame) -> None:
    ffmpeg.run(["-i", ffmpeg.media_arg(src), *video_codec_args("fast", frame),
                *audio_codec_args(), "-f", "webm", ffmpeg.media_arg(out)], what=src)


def moviepy_composite(src: Path, overlays: list[Overlay], frame: Frame, out: Path,
                      work: Path) -> None:
    """The same cards with moviepy 2 (use_bgclip=True, audio and duration set again)."""
    from moviepy import CompositeVideoClip, ImageClip, VideoFileClip

    video = VideoFileClip(str(src))
    layers = [video]
    for n, overlay in enumerate(overlays):
        card = draw_card(overlay.kind, overlay.text, overlay.items, DEFAULT_THEME, frame.width,
                         frame.height)
        png = work / f"moviepy_card{n}.png"
        card.image.save(png)
        layers.append(ImageClip(str(png)).with_start(overlay.start / 1000)
                      .with_duration((overlay.end - overlay.start) / 1000)
                      .with_position((card.x, card.y)))
    comp = (CompositeVideoClip(layers, size=video.size, use_bgclip=True)
            .with_duration(video.duration).with_audio(video.audio))
    bitrate = video_codec_args("fast", frame)
    comp.write_videofile(
        str(out), fps=FPS, codec="libvpx-vp9", audio_codec="libopus", audio_fps=48000,
        temp_audiofile=str(work / "moviepy_audio.ogg"), logger=None, threads=2,
        ffmpeg_params=["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
                       "-b:v", bitrate[bitrate.index("-b:v") + 1], "-pix_fmt", "yuv420p",
                       "-g", str(FPS * KEYFRAME_S)],
    )
    video.close()


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    height = int(os.environ.get("BENCH_RENDER_HEIGHT", "1080"))
    width = height * 16 // 9
    frame = Frame(1920, 1080, FPS)
    out = WORK / "out"
    out.mkdir(exist_ok=True)

    print(f"part 1: 60 s of 1920x1080@{FPS} VP9, keyframe every {KEYFRAME_S} s", flush=True)
    src = make_lesson(WORK / "lesson60-1080.webm", 60, 1920, 1080)
    six = cues(6, 9000, 4000, 3000)
    caps = captions(60)[:20]
    runs = int(os.environ.get("BENCH_RENDER_RUNS", "2"))
    bares, renders = [], []
    for _ in range(runs):  # interleaved, best of each: other work on the machine varies
        bares.append(timed(lambda: bare(src, out / "bare60.webm", frame)))
        renders.append(timed(lambda: render_video([Segment(src)], six, caps,
                                                  out / "render60.webm", smart=False)))
    a, b = best(bares), best(renders)
    c = timed(lambda: moviepy_composite(src, six, frame, out / "moviepy60.webm", out))
    rendered = ffmpeg.probe(out / "render60.webm")
    print(line("(a) bare re-encode", a))
    print(line("(b) render: 6 cards + 20 soft captions, full", b)
          + f"  -> {rendered.duration} ms, {rendered.video}/{rendered.audio}/"
          f"{','.join(rendered.subtitles)}")
    print(line("(c) moviepy CompositeVideoClip", c))
    print(ratio("b/a", b, a, "<= 1.10"))
    print(ratio("c/a", c, a, ""), flush=True)

    print(f"part 2: realistic lesson, 300 s of {width}x{height}@{FPS}, 7 cues of ~6 s, "
          f"keyframe every {KEYFRAME_S} s, soft captions", flush=True)
    frame2 = Frame(width, height, FPS)
    src2 = make_lesson(WORK / f"lesson300-{height}.webm", 300, width, height)
    seven = cues(7, 40_000, 6000, 12_000)
    results = []

    def smart() -> None:
        results.append(render_video([Segment(src2)], seven, captions(300),
                                    out / "smart300.webm"))

    a = timed(lambda: bare(src2, out / "bare300.webm", frame2))
    s = best([timed(smart), timed(smart)])
    result = results[-1]
    assert result.smart
    print(line("bare re-encode", a))
    print(line("smart render (best of 2)", s) + f"  -> {result.duration} ms,"
          f" {len(result.overlays)} cards, {result.captions} captions")
    print(ratio("smart/bare", s, a, "<= 0.40"), flush=True)


if __name__ == "__main__":
    main()
