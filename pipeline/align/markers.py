"""Cue markers for editing software: OpenTimelineIO and CSV with timecodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.align.cues import AlignResult
from pipeline.atomic import atomic_path, write_text
from pipeline.csvtext import csv_text
from pipeline.timecode import seconds

LOW_CONFIDENCE = 0.5


def timecode(ms: int, fps: int) -> str:
    """``HH:MM:SS:FF`` (non-drop-frame) at ``fps`` frames a second."""
    frames_total = ms * fps // 1000
    ff = frames_total % fps
    total_s = frames_total // fps
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}:{ff:02d}"


def to_csv(result: AlignResult, fps: int = 30) -> str:
    """The cues as CSV (text that would start a spreadsheet formula quoted)."""
    header = ["id", "kind", "text", "line", "start_tc", "end_tc", "start", "end",
              "caption_index", "confidence", "method"]
    return csv_text([header, *(
        [c.id, c.cue.kind, c.cue.text, c.cue.line, timecode(c.start, fps),
         timecode(c.end, fps), f"{seconds(c.start):.3f}", f"{seconds(c.end):.3f}",
         c.caption_index, f"{c.confidence:.3f}", c.method] for c in result.cues)])


def write_csv(result: AlignResult, path: str | Path, fps: int = 30) -> None:
    write_text(path, to_csv(result, fps))


@dataclass(frozen=True, slots=True)
class EditTrack:
    """The cut lesson as an edit of its raw recordings (pipeline.cuts): each kept piece
    (recording, start ms, end ms), and each cut (output ms of its splice, a name, applied,
    metadata), for the OTIO timeline an editor refines."""

    pieces: Sequence[tuple[Path, int, int]]
    cuts: Sequence[tuple[int, str, bool, dict[str, Any]]]


def to_otio(result: AlignResult, name: str, fps: int = 30,
            media: str | Path | None = None, edit: EditTrack | None = None) -> Any:
    """A timeline with one video track; every cue a marker on it (colour by confidence).
    With ``edit``, a second track holds the same lesson cut from the raw recordings (one
    clip per kept piece: open it in an editor and move a cut), each cut a marker on it."""
    import opentimelineio as otio

    last = max([c.end for c in result.captions] + [c.end for c in result.cues] + [1000])
    duration = otio.opentime.RationalTime(last * fps / 1000, fps).round()
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="lesson", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), duration)
    reference = (otio.schema.ExternalReference(target_url=Path(media).absolute().as_uri(),
                                               available_range=available)
                 if media else otio.schema.MissingReference())
    clip = otio.schema.Clip(name=name, media_reference=reference, source_range=available)
    track.append(clip)
    for c in result.cues:
        start = otio.opentime.RationalTime(c.start * fps / 1000, fps).round()
        length = otio.opentime.RationalTime(max(1, (c.end - c.start) * fps // 1000), fps)
        color = (otio.schema.MarkerColor.RED if c.confidence < LOW_CONFIDENCE
                 else otio.schema.MarkerColor.GREEN if c.method == "text"
                 else otio.schema.MarkerColor.YELLOW)
        label = "VISUAL TEXT" if c.cue.kind == "visual_text" else "MAIN PANEL"
        marker = otio.schema.Marker(
            name=f"{label}: {c.cue.text}", marked_range=otio.opentime.TimeRange(start, length),
            color=color,
            metadata={"pipeline": {"id": c.id, "line": c.cue.line, "confidence": c.confidence,
                                   "method": c.method, "caption_index": c.caption_index}},
        )
        clip.markers.append(marker)
    if edit is not None:
        timeline.tracks.append(_edit_track(edit, fps))
    return timeline


def _edit_track(edit: EditTrack, fps: int) -> Any:
    import opentimelineio as otio

    def frames(ms: int) -> Any:
        return otio.opentime.RationalTime(ms * fps / 1000, fps).round()

    track = otio.schema.Track(name="cut from the recordings", kind=otio.schema.TrackKind.Video)
    out = 0
    for n, (path, start, end) in enumerate(edit.pieces):
        reference = otio.schema.ExternalReference(target_url=Path(path).absolute().as_uri())
        clip = otio.schema.Clip(name=Path(path).name, media_reference=reference,
                                source_range=otio.opentime.TimeRange(frames(start),
                                                                     frames(end - start)))
        last = n == len(edit.pieces) - 1
        for at, label, applied, meta in edit.cuts:  # on the clip its splice opens (the tail's:
            if out <= at < out + end - start or last and at >= out:  # the last clip's end)
                clip.markers.append(otio.schema.Marker(
                    name=label, marked_range=otio.opentime.TimeRange(
                        frames(start + min(at - out, end - start - 1)),
                        otio.opentime.RationalTime(1, fps)),
                    color=(otio.schema.MarkerColor.RED if applied
                           else otio.schema.MarkerColor.YELLOW),
                    metadata={"pipeline": meta}))
        track.append(clip)
        out += end - start
    return track


def write_otio(result: AlignResult, path: str | Path, name: str, fps: int = 30,
               media: str | Path | None = None, edit: EditTrack | None = None) -> None:
    import opentimelineio as otio

    timeline = to_otio(result, name, fps, media, edit)
    with atomic_path(path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
