"""Patch render: a lesson rendered again after a cue moved reuses its previous output.

The previous output is a run of keyframe intervals. An interval that no changed card
touches (where a card was drawn before, where it is drawn now) is copied from it bit for
bit; the others are decoded again from the recordings, composited with the cards that
show in them and re-encoded (each from its keyframe, as before, so the next patch finds
the same intervals). The audio is copied from the previous output, the captions are the
new ones. A patch is allowed only when everything but the cards is what the previous
render used: ``render_key`` (recordings, trims, gains, frame, preset, theme, panels and
the render code) must equal the key recorded in the previous manifest's ``patch``.

Planning is pure (``changed_spans``, ``window_sources``, ``window_args``, ``mux_args``);
``render`` runs the ffmpeg commands through pipeline.ffmpeg.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import ffmpeg
from pipeline.errors import RenderError
from pipeline.ffmpeg import media_arg
from pipeline.render.ffmpeg_args import card_chain, card_input_args, fit_chain, sec
from pipeline.render.plan import CardInput, Frame, Source
from pipeline.render.smart import (
    Piece,
    concat_list,
    copy_piece_args,
    parse_framecrc,
    plan_pieces,
    shift_card,
    smart_codec_args,
    span_kbps,
)

VERSION = 1  # of the record below


@dataclass(frozen=True, slots=True)
class Record:
    """What a render drew, kept in its manifest (``patch``) for the next render."""

    key: str  # render_key: everything but the cards
    cards: tuple[tuple[str, int, int], ...]  # each card drawn: card_id, start, end (ms)

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "key": self.key, "cards": [list(c) for c in self.cards]}

    @staticmethod
    def of_manifest(path: Path) -> Record | None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))["patch"]
            if doc["version"] != VERSION:
                return None
            return Record(str(doc["key"]), tuple((str(i), int(a), int(b))
                                                 for i, a, b in doc["cards"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def changed(self, new: Record) -> list[tuple[int, int]]:
        """Output spans whose picture differs from this render's in ``new``: cards drawn
        in one and not the other (moved, edited, added, removed)."""
        return sorted({(a, b) for ident, a, b in set(self.cards) ^ set(new.cards)})


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def render_key(sources: Sequence[Source], frame: Frame, preset: str, look: Any,
               panels_dir: Path | None) -> str:
    """Everything a render depends on but its cards and captions: the recordings (by
    content: size, first and last MiB), their spans, gains and limits, the frame, the
    preset, the theme, the panel images and the render code."""
    from pipeline.course.cache import code_digest, file_digest, head_tail_digest

    panels = ([[p.name, file_digest(p)] for p in sorted(panels_dir.iterdir()) if p.is_file()]
              if panels_dir is not None and panels_dir.is_dir() else [])
    return _digest({
        "sources": [[head_tail_digest(s.path), s.start, s.end, s.has_audio, s.gain, s.limit]
                    for s in sources],
        "frame": [frame.width, frame.height, frame.fps], "preset": preset, "theme": repr(look),
        "panels": panels, "code": code_digest("pipeline.render"),
    })


def card_id(kind: str, text: str, card: CardInput) -> tuple[str, int, int]:
    """A drawn card: what it shows, when (its fades) and where; with its span."""
    t = card.timing
    ident = _digest([kind, text, t.start, t.end, t.fade, t.steps, card.x, card.y])
    return ident, t.start, t.end


@dataclass(frozen=True, slots=True)
class WindowSource:
    """A part of one recording that an output window shows."""

    path: Path
    start: int  # ms into the recording: the first frame the window shows
    end: int | None  # ms into the recording where its part stops (None: the window's end)


def take_starts(sources: Sequence[Source], frames: Sequence[int], fps: float) -> list[int]:
    """Output ms where each take begins: the frames before it (how a join lays them out)."""
    starts, at = [], 0
    for source, count in zip(sources, frames, strict=True):
        starts.append(round(at * 1000 / fps) if len(sources) > 1 else 0)
        at += count
    return starts


def window_sources(sources: Sequence[Source], starts: Sequence[int], lo: int, hi: int,
                   fps: float) -> list[WindowSource]:
    """The recordings' parts that output [lo, hi) ms shows, seeked half a frame early (the
    first frame shown is the one at the time, not the one after)."""
    half = 500 / fps
    found = []
    for k, (source, start) in enumerate(zip(sources, starts, strict=True)):
        end = starts[k + 1] if k + 1 < len(starts) else start + source.duration
        a, b = max(lo, start), min(hi, end)
        if b <= a:
            continue
        found.append(WindowSource(source.path, max(0, round(source.start + a - start - half)),
                                  source.end if b < hi else None))
    return found


def window_args(parts: Sequence[WindowSource], joined: bool, piece: Piece,
                cards: Sequence[CardInput], frame: Frame, preset: str, out: Path,
                kbps: int) -> list[str]:
    """Decode the window's parts, join and fit them as the full render does (``joined``:
    the lesson joins several recordings), composite ``cards`` (on the window's own
    timeline), encode ``piece.frames`` frames of video only."""
    args: list[str] = []
    chains: list[str] = []
    for i, part in enumerate(parts):
        args += ["-ss", sec(part.start)]
        if part.end is not None:
            args += ["-to", sec(part.end)]
        args += ["-i", media_arg(part.path)]
        fit = f"{fit_chain(frame)}," if joined else ""
        chains.append(f"[{i}:v]{fit}setpts=PTS-STARTPTS[w{i}]")
    if len(parts) > 1:
        chains.append("".join(f"[w{i}]" for i in range(len(parts)))
                      + f"concat=n={len(parts)}:v=1:a=0[base]")
        base = "base"
    else:
        base = "w0"
    for i, card in enumerate(cards):
        args += card_input_args(card)
        chains += card_chain(i, len(parts) + i, card, base, f"o{i}")
        base = f"o{i}"
    chains.append(f"[{base}]format=yuv420p[vout]")
    return [*args, "-filter_complex", ";".join(chains), "-map", "[vout]", "-an",
            "-frames:v", str(piece.frames), *smart_codec_args(preset, frame, kbps),
            "-f", "webm", media_arg(out)]


def mux_args(concat: Path, previous: Path, captions_vtt: Path | None, out: Path) -> list[str]:
    """The pieces (copied) with the previous output's audio (copied) and the captions."""
    args = ["-f", "concat", "-safe", "0", "-i", media_arg(concat), "-i", media_arg(previous)]
    maps = ["-map", "0:v:0", "-map", "1:a:0?"]
    if captions_vtt is not None:
        args += ["-f", "webvtt", "-i", media_arg(captions_vtt)]
        maps += ["-map", "2:s:0", "-c:s", "copy"]
    return [*args, *maps, "-c:v", "copy", "-c:a", "copy", "-f", "webm", media_arg(out)]


def source_frames(sources: Sequence[Source]) -> list[int]:
    """Frames of each recording's span (its packets in [start, end)): how many the join
    shows of it. One recording: not needed (its frames are the output's)."""
    if len(sources) < 2:
        return [0] * len(sources)
    counts = []
    for source in sources:
        st = source.path.stat()
        counts.append(_frames_in(source.path, st.st_size, st.st_mtime_ns, source.start,
                                 source.end))
    return counts


@functools.lru_cache(maxsize=64)
def _frames_in(path: Path, size: int, mtime_ns: int, start: int, end: int) -> int:
    """Packets of the recording in [start, end) ms; remembered by its size and mtime (a
    long-lived process, the review app, lists each recording once)."""
    packets = parse_framecrc(ffmpeg.packet_listing(path))
    return sum(start <= p.pts < end for p in packets)


def render(previous: Path, sources: Sequence[Source], frame: Frame,
           cards: Sequence[CardInput], spans: Sequence[tuple[int, int]], out: Path,
           work: Path, *, preset: str, captions_vtt: Path | None,
           progress: ffmpeg.Progress | None) -> list[Piece]:
    """``previous`` with the keyframe intervals ``spans`` (output ms) touch rendered again
    from ``sources`` with ``cards`` (output timeline), into ``out``; returns the pieces."""
    packets = parse_framecrc(ffmpeg.packet_listing(previous))
    if not packets or not packets[0].key:
        raise RenderError("previous output does not start with a keyframe", previous)
    end = packets[-1].pts + max(1, packets[-1].duration)
    pieces = plan_pieces(packets, 0, end, spans)
    starts = take_starts(sources, source_frames(sources), frame.fps)
    total = sum(p.duration for p in pieces if p.encode) or 1
    done = 0
    files = []
    for n, piece in enumerate(pieces):
        path = work / f"patch{n:04d}.webm"
        if piece.encode:
            local = [shift_card(c, piece.start) for c in cards
                     if c.timing.start < piece.end and c.timing.end > piece.start]
            parts = window_sources(sources, starts, piece.start, piece.end, frame.fps)
            if not parts:
                raise RenderError("no recording under a part of the previous output", previous)
            ffmpeg.run(window_args(parts, len(sources) > 1, piece, local, frame, preset, path,
                                   span_kbps(packets, piece)),
                       duration=piece.duration, what=parts[0].path,
                       progress=_part(progress, done, piece.duration, total))
            done += piece.duration
        else:
            ffmpeg.run(copy_piece_args(previous, piece, path), what=previous)
        files.append(path)
    concat = work / "patch.ffconcat"
    concat.write_text(concat_list(files, [p.duration for p in pieces]), encoding="utf-8")
    ffmpeg.run(mux_args(concat, previous, captions_vtt, out), what=out)
    if progress is not None:
        progress(1.0)
    return pieces



def _part(progress: ffmpeg.Progress | None, done: int, length: int,
          total: int) -> ffmpeg.Progress | None:
    if progress is None:
        return None
    return lambda fraction: progress(min(0.99, (done + fraction * length) / total))
