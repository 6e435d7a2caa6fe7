"""``output/<lesson>/watch.html``: the lesson's player with captions and chapters (the page
the course index links to instead of the bare video)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.atomic import write_text
from pipeline.models import Caption
from pipeline.reports.player import player
from pipeline.reports.render import render_template
from pipeline.timecode import format_clock, seconds

WATCH_PAGE = "watch.html"


def watch_page(title: str, video: Path, chapters: Sequence[Caption]) -> str:
    return render_template(
        "watch.html.j2", title=title, player=player(video, video.parent),
        chapters=[{"title": c.text, "clock": format_clock(c.start)[:-4], "at": seconds(c.start)}
                  for c in chapters])


def write_watch_page(out_dir: Path, title: str, video: Path, chapters: Sequence[Caption]) -> Path:
    target = out_dir / WATCH_PAGE
    write_text(target, watch_page(title, video, chapters))
    return target
