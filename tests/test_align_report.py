"""The editor's alignment report: renders for the seeds, escapes cue text, flags doubt,
shows thumbnails and a player for a rendered video."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from align_fixtures import make_lesson
from conftest import SCRIPTS

from pipeline import ffmpeg
from pipeline.align.cues import align_cues
from pipeline.align.report import (
    Video,
    confidence_colour,
    render_report,
    thumbnail_args,
    write_report,
)
from pipeline.cli import main
from pipeline.script.parse import parse_script

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> | {{ 7*7 }}'
P = [
    "Welcome back to the course on building a sustainable venture from the ground up.",
    "Today we look closely at how pricing experiments reveal what buyers truly value.",
    "Start with a single offer and watch which features people ask about first.",
    "Then raise the price for a small cohort and measure how many still convert.",
]
LOST = ("A paragraph about warehouse logistics and shipping containers that was cut from"
        " the take when the presenter ran out of time.")


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" id="cue-(\w+(?:-\d+)?)"', html)


@pytest.mark.parametrize("script", ["001-improvement-levers.md", "002-intro-customer-segments.md",
                                    "000-improvement-process.md"])
def test_report_renders_for_the_seeds(tmp_path: Path, script: str) -> None:
    out = tmp_path / "align.html"
    assert main(["align", str(SCRIPTS / script), "--html", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    lesson = parse_script(SCRIPTS / script)
    result = align_cues(lesson)
    assert len(_cards(html)) == len(lesson.cues)
    assert html.count('class="cap"') == len(lesson.captions)
    assert html.count('class="marker ') == len(lesson.cues)
    for c in result.cues:
        assert f'id="cue-{c.id}"' in html and f'href="#cue-{c.id}"' in html
    assert "<video" not in html
    # least confident first
    order = [next(c.confidence for c in result.cues if c.id == i) for i in _cards(html)]
    assert order == sorted(order)


def test_report_shows_context_caption_anchor_and_override() -> None:
    lesson = parse_script(SCRIPTS / "002-intro-customer-segments.md")
    result = align_cues(lesson)
    html = render_report(lesson, result)
    vt = next(c for c in result.cues if c.cue.line == 74)
    card = html[html.index(f'id="cue-{vt.id}"'):]
    card = card[:card.index("</article>")]
    assert "how to solve it." in card  # script words before
    assert "These parents might not be" in card  # script words after
    assert "<mark>it,</mark><span class=\"at\"" in card  # anchor after "it," in caption 55
    assert "- {cue: &#34;5M sleep-deprived adults | 50K parents with newborns&#34;," in card
    assert "2:57.587" in card


def test_hostile_cue_text_is_escaped_and_doubt_is_flagged(tmp_path: Path) -> None:
    body = [P[0], f"`[VISUAL TEXT: {HOSTILE}]`", P[1], LOST, "`[MAIN PANEL: lost one]`", LOST,
            P[2], P[3]]
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[2], P[3]])
    result = align_cues(lesson)
    html = render_report(lesson, result)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x" in html
    assert "{{ 7*7 }}" in html.replace("&#34;", '"') or "{{ 7*7 }}" in html
    lost = next(c for c in result.cues if c.cue.text == "lost one")
    assert lost.confidence < 0.5
    first_card = html[html.index('<article'):html.index('</article>')]
    assert "lost one" in first_card and ">CHECK<" in first_card
    assert "not found in the captions" in first_card
    assert html.count(">CHECK<") == 1


def test_confidence_colours_run_from_red_to_green() -> None:
    assert confidence_colour(0.1).startswith("hsl(0,")
    assert confidence_colour(0.95).startswith("hsl(120,")


def test_thumbnail_arguments_are_data() -> None:
    args = thumbnail_args(Path("/v/out.webm"), 61_500, Path("/r/t.jpg"))
    assert args[:2] == ["-ss", "61.500"] and args[3] == "file:/v/out.webm"
    assert "-frames:v" in args and args[-1] == "/r/t.jpg"


def test_video_offset_comes_from_the_render_manifest(tmp_path: Path) -> None:
    video = tmp_path / "out.webm"
    video.write_bytes(b"")
    (tmp_path / "out.json").write_text(json.dumps({"caption_offset": 2.5, "trim_start": 1.0}))
    assert Video.from_render(video).offset == 1500
    assert Video.from_render(tmp_path / "other.webm").offset == 0


def test_report_with_rendered_video_has_thumbnails_and_player(tmp_path: Path) -> None:
    video = tmp_path / "render" / "lesson.webm"
    video.parent.mkdir()
    ffmpeg.run(["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=6",
                "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "100k", str(video)])
    lesson = make_lesson(tmp_path, [P[0], "`[VISUAL TEXT: a | b]`", P[1],
                                    "`[MAIN PANEL: <b>bold</b>]`", P[2]], [P[0], P[1], P[2]])
    out = tmp_path / "report" / "align.html"
    write_report(lesson, align_cues(lesson), out, video=video)
    html = out.read_text(encoding="utf-8")
    thumbs = sorted((out.parent / "align_thumbs").glob("*.jpg"))
    assert len(thumbs) == 2 and all(t.stat().st_size > 100 for t in thumbs)
    assert thumbs[0].read_bytes()[:2] == b"\xff\xd8"  # JPEG
    assert '<video id="player" src="../render/lesson.webm"' in html
    assert html.count('src="align_thumbs/') == 2
    assert html.count("data-seek=") >= 4  # markers, buttons and thumbnails seek the player
    assert not list(out.parent.glob(".*part*"))


def test_thumbnails_of_unchanged_frames_are_reused_not_decoded_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def render(path: Path, colour: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        ffmpeg.run(["-f", "lavfi", "-i", f"color=c={colour}:size=160x90:rate=10:duration=6",
                    "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "100k", str(path)])
        return path

    lesson = make_lesson(tmp_path, [P[0], "`[VISUAL TEXT: a | b]`", P[1],
                                    "`[MAIN PANEL: panel]`", P[2]], [P[0], P[1], P[2]])
    aligned = align_cues(lesson)
    first = tmp_path / "first"
    write_report(lesson, aligned, first / "align.html", video=render(first / "v.webm", "red"))
    decoded: list[str] = []
    run = ffmpeg.run
    monkeypatch.setattr(ffmpeg, "run", lambda args, **k: (decoded.append(args[-1]), run(args, **k)))
    same = tmp_path / "same"
    same.mkdir()
    (same / "v.webm").write_bytes((first / "v.webm").read_bytes())
    write_report(lesson, aligned, same / "align.html", video=same / "v.webm", reuse=first)
    assert decoded == []  # the same packets: both thumbnails copied
    assert sorted(p.read_bytes() for p in (same / "align_thumbs").glob("*.jpg")) == sorted(
        p.read_bytes() for p in (first / "align_thumbs").glob("*.jpg"))
    other = tmp_path / "other"
    write_report(lesson, aligned, other / "align.html", video=render(other / "v.webm", "blue"),
                 reuse=first)
    assert len([d for d in decoded if d.endswith(".jpg") or "thumbs" in d]) == 2  # decoded
