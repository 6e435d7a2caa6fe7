"""What every page that plays a lesson needs: the video and its caption and chapter tracks.

Browsers do not expose the WebVTT stream inside a WebM, so the lesson's ``.vtt`` (captions)
and ``.chapters.vtt`` (its MAIN PANEL cues) beside the video go in as ``<track>`` elements;
``templates/_player.html.j2`` draws them. Pages written to disk carry the tracks inline as
``data:`` URLs: Chromium refuses to load a track file from a page opened as ``file://``
(measured: 0 cues from ``src="x.vtt"``, all 78 from the same file as a data: URL), and
output/ is meant to be opened straight from disk.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

CHAPTERS_SUFFIX = ".chapters.vtt"


def chapters_path(video: Path) -> Path:
    return video.with_name(video.stem + CHAPTERS_SUFFIX)


def _href(path: Path, base: Path | None, prefix: str | None) -> str:
    if prefix is not None:
        return prefix + quote(path.name)
    rel = os.path.relpath(path.absolute(), (base or Path.cwd()).absolute())
    return "/".join(quote(part) for part in Path(rel).parts)


def _track(path: Path, base: Path | None, prefix: str | None) -> str | None:
    if not path.is_file():
        return None
    if prefix is not None:
        return _href(path, base, prefix)
    return "data:text/vtt;charset=utf-8;base64," + base64.b64encode(path.read_bytes()).decode()


def player(video: Path, base: Path | None = None, *, prefix: str | None = None,
           element_id: str = "player") -> dict[str, Any]:
    """The ``player`` context of ``_player.html.j2``. A page on disk: the video relative to
    ``base`` (the page's folder), the tracks inline. The review app: ``prefix`` + file name."""
    return {
        "id": element_id,
        "src": _href(video, base, prefix),
        "captions": _track(video.with_suffix(".vtt"), base, prefix),
        "chapters": _track(chapters_path(video), base, prefix),
    }
