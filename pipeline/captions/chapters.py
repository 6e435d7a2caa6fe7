"""The chapters track of a lesson: one chapter per MAIN PANEL cue, until the next one.

Players show it as chapter markers (``<track kind="chapters">``); the text is the panel's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pipeline.models import Caption


class _Placed(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...


def chapters(overlays: Sequence[_Placed], duration: int) -> list[Caption]:
    """MAIN PANEL overlays (output timeline) as chapters that tile the video from the first
    panel to ``duration``; panels at the same start keep the last one's title."""
    panels = sorted((o for o in overlays if o.kind == "main_panel"), key=lambda o: o.start)
    by_start: dict[int, str] = {}
    for panel in panels:
        if 0 <= panel.start < duration:
            by_start[panel.start] = panel.text
    starts = sorted(by_start)
    return [Caption(k + 1, start, starts[k + 1] if k + 1 < len(starts) else duration,
                    by_start[start])
            for k, start in enumerate(starts)]
