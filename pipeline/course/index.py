"""``output/index.html``: the course at a glance, from each lesson's ``summary.json``.

Rendered with jinja2 (autoescape on) from pipeline/reports/templates/index.html.j2. The page
records a key over its data; a no-op build finds the same key and does not re-render it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipeline import __version__
from pipeline.atomic import write_text
from pipeline.course import DATA
from pipeline.course.cache import sha256_hex
from pipeline.course.orchestrate import BuildReport

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"
_KEY = re.compile(rb'<meta name="build-key" content="([0-9a-f]{64})">')


def _href(*parts: str) -> str:
    return "./" + "/".join(quote(part, safe="") for part in parts)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = round(seconds)
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}" if total >= 3600 \
        else f"{total // 60}:{total % 60:02d}"


def lesson_row(output: Path, name: str, status: str, reason: str | None) -> dict[str, Any]:
    """What the index shows for one lesson (the summary's paths checked and turned into links)."""
    folder = output / name
    summary: dict[str, Any] = {}
    try:
        loaded = json.loads((folder / DATA / "summary.json").read_text(encoding="utf-8"))
        summary = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        pass

    def link(key: str) -> str | None:
        rel = summary.get(key)
        if not isinstance(rel, str) or not rel or ".." in Path(rel).parts or Path(rel).is_absolute():
            return None
        return _href(name, *Path(rel).parts) if (folder / rel).is_file() else None

    qa = summary.get("qa") if isinstance(summary.get("qa"), dict) else None
    found = summary.get("audio")
    audio: dict[str, Any] = found if isinstance(found, dict) else {}
    duration = _number(summary.get("duration"))
    confidence = _number(summary.get("min_confidence"))
    return {
        "name": name,
        "title": str(summary.get("title") or name),
        "status": "built" if status == "cached" else status,
        "reason": reason,
        "has_output": bool(summary),
        "duration": _clock(duration),
        "thumbnail": link("thumbnail"),
        "video": link("video"),
        "qa_html": link("qa_html"),
        "align_html": link("align_html"),
        "watch": link("watch_html") or link("video"),  # the player page with caption tracks
        "review": None,  # set by the review app: its lesson page
        "qa_errors": _number(qa.get("errors")) if qa else None,
        "qa_warnings": _number(qa.get("warnings")) if qa else None,
        "min_confidence": confidence,
        "confidence_level": None if confidence is None
        else "low" if confidence < 0.5 else "fair" if confidence < 0.8 else "good",
        "captions": summary.get("captions"),
        "cues": summary.get("cues"),
        "audio_html": link("audio_html"),  # loudness as recorded -> as rendered (LUFS)
        "loudness_before": _number(audio.get("before")),
        "loudness_after": _number(audio.get("after")),
        "audio_errors": _number(audio.get("errors")),
        "audio_warnings": _number(audio.get("warnings")),
        "dropped": _dropped(summary.get("dropped")),
        "captions_from": str(summary["captions_from"]) if summary.get("captions_from") else None,
        "unspoken": len(summary.get("unspoken") or ()),
        "unscripted": sum(u.get("kind") != "filler" for u in summary.get("unscripted") or ()),
        "cuts": _cuts(summary.get("cuts")),
    }


def _cuts(counts: Any) -> str | None:
    """summary.json's ``cuts`` as a line: '2 retakes cut, 14 s of silence shortened'."""
    from pipeline.cuts import describe

    return describe(counts) or None if isinstance(counts, dict) else None


def _dropped(entries: Any) -> list[dict[str, Any]]:
    """summary.json's ``dropped``: what the plan had and the output lacks, and why."""
    if not isinstance(entries, list):
        return []
    return [{"kind": str(d.get("kind", "")).replace("_", " "), "text": str(d.get("text", "")),
             "file": str(d.get("file") or ""),
             "line": d.get("line") if isinstance(d.get("line"), int) else None,
             "reason": str(d.get("reason", ""))}
            for d in entries if isinstance(d, dict)]


def write_index(output: Path, report: BuildReport) -> Path:
    target = output / "index.html"
    rows = [lesson_row(output, o.name, o.status, o.reason) for o in report.lessons]
    key = sha256_hex(__version__, _template_text(), json.dumps(rows, sort_keys=True))
    try:
        with target.open("rb") as f:
            found = _KEY.search(f.read(4096))
        if found and found[1].decode() == key:
            return target
    except OSError:
        pass
    counts = {s: sum(r["status"] == s for r in rows) for s in ("built", "skipped", "failed")}
    html = _environment().get_template("index.html.j2").render(
        key=key, lessons=rows, counts=counts, version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M", time.localtime()),
    )
    write_text(target, html)
    log.info("wrote %s", target)
    return target


def _template_text() -> str:
    return (TEMPLATES / "index.html.j2").read_text(encoding="utf-8")


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
