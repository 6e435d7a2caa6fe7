"""What every page that plays a lesson needs: the video and its caption and chapter tracks.

Browsers do not expose the WebVTT stream inside a WebM, so the lesson's ``.vtt`` (captions)
and ``.chapters.vtt`` (its MAIN PANEL cues) beside the video go in as ``<track>`` elements;
``templates/_player.html.j2`` draws them.
"""

from __future__ import annotations

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


def player(video: Path, base: Path | None = None, *, prefix: str | None = None,
           element_id: str = "player") -> dict[str, Any]:
    """The ``player`` context of ``_player.html.j2``: sources relative to ``base`` (the
    page's folder), or ``prefix`` + file name (the review app's URLs)."""
    captions = video.with_suffix(".vtt")
    chapters = chapters_path(video)
    return {
        "id": element_id,
        "src": _href(video, base, prefix),
        "captions": _href(captions, base, prefix) if captions.is_file() else None,
        "chapters": _href(chapters, base, prefix) if chapters.is_file() else None,
    }
