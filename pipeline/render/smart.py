"""Smart render: re-encode only the keyframe intervals that change, stream-copy the rest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline import ffmpeg
from pipeline.render.plan import CardInput, Frame, Source


def possible(sources: Sequence[Source], infos: Sequence[ffmpeg.MediaInfo]) -> bool:
    return False


def render(source: Source, frame: Frame, cards: Sequence[CardInput], out: Path, work: Path, *,
           preset: str, captions_vtt: Path | None, progress: ffmpeg.Progress | None,
           info: ffmpeg.MediaInfo) -> None:
    raise NotImplementedError
