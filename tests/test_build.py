"""The course build end to end: caching, isolation, atomic output, interruption, Dask, index."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from pipeline import ffmpeg
from pipeline.cli import main
from pipeline.course import orchestrate
from pipeline.course.discover import LessonJob
from pipeline.course.index import write_index
from pipeline.course.orchestrate import BuildReport, build_course
from pipeline.course.watch import watch
from pipeline.course.work import run_lesson
from pipeline.errors import BuildError

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


# --- work functions the build runs in its worker processes (importable by name) ----------

def slow_work(job: LessonJob, out: Path, report: object) -> None:
    """Writes half a video, says so, then takes far longer than the test waits."""
    (out / f"{job.name}.webm").write_bytes(b"\x1aE\xdf\xa3" + b"half" * 1000)
    (out.parent.parent / "started" / job.name).touch()
    time.sleep(60)


def flaky_work(job: LessonJob, out: Path, report: object) -> None:
    """The real stub, except lessons named *boom* hit a bug."""
    if "boom" in job.name:
        (out / "partial.webm").write_bytes(b"half")
        raise ZeroDivisionError("division by zero in lesson code")
    run_lesson(job, out, report)  # type: ignore[arg-type]


# --- a small course on disk ----------------------------------------------------------------

def write_script(root: Path, name: str, narration: str = "Welcome to the lesson.",
                 cue: str = "Key idea") -> Path:
    path = root / "scripts" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: Lesson {name}\ntags: [test]\n---\n\n`{name} take.webm`\n\n# {name}\n\n"
        f"{narration}\n\n`[VISUAL TEXT: {cue}]`\n\nMore narration here.\n", encoding="utf-8")
    # its captions (a sidecar): the recordings here are a tone, which a lesson captioned
    # from its recording refuses as bad input (no speech: tests/test_speech_real.py)
    # (written once: a test that edits the narration or the sidecar keeps what it wrote; the
    # second caption, and so the cue before it, starts after the 1 s recordings end)
    if not path.with_suffix(".srt").exists():
        path.with_suffix(".srt").write_text(
            "1\n00:00:00,100 --> 00:00:00,900\nWelcome to the lesson.\n\n"
            "2\n00:00:01,600 --> 00:00:02,400\nMore narration here.\n", encoding="utf-8")
    return path


@functools.cache
def tiny_webm(seconds: float = 1.0) -> bytes:
    """A real 160x90 VP9 + Opus recording, made once per test session."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "t.webm"
        ffmpeg.run(["-f", "lavfi", "-i", f"testsrc=size=160x90:rate=10:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                    "-c:a", "libopus", "-shortest", ffmpeg.media_arg(out)])
        return out.read_bytes()


def make_course(root: Path, names: list[str]) -> Path:
    for name in names:
        write_script(root, name)
        rec = root / "media" / f"{name} take.webm"
        rec.parent.mkdir(parents=True, exist_ok=True)
        rec.write_bytes(tiny_webm())
    return root


def statuses(report: BuildReport) -> dict[str, str]:
    return {o.name: o.status for o in report.lessons}


def leftovers(output: Path) -> list[str]:
    """Temp folders, moved-aside folders and .part files anywhere under output/."""
    found = []
    for dirpath, dirs, files in os.walk(output):
        for name in dirs + files:
            if ".tmp-" in name or ".old-" in name or ".part" in name:
                found.append(os.path.join(dirpath, name))
    return found


ENCODED = (".webm", ".jpg", ".png")  # encoder output is never byte-compared: probed instead


def tree(output: Path) -> dict[str, object]:
    """Every lesson file: text with the course folder's own path replaced by ROOT, and
    encoded media as what probing finds (streams, size, duration to the frame)."""
    root = str(output.parent).encode()
    found: dict[str, object] = {}
    for p in sorted(output.rglob("*")):
        hidden = any(part.startswith(".") for part in p.relative_to(output).parts)
        if not p.is_file() or hidden or p.name == "index.html":
            continue
        if p.suffix in ENCODED:
            info = ffmpeg.probe(p)
            found[str(p.relative_to(output))] = (info.video, info.audio, info.subtitles,
                                                 info.width, info.height,
                                                 round((info.duration or 0) / 100))
        else:
            found[str(p.relative_to(output))] = p.read_bytes().replace(root, b"ROOT")
    return found


# --- incremental --------------------------------------------------------------------------

def test_second_build_is_all_cached_and_one_edit_rebuilds_one_lesson(tmp_path: Path) -> None:
    make_course(tmp_path, ["a", "b", "c"])
    first = build_course(tmp_path, run_lesson, jobs=2, index=write_index)
    assert statuses(first) == {"a": "built", "b": "built", "c": "built"}
    lesson = json.loads((tmp_path / "output" / "b" / "data" / "lesson.json").read_text())
    assert lesson["cues"][0]["text"] == "Key idea"
    assert json.loads((tmp_path / "output" / "b" / "data" / "summary.json").read_text())["cues"] == 1
    assert (tmp_path / "output" / "index.html").is_file()

    assert statuses(build_course(tmp_path, run_lesson, jobs=2)) == dict.fromkeys("abc", "cached")

    write_script(tmp_path, "b", cue="A better key idea")  # edit one cue
    os.utime(tmp_path / "media" / "a take.webm")  # touching a recording changes nothing
    again = build_course(tmp_path, run_lesson, jobs=2)
    assert statuses(again) == {"a": "cached", "b": "built", "c": "cached"}
    lesson = json.loads((tmp_path / "output" / "b" / "data" / "lesson.json").read_text())
    assert lesson["cues"][0]["text"] == "A better key idea"

    (tmp_path / "media" / "c take.webm").write_bytes(tiny_webm(2.0))  # a new take
    assert statuses(build_course(tmp_path, run_lesson, jobs=1))["c"] == "built"
    assert json.loads((tmp_path / "output" / "c" / "data" / "summary.json").read_text())["duration"] \
        == pytest.approx(2.0, abs=0.1)
    assert set(statuses(build_course(tmp_path, run_lesson, force=True)).values()) == {"built"}
    assert leftovers(tmp_path / "output") == []


def test_noop_build_of_50_lessons_parses_nothing_and_starts_no_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"{i:03d}-lesson" for i in range(50)]
    make_course(tmp_path, names)
    assert set(statuses(build_course(tmp_path, run_lesson, jobs=2)).values()) == {"built"}
    write_index(tmp_path / "output", build_course(tmp_path, run_lesson))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the no-op path must not parse or start workers")

    monkeypatch.setattr(orchestrate, "executor", forbidden)
    monkeypatch.setattr("pipeline.course.discover.read_refs", forbidden)
    monkeypatch.setattr("pipeline.course.orchestrate.read_refs", forbidden)
    start = time.perf_counter()
    report = build_course(tmp_path, run_lesson, index=write_index)
    elapsed = time.perf_counter() - start
    assert set(statuses(report).values()) == {"cached"}
    assert elapsed < 1.0, f"no-op build took {elapsed:.3f} s"


# --- failure isolation -----------------------------------------------------------------------

def test_broken_script_and_crashing_lesson_leave_the_others_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    make_course(tmp_path, ["a", "boom", "c", "yaml"])
    (tmp_path / "scripts" / "yaml.md").write_text("---\ntitle: [oops\n---\n\n`yaml take.webm`\n")
    code = main(["build", "--root", str(tmp_path), "--jobs", "2", "--json",
                 "--work", "test_build:flaky_work"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    by_name = {lesson["name"]: lesson for lesson in out["lessons"]}
    assert by_name["a"]["status"] == by_name["c"]["status"] == "built"
    assert by_name["boom"] == {"name": "boom", "status": "failed",
                               "reason": "ZeroDivisionError: division by zero in lesson code"}
    assert by_name["yaml"]["status"] == "failed"
    assert re.fullmatch(re.escape(str(tmp_path / "scripts" / "yaml.md")) +
                        r":\d+: frontmatter is not valid YAML: .*", by_name["yaml"]["reason"])
    output = tmp_path / "output"
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == \
        ["a", "c", "index.html"]
    assert leftovers(output) == []
    page = (output / "index.html").read_text()
    assert "ZeroDivisionError: division by zero in lesson code" in page

    # Failed lessons are tried again; the rest stay cached. Fixing the script builds it.
    (tmp_path / "scripts" / "yaml.md").write_text("---\ntitle: fixed\n---\n\n`yaml take.webm`\n")
    code = main(["build", "--root", str(tmp_path), "--json", "--work", "test_build:flaky_work"])
    again = {d["name"]: d["status"] for d in json.loads(capsys.readouterr().out)["lessons"]}
    assert code == 1
    assert again == {"a": "cached", "boom": "failed", "c": "cached", "yaml": "built"}


def test_a_failed_rebuild_keeps_the_previous_output(tmp_path: Path) -> None:
    make_course(tmp_path, ["a"])
    build_course(tmp_path, run_lesson, jobs=1)
    before = tree(tmp_path / "output")
    (tmp_path / "scripts" / "a.md").write_text("---\ntitle: [\n---\n")
    report = build_course(tmp_path, run_lesson, jobs=1)
    assert statuses(report) == {"a": "failed"}
    assert tree(tmp_path / "output") == before


def test_skipped_lessons_are_reported_not_fatal(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    make_course(tmp_path, ["a"])
    write_script(tmp_path, "no media")  # names "no media take.webm", which does not exist
    code = main(["build", "--root", str(tmp_path), "--json", "--jobs", "1"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    # the tiny recording holds only the start of the script: what it lacks is a warning
    assert all(w.startswith((str(tmp_path / "scripts" / "a.md:"),
                             str(tmp_path / "scripts" / "a.srt:")))  # its captions' sidecar
               for w in out["lessons"][0].pop("warnings"))
    assert out["lessons"] == [
        {"name": "a", "status": "built"},
        {"name": "no media", "status": "skipped",
         "reason": "recording 'no media take.webm': not found"},
    ]


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    make_course(tmp_path, ["a"])
    assert main(["build", "--root", str(tmp_path), "--only", "zzz"]) == 2
    assert "no lesson named 'zzz'" in capsys.readouterr().err
    assert main(["build", "--root", str(tmp_path / "nowhere")]) == 2
    monkeypatch.setitem(sys.modules, "distributed", None)  # dask not installed
    assert main(["build", "--root", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pip install 'course-pipeline[dask]'" in capsys.readouterr().err


def test_second_concurrent_build_is_refused(tmp_path: Path) -> None:
    make_course(tmp_path, ["a"])
    (tmp_path / "output").mkdir()
    with orchestrate._lock(tmp_path / "output"), pytest.raises(BuildError, match="another"):
        build_course(tmp_path, run_lesson)


# --- interrupted builds ------------------------------------------------------------------

@pytest.mark.parametrize(("sig", "group"), [
    (signal.SIGINT, True),    # Ctrl-C in a terminal: the whole process group
    (signal.SIGINT, False),   # the build process alone: it must stop its workers itself
    (signal.SIGKILL, True),   # nothing can clean up: the next build must
])
def test_killed_build_leaves_no_partial_output_and_next_build_completes(
    tmp_path: Path, sig: signal.Signals, group: bool,
) -> None:
    make_course(tmp_path, ["a", "b", "c"])
    build_course(tmp_path, run_lesson, jobs=2)
    output = tmp_path / "output"
    before = tree(output)
    for name in "ab":
        write_script(tmp_path, name, narration="Edited so it must be rebuilt.")
    (tmp_path / "started").mkdir()

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "build", "--root", str(tmp_path), "--jobs", "2",
         "--json", "--work", "test_build:slow_work"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(list((tmp_path / "started").iterdir())) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "workers never started"
            time.sleep(0.05)
        assert any(".tmp-" in p.name for p in output.iterdir())  # half-written, in temp folders
        if group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert leftovers(output) == []  # an interrupted build cleans up after itself
    # Whatever the signal: every visible file is a complete lesson from the last good build.
    visible = {k: v for k, v in tree(output).items() if not any(
        part.startswith(".") for part in Path(k).parts)}
    assert visible == {k: v for k, v in before.items()}
    report = build_course(tmp_path, run_lesson, jobs=2)
    assert statuses(report) == {"a": "built", "b": "built", "c": "cached"}
    assert leftovers(output) == []
    assert "Edited so it must be rebuilt." in (output / "a" / "data" / "lesson.json").read_text()


def test_stale_leftovers_are_swept_and_a_half_swapped_lesson_restored(tmp_path: Path) -> None:
    make_course(tmp_path, ["a", "b"])
    build_course(tmp_path, run_lesson, jobs=1)
    output = tmp_path / "output"
    (output / ".a.tmp-abc123_x").mkdir()
    (output / ".a.tmp-abc123_x" / "a.webm").write_bytes(b"half")
    (output / "b" / ".lesson.abcd.part.json").write_text("{")
    os.rename(output / "b", output / ".b.old-0123abcd")  # killed between the two renames
    report = build_course(tmp_path, run_lesson, jobs=1)
    assert statuses(report) == {"a": "cached", "b": "cached"}
    assert leftovers(output) == []


# --- Dask ---------------------------------------------------------------------------------

def test_dask_cluster_builds_the_same_outputs_as_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    distributed = pytest.importorskip("distributed")
    local, remote = make_course(tmp_path / "local", ["a", "b"]), make_course(tmp_path / "dask",
                                                                             ["a", "b"])
    (local / "scripts" / "bad.md").write_text("---\ntitle: [\n---\n")
    (remote / "scripts" / "bad.md").write_text("---\ntitle: [\n---\n")
    expected = build_course(local, run_lesson, jobs=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        code = main(["build", "--root", str(remote), "--json",
                     "--scheduler", cluster.scheduler_address])
    got = json.loads(capsys.readouterr().out)
    assert code == 1  # "bad" failed
    assert json.dumps(got).replace("/dask/", "/local/") == json.dumps(expected.to_json())
    assert statuses(expected) == {"a": "built", "b": "built", "bad": "failed"}
    assert tree(remote / "output") == tree(local / "output")
    assert set(statuses(build_course(remote, run_lesson, jobs=1)).values()) == {"cached",
                                                                                "failed"}


# --- index.html, watch ----------------------------------------------------------------------

def test_index_escapes_names_and_links_outputs(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script> & 'q' #1"
    output = tmp_path / "output"
    folder = output / hostile
    (folder / "data").mkdir(parents=True)
    (folder / "v.webm").write_bytes(b"x")
    job = LessonJob(hostile, tmp_path / "x.md", ())
    (folder / "data" / "summary.json").write_text(json.dumps({
        "name": job.name, "title": "Title <b>bold</b>", "status": "built", "duration": 75.4,
        "video": "v.webm", "qa_html": "missing.html", "align_html": None,
        "qa": {"errors": 2, "warnings": 5}, "min_confidence": 0.42,
        "thumbnail": "../../etc/passwd", "captions": 0, "cues": 0, "warnings": 0, "media": []}))
    report = BuildReport((orchestrate.LessonOutcome(hostile, "cached"),
                          orchestrate.LessonOutcome("gone", "failed", "bad <input>")))
    page = write_index(output, report).read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Title &lt;b&gt;bold&lt;/b&gt;" in page and "bad &lt;input&gt;" in page
    assert 'href="./%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20%26%20%27q%27%20%231/v.webm"' in page
    assert "missing.html" not in page and "passwd" not in page  # only files that exist, inside
    assert "1:15" in page and "0.42" in page and "2 errors" in page
    stamp = (output / "index.html").stat().st_mtime_ns
    time.sleep(0.01)
    write_index(output, report)  # same data: not rewritten
    assert (output / "index.html").stat().st_mtime_ns == stamp


def test_watch_rebuilds_after_a_change(tmp_path: Path) -> None:
    make_course(tmp_path, ["a", "b"])
    results: list[dict[str, str]] = []

    def rebuild() -> None:
        results.append(statuses(build_course(tmp_path, run_lesson, jobs=1)))
        if len(results) == 1:
            threading.Timer(0.1, write_script, (tmp_path, "b"),
                            {"narration": "Changed while watching."}).start()

    watch(tmp_path, rebuild, interval=0.2, settle=0.1, rounds=8)
    assert results[0] == {"a": "built", "b": "built"}
    assert results[1:] == [{"a": "cached", "b": "built"}]


# --- progress ----------------------------------------------------------------------------

def stepping_work(job: LessonJob, out: Path, report: object) -> None:
    run_lesson(job, out, report)  # type: ignore[arg-type]
    for i in range(201):  # like ffmpeg's progress lines: many, throttled to whole percents
        report("render", i / 200)  # type: ignore[operator]
    if job.name == "bad":
        raise RuntimeError("render [red]broke[/red]")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def start(self, total: int, to_run: int) -> None:
        self.events.append(("start", total, to_run))

    def lesson_started(self, name: str) -> None:
        self.events.append(("started", name))

    def step(self, name: str, step: str, fraction: float | None) -> None:
        self.events.append(("step", name, step, fraction))

    def lesson_done(self, outcome: orchestrate.LessonOutcome) -> None:
        self.events.append(("done", outcome.name, outcome.status))

    def close(self) -> None:
        self.events.append(("close",))


def test_workers_report_steps_and_fractions_to_one_display(tmp_path: Path) -> None:
    make_course(tmp_path, ["a", "b", "bad"])
    write_script(tmp_path, "gone")  # skipped: its recording does not exist
    (tmp_path / "media" / "gone take.webm").unlink(missing_ok=True)
    rec = Recorder()
    build_course(tmp_path, stepping_work, jobs=2, progress=rec)
    events = rec.events
    assert events[0] == ("start", 4, 3) and events[-1] == ("close",)
    assert events[1] == ("done", "gone", "skipped")
    for name in ("a", "b", "bad"):
        mine = [e for e in events if len(e) > 1 and e[1] == name]
        assert mine[0] == ("started", name)
        assert ("step", name, "parse", None) in mine
        fractions = [e[3] for e in mine if e[0] == "step" and e[2] == "render"]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0
        assert 50 <= len(fractions) <= 101  # throttled, not 201
        assert mine[-1] == ("done", name, "failed" if name == "bad" else "built")


def test_plain_log_lines_and_rich_display(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import io

    from pipeline.course.progress import LogProgress, RichProgress

    make_course(tmp_path, ["a", "bad"])
    with caplog.at_level("INFO", logger="pipeline.course.progress"):
        build_course(tmp_path, stepping_work, jobs=2, progress=LogProgress())
    lines = [r.getMessage() for r in caplog.records]
    assert "2 lessons, 2 to build" in lines
    assert "a: render 50%" in lines and "a: render 100%" in lines
    assert any(re.fullmatch(r"\[\d/2\] bad: failed \(RuntimeError: render \[red\]broke\[/red\]\)",
                            line) for line in lines)
    screen = io.StringIO()
    build_course(tmp_path, stepping_work, jobs=2, force=True, progress=RichProgress(screen))
    shown = screen.getvalue()
    assert "lessons" in shown and "2/2" in shown
    assert "failed bad: RuntimeError: render [red]broke[/red]" in shown  # literal, not markup


def test_hostile_lesson_and_recording_names_build_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    names = ["-rf", "it's \"quoted\"", "ünïcode 課 🎬", "<b>& %41 #x?y"]
    make_course(tmp_path, names)
    # The parser does not read "<...>" as a recording name: the lesson's own name is used.
    (tmp_path / "media" / "<b>& %41 #x?y.webm").write_bytes(tiny_webm())
    code = main(["build", "--root", str(tmp_path), "--json", "--jobs", "2"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {d["name"]: d["status"] for d in out["lessons"]} == dict.fromkeys(names, "built")
    output = tmp_path / "output"
    for name in names:
        assert json.loads((output / name / "data" / "summary.json").read_text())["name"] == name
    page = (output / "index.html").read_text()
    assert "&lt;b&gt;&amp; %41 #x?y" in page and "<b>&" not in page
    assert leftovers(output) == []


def test_cli_watch_rebuilds_on_change_and_ctrl_c_exits_cleanly(tmp_path: Path) -> None:
    make_course(tmp_path, ["a", "b"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "build", "--root", str(tmp_path), "--watch",
         "--json", "--jobs", "1", "--interval", "0.2"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert {d["status"] for d in first["lessons"]} == {"built"}
        write_script(tmp_path, "a", cue="Changed cue")
        second = json.loads(proc.stdout.readline())
        assert {d["name"]: d["status"] for d in second["lessons"]} == {"a": "built",
                                                                       "b": "cached"}
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_only_builds_one_lesson_but_the_index_shows_the_course(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    make_course(tmp_path, ["a", "b", "c"])
    build_course(tmp_path, run_lesson, jobs=1, only=["a"])
    write_script(tmp_path, "a", cue="changed")
    assert main(["build", "--root", str(tmp_path), "--only", "b", "--json", "--jobs", "1"]) == 0
    [lesson] = json.loads(capsys.readouterr().out)["lessons"]
    lesson.pop("warnings")  # the 1 s recording lacks the script's cue (1.6 s in)
    assert lesson == {"name": "b", "status": "built"}
    page = (tmp_path / "output" / "index.html").read_text()
    assert page.count('class="badge built"') == 2 and "not built yet" in page  # a, b; c
    assert not (tmp_path / "output" / "c").exists()


@pytest.mark.parametrize("damage", ["truncated", "not media", "empty"])
def test_corrupt_recording_fails_its_lesson_only(tmp_path: Path, damage: str) -> None:
    make_course(tmp_path, ["a", "b", "c"])
    rec = tmp_path / "media" / "b take.webm"
    rec.write_bytes({"truncated": tiny_webm()[:300], "not media": b"%PDF-1.4 hello",
                     "empty": b""}[damage])
    report = build_course(tmp_path, run_lesson, jobs=2, index=write_index)
    assert statuses(report) == {"a": "built", "b": "failed", "c": "built"}
    (reason,) = [o.reason for o in report.lessons if o.name == "b"]
    assert reason is not None and reason.startswith(f"{rec}: ")
    assert not (tmp_path / "output" / "b").exists() and leftovers(tmp_path / "output") == []
    assert json.loads((tmp_path / "output" / "a" / "data" / "summary.json").read_text())["duration"] \
        == pytest.approx(1.0, abs=0.1)


def test_narration_typo_rebuilds_the_lesson_but_reuses_the_audio_analysis(tmp_path: Path) -> None:
    make_course(tmp_path, ["a"])
    write_script(tmp_path, "a", narration="Welcome to teh lesson.")
    # captions given (a sidecar), so the recording is analysed for sync only; a lesson
    # captioned from its recording re-listens when its narration changes (test_speech)
    (tmp_path / "scripts" / "a.srt").write_text(
        "1\n00:00:00,100 --> 00:00:00,900\nWelcome to the lesson.\n")
    build_course(tmp_path, run_lesson, jobs=1)

    def syncs() -> dict[str, int]:
        return {str(p): p.stat().st_mtime_ns for p in (tmp_path / ".cache" / "steps").rglob("*")
                if p.is_file() and json.loads(p.read_text())["step"] == "sync"}

    before = syncs()
    assert len(before) == 1
    write_script(tmp_path, "a", narration="Welcome to the lesson.")
    assert statuses(build_course(tmp_path, run_lesson, jobs=1)) == {"a": "built"}
    assert syncs() == before  # not analysed again: the key is the recording and the timing
    lesson = json.loads((tmp_path / "output" / "a" / "data" / "lesson.json").read_text())
    assert lesson["narration"][0]["text"] == "Welcome to the lesson."
    summary = json.loads((tmp_path / "output" / "a" / "data" / "summary.json").read_text())
    assert summary["media"] == ["a take.webm"] and summary["sync"][0]["method"]


def test_editing_a_cue_override_sidecar_rebuilds_only_its_lesson(tmp_path: Path) -> None:
    # protects: sidecar files are inputs of the lesson key (an editor's pin must take effect)
    make_course(tmp_path, ["a", "b"])
    assert set(statuses(build_course(tmp_path, run_lesson, jobs=1)).values()) == {"built"}
    (tmp_path / "scripts" / "a.cues.yaml").write_text('- {cue: "Key idea", at: "0:00.300"}\n')
    assert statuses(build_course(tmp_path, run_lesson, jobs=1)) == {"a": "built", "b": "cached"}
    align = json.loads((tmp_path / "output" / "a" / "data" / "align.json").read_text())
    assert [(c["method"], c["start"]) for c in align["cues"]] == [("override", 0.3)]
    (tmp_path / "media" / "panels").mkdir()
    (tmp_path / "media" / "panels" / "key-idea.png").write_bytes(b"not really a png")
    assert set(statuses(build_course(tmp_path, run_lesson, jobs=1)).values()) == {"built"}
