"""Smart render: re-encode only the keyframe intervals that change, stream-copy the rest.

A VP9 recording is a run of keyframe intervals. An interval that no overlay touches and
the trim does not cut is copied bit for bit; the others are decoded, composited and
re-encoded (each re-encoded piece starts with a keyframe, so the joins decode cleanly).
The pieces are joined with the concat demuxer; the audio is copied whole when the
recording is neither trimmed nor given a loudness gain, else re-encoded once for the
span (cheap, sample exact).

Planning is pure (``parse_framecrc``, ``plan_pieces``, the ``*_args`` builders); ``render``
runs the ffmpeg commands through pipeline.ffmpeg.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import ffmpeg
from pipeline.errors import RenderError
from pipeline.ffmpeg import media_arg
from pipeline.render import ffmpeg_args
from pipeline.render.ffmpeg_args import (
    audio_chain,
    audio_codec_args,
    card_chain,
    card_input_args,
    sec,
)
from pipeline.render.plan import CardInput, Frame, Source, Timing

_TB = re.compile(r"^#tb 0: (\d+)/(\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Packet:
    pts: int  # ms
    duration: int  # ms
    key: bool
    size: int = 0  # bytes
    crc: str = ""  # the packet's checksum (framecrc's adler32): equal data, equal crc


@dataclass(frozen=True, slots=True)
class Piece:
    """Consecutive frames of the recording, [start, end) ms, copied or re-encoded."""

    start: int
    end: int
    frames: int
    encode: bool

    @property
    def duration(self) -> int:
        return self.end - self.start


def possible(sources: Sequence[Source], infos: Sequence[ffmpeg.MediaInfo]) -> bool:
    """Smart render needs one VP9 recording (its packets are copied into the webm); a cut
    take is several pieces of that one recording (:func:`render_cut`)."""
    return (len(sources) == 1 or len(ffmpeg_args.splices(sources)) == 1) \
        and infos[0].video == "vp9"


def parse_framecrc(text: str) -> list[Packet]:
    """Packets from ``-f framecrc`` output; a line without ``F=`` flags is a keyframe."""
    match = _TB.search(text)
    num, den = (int(match[1]), int(match[2])) if match else (1, 1000)
    packets = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 6:
            continue
        flags = next((f[2:] for f in fields[6:] if f.startswith("F=")), None)
        key = flags is None or bool(int(flags, 16) & 1)
        pts, dur, size = int(fields[2]), int(fields[3]), int(fields[4])
        packets.append(Packet(round(pts * 1000 * num / den), round(dur * 1000 * num / den), key,
                              size, fields[5]))
    packets.sort(key=lambda p: p.pts)
    return packets


def plan_pieces(packets: Sequence[Packet], start: int, end: int,
                spans: Sequence[tuple[int, int]]) -> list[Piece]:
    """Split the recording's [start, end) (ms) into copied and re-encoded pieces.

    ``spans`` are the overlays' [start, end) in recording time. A keyframe interval is
    copied when it starts at its keyframe inside the trim and no span touches it, also
    when the trim (or a cut) ends inside it: its frames up to there decode from its own
    keyframe (a VP9 frame refers only to frames before it, hidden ones packed with them);
    consecutive intervals of the same kind make one piece.
    """
    frames = [p for p in packets if start <= p.pts < end]
    if not frames:
        return []
    keys = [p.pts for p in packets if p.key]
    last = packets[-1]
    stream_end = last.pts + max(1, last.duration)
    groups: list[tuple[bool, list[Packet]]] = []
    for i, frame in enumerate(frames):
        k = _interval_of(keys, frame.pts)
        interval_start = keys[k] if k >= 0 else packets[0].pts
        interval_end = keys[k + 1] if k + 1 < len(keys) else stream_end
        whole = interval_start >= start
        touched = any(s < interval_end and e > interval_start for s, e in spans)
        encode = k < 0 or not whole or touched
        if groups and groups[-1][0] == encode and (encode or not frame.key):
            groups[-1][1].append(frame)
        else:
            groups.append((encode, [frame]))
    pieces = []
    for n, (encode, group) in enumerate(groups):
        piece_end = groups[n + 1][1][0].pts if n + 1 < len(groups) else min(
            end, group[-1].pts + max(1, group[-1].duration))
        pieces.append(Piece(group[0].pts, piece_end, len(group), encode))
    return _merge_copies(pieces)


def _interval_of(keys: Sequence[int], pts: int) -> int:
    """Index of the last keyframe at or before ``pts`` (-1: none)."""
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] <= pts:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def _merge_copies(pieces: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        if merged and merged[-1].encode == piece.encode:
            prev = merged.pop()
            piece = Piece(prev.start, piece.end, prev.frames + piece.frames, piece.encode)
        merged.append(piece)
    return merged


def shift_card(card: CardInput, offset: int) -> CardInput:
    """The card on a timeline that starts ``offset`` ms later."""
    t = card.timing
    return replace(card, timing=Timing(t.start - offset, t.end - offset, t.fade, t.steps))


def copy_piece_args(path: Path, piece: Piece, out: Path) -> list[str]:
    return ["-ss", sec(piece.start), "-i", media_arg(path), "-map", "0:v:0", "-c", "copy",
            "-frames:v", str(piece.frames), "-f", "webm", media_arg(out)]


def encode_piece_args(path: Path, piece: Piece, cards: Sequence[CardInput], frame: Frame,
                      preset: str, out: Path, source_kbps: int = 0) -> list[str]:
    """Decode the piece's span, composite the cards that show in it, encode video only.

    ``cards`` are already on the piece's own timeline (0 = the piece's first frame).
    """
    args = ["-ss", sec(piece.start), "-i", media_arg(path)]
    chains: list[str] = []
    base = "0:v"
    for i, card in enumerate(cards):
        args += card_input_args(card)
        chains += card_chain(i, 1 + i, card, base, f"o{i}")
        base = f"o{i}"
    chains.append(f"[{base}]format=yuv420p[vout]")
    return [*args, "-filter_complex", ";".join(chains), "-map", "[vout]", "-an",
            "-frames:v", str(piece.frames), *smart_codec_args(preset, frame, source_kbps),
            "-f", "webm", media_arg(out)]


def smart_codec_args(preset: str, frame: Frame, source_kbps: int) -> list[str]:
    """The preset's encoder, at no less than 1.5x the bitrate of the recording's own span.

    A re-encoded piece sits between bit-identical copied ones, so it must not look softer
    than its neighbours: below the source's rate the realtime encoder visibly blurs.
    """
    floor = ffmpeg_args.video_bitrate(frame.width, frame.height)
    kbps = max(floor, round(source_kbps * 1.5)) if preset == "fast" else None
    return ffmpeg_args.video_codec_args(preset, frame, kbps)


def span_kbps(packets: Sequence[Packet], piece: Piece) -> int:
    """The recording's own video bitrate over the piece's span."""
    size = sum(p.size for p in packets if piece.start <= p.pts < piece.end)
    return round(size * 8 / max(1, piece.duration))


def concat_list(pieces: Sequence[Path], durations: Sequence[int]) -> str:
    """A concat demuxer list of our own piece files (safe names), with exact durations."""
    lines = ["ffconcat version 1.0"]
    for path, duration in zip(pieces, durations, strict=True):
        name = str(path.absolute()).replace("'", "'\\''")
        lines += [f"file '{name}'", f"duration {sec(duration)}"]
    return "\n".join(lines) + "\n"


def mux_args(concat: Path, source: Source, full_length: int, audio_codec: str | None,
             captions_vtt: Path | None, out: Path) -> list[str]:
    """Join the pieces (copied) with the audio and the captions into the webm."""
    args = ["-f", "concat", "-safe", "0", "-i", media_arg(concat)]
    whole = source.start == 0 and source.end >= full_length
    if not source.has_audio:
        args += ["-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={sec(source.duration)}"]
        audio = audio_codec_args()
    elif whole and audio_codec == "opus" and not source.changes_audio:
        args += ["-i", media_arg(source.path)]
        audio = ["-c:a", "copy"]
    else:  # trimmed or given a gain: re-encoded (cheap next to video), sample exact
        if source.start > 0:
            args += ["-ss", sec(source.start)]
        args += ["-to", sec(source.end), "-i", media_arg(source.path)]
        audio = ["-af", audio_chain(source), *audio_codec_args()]
    maps = ["-map", "0:v:0", "-map", "1:a:0"]
    if captions_vtt is not None:
        args += ["-f", "webvtt", "-i", media_arg(captions_vtt)]
        maps += ["-map", "2:s:0", "-c:s", "copy"]
    return [*args, *maps, "-c:v", "copy", *audio, "-t", sec(source.duration),
            "-f", "webm", media_arg(out)]


def render(source: Source, frame: Frame, cards: Sequence[CardInput], out: Path, work: Path, *,
           preset: str, captions_vtt: Path | None, progress: ffmpeg.Progress | None,
           info: ffmpeg.MediaInfo) -> list[Piece]:
    """Render ``source`` with ``cards`` (output timeline) into ``out``; return the pieces."""
    packets = parse_framecrc(ffmpeg.packet_listing(source.path))
    spans = [(c.timing.start + source.start, c.timing.end + source.start) for c in cards]
    pieces = plan_pieces(packets, source.start, source.end, spans)
    if not pieces:
        raise RenderError("no video frames in the span to render", source.path)
    concat = _write_pieces(source.path, packets, [(p, p.start - source.start) for p in pieces],
                           cards, frame, preset, work, progress)
    ffmpeg.run(mux_args(concat, source, info.duration or source.end, info.audio, captions_vtt,
                        out), what=out)
    if progress is not None:
        progress(1.0)
    return pieces


def _write_pieces(path: Path, packets: Sequence[Packet], planned: Sequence[tuple[Piece, int]],
                  cards: Sequence[CardInput], frame: Frame, preset: str, work: Path,
                  progress: ffmpeg.Progress | None) -> Path:
    """Each piece of ``path`` re-encoded with the cards over it (``planned``: the piece and
    the output ms of its first frame) or stream-copied; returns their concat list."""
    total = sum(p.duration for p, _ in planned if p.encode) or 1
    done = 0
    files = []
    for n, (piece, offset) in enumerate(planned):
        file = work / f"piece{n:04d}.webm"
        if piece.encode:
            local = [shift_card(c, offset) for c in cards
                     if c.timing.start < offset + piece.duration and c.timing.end > offset]
            ffmpeg.run(encode_piece_args(path, piece, local, frame, preset, file,
                                         span_kbps(packets, piece)),
                       duration=piece.duration, progress=_part(progress, done, piece, total),
                       what=path)
            done += piece.duration
        else:
            ffmpeg.run(copy_piece_args(path, piece, file), what=path)
        files.append(file)
    concat = work / "pieces.ffconcat"
    concat.write_text(concat_list(files, [p.duration for p, _ in planned]), encoding="utf-8")
    return concat


def _part(progress: ffmpeg.Progress | None, done: int, piece: Piece,
          total: int) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda fraction: progress(min(0.99, (done + fraction * piece.duration) / total))


# --- a cut take (pipeline.cuts): several pieces of one recording -------------------------


def render_cut(sources: Sequence[Source], frame: Frame, cards: Sequence[CardInput], out: Path,
               work: Path, *, preset: str, captions_vtt: Path | None,
               progress: ffmpeg.Progress | None, info: ffmpeg.MediaInfo) -> list[Piece]:
    """``render`` for the pieces a cut take keeps (one recording, in order): each piece
    planned as a trim of its own, so only the keyframe intervals a cut (or a card)
    touches are re-encoded; the pieces joined; the audio spliced from one decode with a
    crossfade at each cut (ffmpeg_args.spliced_audio_chain)."""
    packets = parse_framecrc(ffmpeg.packet_listing(sources[0].path))
    planned: list[tuple[Piece, int]] = []  # (piece, output ms of its first frame)
    at = 0
    for source in sources:
        local = [(c.timing.start - at + source.start, c.timing.end - at + source.start)
                 for c in cards if c.timing.start < at + source.duration and c.timing.end > at]
        planned += [(p, at + p.start - source.start)
                    for p in plan_pieces(packets, source.start, source.end, local)]
        at += source.duration
    if not planned:
        raise RenderError("no video frames in the spans to render", sources[0].path)
    concat = _write_pieces(sources[0].path, packets, planned, cards, frame, preset, work,
                           progress)
    ffmpeg.run(mux_cut_args(concat, sources, captions_vtt, out), what=out)
    if progress is not None:
        progress(1.0)
    return [p for p, _ in planned]


def mux_cut_args(concat: Path, sources: Sequence[Source], captions_vtt: Path | None,
                 out: Path) -> list[str]:
    """Join the pieces (copied) with the spliced audio and the captions into the webm."""
    length = sum(s.duration for s in sources)
    args = ["-f", "concat", "-safe", "0", "-i", media_arg(concat)]
    if sources[0].has_audio:
        args += ["-i", media_arg(sources[0].path)]
        chains = ffmpeg_args.spliced_audio_chain(sources, 1, "aout")
        maps = ["-filter_complex", ";".join(chains), "-map", "0:v:0", "-map", "[aout]"]
    else:
        args += ["-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={sec(length)}"]
        maps = ["-map", "0:v:0", "-map", "1:a:0"]
    if captions_vtt is not None:
        args += ["-f", "webvtt", "-i", media_arg(captions_vtt)]
        maps += ["-map", "2:s:0", "-c:s", "copy"]
    return [*args, *maps, "-c:v", "copy", *audio_codec_args(), "-t", sec(length),
            "-f", "webm", media_arg(out)]
