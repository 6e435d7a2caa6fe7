"""ffmpeg argument lists and filter graphs, built as data by pure functions.

No user text ever enters a filter string: cards are images, captions are files, and the
only paths in a graph are our own temporary files, escaped for the filter syntax anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.ffmpeg import media_arg
from pipeline.render.plan import CardInput, Frame, Source, Timing, keyframe_interval, video_bitrate

AUDIO_RATE = 48000
SPLICE_FADE = 16  # ms of equal-power crossfade where a cut joins two pieces of a recording


def sec(ms: float) -> str:
    """Milliseconds as an ffmpeg seconds argument: ``1500`` -> ``"1.5"``."""
    text = f"{ms / 1000:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def escape_filter_value(value: str) -> str:
    """Escape an option value for a filtergraph: first the option level (``\\ ' :``),
    then the graph level (``\\ ' [ ] , ;``), as ffmpeg-filters(1) "Notes on filtergraph
    escaping" describes."""
    level1 = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in level1)


def image2_pattern(directory: Path, stem: str) -> str:
    """An image2 sequence pattern in ``directory``: literal ``%`` in the folder doubled."""
    return str(directory.absolute()).replace("%", "%%") + f"/{stem}_%02d.png"


def video_codec_args(preset: str, frame: Frame, kbps: int | None = None) -> list[str]:
    """Encoder options; ``kbps`` overrides the fast preset's bitrate."""
    common = ["-c:v", "libvpx-vp9", "-row-mt", "1", "-pix_fmt", "yuv420p",
              "-g", str(keyframe_interval(frame.fps))]
    if preset == "final":
        return common + ["-deadline", "good", "-cpu-used", "2", "-crf", "30", "-b:v", "0"]
    if preset == "fast":
        return common + ["-deadline", "realtime", "-cpu-used", "8",
                         "-b:v", f"{kbps or video_bitrate(frame.width, frame.height)}k"]
    raise ValueError(f"unknown preset {preset!r}")


def audio_codec_args() -> list[str]:
    return ["-c:a", "libopus", "-b:a", "96k", "-ar", str(AUDIO_RATE)]


def audio_chain(source: Source) -> str:
    """The filters a source's audio goes through: 48 kHz stereo, a mono recording on both
    channels at full level (as a player plays it: the loudness figures are for two
    speakers), then its gain and its limiter.

    A limiter touches only peaks over its ceiling (below it the gain stays linear); its
    look-ahead is compensated (``latency``), so no sample moves in time.
    """
    parts = [f"aresample={AUDIO_RATE}", "pan=stereo|FL=FL+FC|FR=FR+FC"]
    if source.gain:
        parts.append(f"volume={source.gain:.2f}dB")
    if source.limit is not None:  # at 4x the rate: a true-peak limiter, not a sample one
        limiter = (f"alimiter=limit={10 ** (source.limit / 20):.4f}:level=false:latency=true"
                   ":attack=5:release=50")
        parts += [f"aresample={AUDIO_RATE * 4}", limiter, f"aresample={AUDIO_RATE}"]
    return ",".join(parts)


def splices(sources: Sequence[Source]) -> list[list[int]]:
    """The sources in runs of consecutive pieces of one recording (a cut take): each run
    longer than one has its audio spliced from one decode (:func:`spliced_audio_chain`)."""
    runs: list[list[int]] = []
    for i, source in enumerate(sources):
        if runs and sources[runs[-1][-1]].path == source.path and source.start >= sources[
                runs[-1][-1]].end:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def spliced_audio_chain(sources: Sequence[Source], input_no: int, out: str,
                        fade: int = SPLICE_FADE) -> list[str]:
    """Pieces of one recording (in order, a cut between each two) from one decode of
    input ``input_no``: split at the cut points (``asegment``: sample exact, nothing
    buffered), each splice an equal-power crossfade (quarter-sine curves) of ``fade`` ms.
    Each piece takes ``fade / 2`` ms of the removed material on each side it is spliced,
    so the length stays the sum of the pieces and every piece stays where the video has
    it; then the take's gain and limiter (:func:`audio_chain`)."""
    half = fade // 2
    bounds: list[int] = []
    for k, source in enumerate(sources):
        bounds += [source.start - (half if k else 0), source.end + (half if k < len(sources) - 1
                                                                   else 0)]
    skip_first = bounds[0] <= 0
    points = bounds[1:] if skip_first else bounds
    labels = [f"{out}s{n}" for n in range(len(points) + 1)]
    chains = [f"[{input_no}:a:0]asegment=timestamps={'|'.join(sec(t) for t in points)}"
              + "".join(f"[{label}]" for label in labels)]
    kept = labels[0::2] if skip_first else labels[1::2]
    for label in labels:
        if label not in kept:
            chains.append(f"[{label}]anullsink")
    for n, label in enumerate(kept):
        chains.append(f"[{label}]asetpts=PTS-STARTPTS[{out}k{n}]")
    joined = f"{out}k0"
    for n in range(1, len(kept)):
        chains.append(f"[{joined}][{out}k{n}]acrossfade=d={sec(fade)}:c1=qsin:c2=qsin"
                      f"[{out}x{n}]")
        joined = f"{out}x{n}"
    chains.append(f"[{joined}]{audio_chain(sources[0])}[{out}]")
    return chains


def source_input_args(source: Source, full_length: int | None = None) -> list[str]:
    """Input options reading ``source``'s span (decoded, so the cut is frame accurate)."""
    args: list[str] = []
    if source.start > 0:
        args += ["-ss", sec(source.start)]
    if full_length is None or source.end < full_length:
        args += ["-to", sec(source.end)]
    return args + ["-i", media_arg(source.path)]


def card_input_args(card: CardInput) -> list[str]:
    return ["-framerate", "1", "-start_number", "0", "-f", "image2", "-i", str(card.pattern)]


def setpts_expr(timing: Timing) -> str:
    """Place card frame N at its time (seconds) in the card's fade schedule."""
    if timing.steps == 0:
        return sec(timing.start)
    k = timing.steps
    step = timing.fade / k
    rising = f"{sec(timing.start)}+N*{step / 1000:.6f}"
    full = sec(timing.start + timing.fade)
    falling = f"{sec(timing.end - timing.fade)}+(N-{k + 1})*{step / 1000:.6f}"
    return f"if(lt(N,{k}),{rising},if(eq(N,{k}),{full},{falling}))"


def card_chain(index: int, input_no: int, card: CardInput, base: str, out: str) -> list[str]:
    """Filters compositing card ``index`` (ffmpeg input ``input_no``) onto ``base``."""
    label = f"c{index}"
    timing = card.timing
    return [
        f"[{input_no}:v]settb=1/1000,setpts='({setpts_expr(timing)})/TB'[{label}]",
        (f"[{base}][{label}]overlay=x={card.x}:y={card.y}"
         f":enable='between(t,{sec(timing.start)},{sec(timing.end - 1)})'"
         f":eof_action=repeat[{out}]"),
    ]


def source_chains(sources: Sequence[Source], frame: Frame,
                  spliced: dict[int, int] | None = None) -> tuple[list[str], str, str]:
    """Join the sources (video and audio) into one stream each. ``spliced``: for each run
    of pieces of one recording (:func:`splices`, by its first source) the input that
    decodes that recording's audio whole (:func:`spliced_audio_chain`).

    Returns (filters, video label, audio label or an input stream specifier).
    """
    if len(sources) == 1:
        source = sources[0]
        if source.has_audio:
            return [f"[0:a:0]{audio_chain(source)}[asrc]"], "0:v", "[asrc]"
        silent = f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=duration={sec(source.duration)}[asrc]"
        return [silent], "0:v", "[asrc]"
    if spliced:
        return _spliced_chains(sources, frame, spliced)
    chains: list[str] = []
    pairs = ""
    for i, source in enumerate(sources):
        chains.append(f"[{i}:v]{fit_chain(frame)}[v{i}]")
        if source.has_audio:
            chains.append(f"[{i}:a:0]{audio_chain(source)}[a{i}]")
        else:
            chains.append(f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=duration="
                          f"{sec(source.duration)}[a{i}]")
        pairs += f"[v{i}][a{i}]"
    chains.append(f"{pairs}concat=n={len(sources)}:v=1:a=1[vcat][acat]")
    return chains, "vcat", "[acat]"


def fit_chain(frame: Frame) -> str:
    """A joined recording's picture fitted to the output frame (size, aspect, rate)."""
    fps = f"{frame.fps:.6f}".rstrip("0").rstrip(".")
    return (f"scale={frame.width}:{frame.height}:force_original_aspect_ratio=decrease,"
            f"pad={frame.width}:{frame.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},"
            "format=yuv420p")


def _spliced_chains(sources: Sequence[Source], frame: Frame,
                    spliced: dict[int, int]) -> tuple[list[str], str, str]:
    """source_chains with cut takes: the video pieces concatenated (each cut on its
    frame), the audio of each cut take spliced from one decode with crossfades."""
    chains = [f"[{i}:v]{fit_chain(frame)}[v{i}]" for i in range(len(sources))]
    chains.append("".join(f"[v{i}]" for i in range(len(sources)))
                  + f"concat=n={len(sources)}:v=1:a=0[vcat]")
    runs = splices(sources)
    for r, run in enumerate(runs):
        first = sources[run[0]]
        length = sum(sources[i].duration for i in run)
        if not first.has_audio:
            chains.append(f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=duration={sec(length)}[a{r}]")
        elif len(run) > 1:
            chains += spliced_audio_chain([sources[i] for i in run], spliced[run[0]], f"a{r}")
        else:
            chains.append(f"[{run[0]}:a:0]{audio_chain(first)}[a{r}]")
    chains.append("".join(f"[a{r}]" for r in range(len(runs)))
                  + f"concat=n={len(runs)}:v=0:a=1[acat]")
    return chains, "vcat", "[acat]"


def burn_in_filter(subtitles: Path, fonts_dir: Path) -> str:
    return (f"subtitles=filename={escape_filter_value(str(subtitles.absolute()))}"
            f":fontsdir={escape_filter_value(str(fonts_dir.absolute()))}")


def full_render_args(
    sources: Sequence[Source],
    frame: Frame,
    cards: Sequence[CardInput],
    output: Path,
    *,
    preset: str = "fast",
    captions_vtt: Path | None = None,
    burn_in: Path | None = None,
    fonts_dir: Path | None = None,
    duration: int,
    full_lengths: Sequence[int | None] | None = None,
) -> list[str]:
    """One ffmpeg run: decode the sources once, composite cards, encode once."""
    args: list[str] = []
    for i, source in enumerate(sources):
        args += source_input_args(source, full_lengths[i] if full_lengths else None)
    first_card = len(sources)
    for card in cards:
        args += card_input_args(card)
    spliced: dict[int, int] = {}
    for run in splices(sources):  # a cut take's audio: one whole decode, spliced
        if len(run) > 1 and sources[run[0]].has_audio:
            spliced[run[0]] = first_card + len(cards) + len(spliced)
            args += ["-i", media_arg(sources[run[0]].path)]
    chains, video, audio = source_chains(sources, frame, spliced)
    base = video
    for i, card in enumerate(cards):
        out = f"o{i}"
        chains += card_chain(i, first_card + i, card, base, out)
        base = out
    tail = []
    if burn_in is not None:
        tail.append(burn_in_filter(burn_in, fonts_dir or burn_in.parent))
    tail.append("format=yuv420p")
    chains.append(f"[{base}]{','.join(tail)}[vout]")
    maps = ["-map", "[vout]", "-map", audio]
    if captions_vtt is not None and burn_in is None:
        subtitle_input = first_card + len(cards) + len(spliced)
        # Copied, not re-encoded: ffmpeg's webvtt encoder goes through ASS and would add
        # U+2060 after every backslash in the caption text.
        args += ["-f", "webvtt", "-i", media_arg(captions_vtt)]
        maps += ["-map", f"{subtitle_input}:s:0", "-c:s", "copy"]
    return [
        *args,
        "-filter_complex", ";".join(chains),
        *maps,
        *video_codec_args(preset, frame),
        *audio_codec_args(),
        "-t", sec(duration),
        "-f", "webm", media_arg(output),
    ]
