"""The review app: sidecar writes, time conversion, security, and a real browser session
(headless Debian chromium through Playwright) that drags a cue, rebuilds, and checks the
re-rendered video and the caption tracks of every player."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import tiny_script

from pipeline import ffmpeg
from pipeline.align.cues import align_cues
from pipeline.align.overrides import read_sidecar, sidecar_path
from pipeline.captions.chapters import chapters
from pipeline.course.index import write_index
from pipeline.course.orchestrate import build_course
from pipeline.course.work import run_lesson
from pipeline.demo import make_demos
from pipeline.errors import ScriptError
from pipeline.render.plan import Overlay
from pipeline.review.app import Server
from pipeline.review.sidecar import ABSENT, Pin, write_pin
from pipeline.review.state import Clock
from pipeline.script.parse import parse_script
from pipeline.timeline import join, offsets_by_take

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SCRIPT = tiny_script(title="Tiny <i>lesson</i> & more", cuts="off")  # timing by the trim alone


# --- pure parts --------------------------------------------------------------------------

def test_clock_converts_video_time_back_to_caption_time_per_take() -> None:
    takes = join([(Path("a.webm"), 12_000, 2000, 1500), (Path("b.webm"), 13_000, -7000, 1500)])
    clock = Clock(offsets_by_take(takes), 22_000)
    for caption_ms in (0, 3000, 9000, 9500, 12_000):
        assert clock.caption(clock.video(caption_ms)) == caption_ms
    assert clock.video(0) == 500  # take a: caption 0 -> recording 2.0 s -> video 0.5 s
    assert clock.caption(10_500) == 10_500 - clock.pieces[1][1]  # inside take b


def test_chapters_tile_the_video_from_each_main_panel() -> None:
    found = chapters([Overlay("main_panel", "Two", (), 5000, 6000),
                      Overlay("visual_text", "not a chapter", (), 1000, 2000),
                      Overlay("main_panel", "One", (), 1000, 3000)], duration=9000)
    assert [(c.start, c.end, c.text) for c in found] == [(1000, 5000, "One"), (5000, 9000, "Two")]


def _lesson(tmp_path: Path) -> tuple[Path, Any]:
    script = tmp_path / "tiny.md"
    script.write_text(SCRIPT, encoding="utf-8")
    return script, parse_script(script)


def test_pins_are_written_where_align_reads_them(tmp_path: Path) -> None:
    script, lesson = _lesson(tmp_path)
    visual, panel = lesson.cues
    aligned = align_cues(lesson)
    ident = aligned.cues[0].id
    first = write_pin(script, visual, ident, Pin(3400), by_id=False, seen=ABSENT)
    assert not first.conflict
    again = write_pin(script, visual, ident, Pin(3500, 6000), by_id=False, seen=first.version)
    write_pin(script, panel, aligned.cues[1].id, Pin(1000), by_id=True, seen=again.version)
    text = sidecar_path(script).read_text(encoding="utf-8")
    assert text.count("first idea") == 1  # the cue's pin replaced, not repeated
    assert f'id: "{aligned.cues[1].id}"' in text  # ids quoted: "0012e4" stays a string
    moved = align_cues(parse_script(script))
    assert [(c.start, c.end, c.method) for c in moved.cues] == [
        (3500, 6000, "override"), (1000, moved.cues[1].end, "override")]
    assert script.read_text(encoding="utf-8") == SCRIPT  # the script is never rewritten
    write_pin(script, visual, ident, Pin(None), by_id=False, seen=None)
    assert [p.id for p in read_sidecar(sidecar_path(script))] == [aligned.cues[1].id]


def test_a_change_underneath_is_reported_and_the_last_write_wins(tmp_path: Path) -> None:
    script, lesson = _lesson(tmp_path)
    visual, panel = lesson.cues
    seen = write_pin(script, visual, "x", Pin(3000), by_id=False, seen=ABSENT).version
    other_tab = write_pin(script, panel, "y", Pin(5000), by_id=False, seen=seen)
    assert not other_tab.conflict
    mine = write_pin(script, visual, "x", Pin(3300), by_id=False, seen=seen)  # stale version
    assert mine.conflict
    pins = {(p.text, p.start) for p in read_sidecar(sidecar_path(script))}
    assert pins == {("first idea | second idea", 3300), ("the closing panel", 5000)}


def test_a_sidecar_align_cannot_read_is_refused_not_rewritten(tmp_path: Path) -> None:
    script, lesson = _lesson(tmp_path)
    side = sidecar_path(script)
    side.write_text("cue_times:\n  - {cue: x, at: soon}\n", encoding="utf-8")
    with pytest.raises(ScriptError) as err:
        write_pin(script, lesson.cues[0], "x", Pin(3000), by_id=False, seen=None)
    assert "tiny.cues.yaml:2" in str(err.value)
    assert side.read_text(encoding="utf-8") == "cue_times:\n  - {cue: x, at: soon}\n"


# --- a built tiny course and the app over it ---------------------------------------------

def _built_course(root: Path, script: str) -> Path:
    """A course of one tiny lesson with its demo recording, built."""
    (root / "scripts").mkdir()
    (root / "scripts" / "tiny.md").write_text(script, encoding="utf-8")
    make_demos(root / "scripts", root / "media")
    report = build_course(root, run_lesson, jobs=1, index=write_index)
    assert [o.status for o in report.lessons] == ["built"], report
    return root


def _running(root: Path) -> Iterator[Server]:
    """The app over ``root``, answering, until the test module is done."""
    app = Server(root, run_lesson, port=0)
    thread = _serve(app)
    for _ in range(100):
        try:
            _request(app, "GET", "/")
            break
        except OSError:
            time.sleep(0.05)
    yield app
    app.stop()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built_course(tmp_path_factory.mktemp("review course"), SCRIPT)


@pytest.fixture(scope="module")
def server(course: Path) -> Iterator[Server]:
    yield from _running(course)


def _request(app: Server, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    sent = {"Host": f"127.0.0.1:{app.port}"} | (headers or {})
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def test_listens_on_loopback_only(server: Server) -> None:
    assert server.socket.getsockname()[0] == "127.0.0.1"


def test_a_foreign_host_header_is_refused(server: Server) -> None:
    status, _ = _request(server, "GET", "/")
    assert status == 200
    for host in (f"evil.example:{server.port}", "127.0.0.1", f"127.0.0.1.evil.example:{server.port}"):
        status, body = _request(server, "GET", "/tiny/tiny.vtt", headers={"Host": host})
        assert status == 421, host
        assert b"WEBVTT" not in body


def _serve(app: Server) -> threading.Thread:
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    return thread


def _get(address: str, port: int, host: str) -> int:
    """GET / from ``address`` with this Host header; the status, or 0 when refused."""
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection(address, port, timeout=10)
            conn.request("GET", "/", headers={"Host": host})
            status = conn.getresponse().status
            conn.close()
            return status
        except ConnectionRefusedError:
            time.sleep(0.05)
    return 0


def test_on_every_interface_the_machines_names_are_answered_foreign_ones_refused(
        course: Path) -> None:
    import socket

    import psutil

    app = Server(course, run_lesson, host="0.0.0.0", port=0)
    thread = _serve(app)
    try:
        port = app.port
        assert app.url == f"http://{socket.gethostname()}:{port}/"
        addresses = {a.address for entries in psutil.net_if_addrs().values() for a in entries
                     if a.family == socket.AF_INET}
        assert "127.0.0.1" in addresses
        for address in sorted(addresses):  # reached on that address, named by it
            assert _get(address, port, f"{address}:{port}") == 200, address
        for name in {"localhost", socket.gethostname(), socket.getfqdn()}:
            assert _get("127.0.0.1", port, f"{name.upper()}:{port}") == 200, name
        for host in (f"evil.example:{port}", f"{socket.gethostname()}.evil.example:{port}",
                     f"{socket.gethostname()}:{port + 1}", "0.0.0.0:" + str(port),
                     socket.gethostname(), "8.8.8.8:" + str(port)):
            assert _get("127.0.0.1", port, host) == 421, host
    finally:
        app.stop()
        thread.join(timeout=10)


def test_lessons_are_discovered_once_and_again_when_scripts_or_media_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.review import app as review_app

    calls: list[int] = []

    def counted(root: Path) -> Any:
        calls.append(1)
        return review_app.discover.__wrapped__(root)  # type: ignore[attr-defined]

    counted.__wrapped__ = review_app.discover  # type: ignore[attr-defined]
    monkeypatch.setattr(review_app, "discover", counted)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "media").mkdir()
    (tmp_path / "scripts" / "lesson-alpha.md").write_text(SCRIPT, encoding="utf-8")
    app = Server(tmp_path, run_lesson, port=0)
    thread = _serve(app)
    try:
        def index() -> bytes:
            status, body = _request(app, "GET", "/")
            assert status == 200
            return body

        assert b"lesson-alpha" in index() and b"lesson-beta" not in index()
        assert _request(app, "GET", "/_/api/lesson-alpha/state")[0] != 404
        assert len(calls) == 1  # three requests, one discovery
        (tmp_path / "scripts" / "lesson-alpha.cues.yaml").write_text("cue_times: []\n", encoding="utf-8")
        index()
        assert len(calls) == 1  # a sidecar beside the scripts is not a lesson
        (tmp_path / "scripts" / "lesson-beta.md").write_text(SCRIPT, encoding="utf-8")
        assert b"lesson-beta" in index()
        assert len(calls) == 2
        index()
        assert len(calls) == 2
        (tmp_path / "media" / "lesson-beta.webm").write_bytes(b"not yet a recording")
        index()
        assert len(calls) == 3  # a new recording may be the one a script names
        (tmp_path / "scripts" / "lesson-beta.md").unlink()
        assert b"lesson-beta" not in index() and len(calls) == 4
        assert _request(app, "GET", "/_/api/lesson-beta/state")[0] == 404
    finally:
        app.stop()
        thread.join(timeout=10)


def test_writes_without_the_token_or_from_another_site_are_refused(server: Server,
                                                                   course: Path) -> None:
    side = sidecar_path(course / "scripts" / "tiny.md")
    state = json.loads(_request(server, "GET", "/_/api/tiny/state")[1])
    pin = {"id": state["cues"][0]["id"], "at": 4.0}
    for headers in ({}, {"X-Review-Token": "guess"},
                    {"X-Review-Token": server.token, "Origin": "http://evil.example"}):
        status, body = _request(server, "POST", "/_/api/tiny/pin", pin, headers)
        assert status == 403, headers
        assert (b"cross-site" if "Origin" in headers else b"token") in body
        status, _ = _request(server, "POST", "/_/api/tiny/rebuild", {}, headers)
        assert status == 403, headers
    assert not side.exists()


def test_no_path_from_a_request_leaves_output(server: Server, course: Path) -> None:
    (course / "output" / ".secret").write_text("no")
    assert _request(server, "GET", "/tiny/tiny.vtt")[0] == 200
    for path in ("/../scripts/tiny.md", "/%2e%2e/scripts/tiny.md", "/tiny/..%2f..%2fscripts%2ftiny.md",
                 "/tiny/%2e%2e/%2e%2e/scripts/tiny.md", "/.secret", "/.build.lock",
                 "//etc/passwd", "/%2fetc%2fpasswd", "/_/static/..%2fapp.py",
                 "/_/static/review.py"):
        status, body = _request(server, "GET", path)
        assert status == 404, path
        assert b"CLAP" not in body and b"root:" not in body
    for name in ("..", "..%2f..%2fetc", "missing", "tiny%00"):
        assert _request(server, "GET", f"/_/lesson/{name}")[0] == 404, name
        assert _request(server, "GET", f"/_/api/{name}/state")[0] == 404, name


def test_every_page_escapes_script_text(server: Server, course: Path) -> None:
    for path in ("/", "/_/lesson/tiny"):
        status, body = _request(server, "GET", path)
        assert status == 200
        assert b"Tiny <i>lesson</i>" not in body
        assert b"Tiny &lt;i&gt;lesson&lt;/i&gt; &amp; more" in body, path
    for page in ("watch.html", "align.html"):
        html = (course / "output" / "tiny" / page).read_text(encoding="utf-8")
        assert "Tiny &lt;i&gt;lesson&lt;/i&gt;" in html and "<i>lesson" not in html


# --- the browser -------------------------------------------------------------------------

def _chromium() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing and installing it needs root: "
                "sudo apt-get install chromium (or run make test as root)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(executable), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860})
        yield context
        context.close()


TRACKS_JS = """async () => {
  const v = document.querySelector('video');
  const deadline = Date.now() + 10000;
  const caps = () => [...v.textTracks].find(t => t.kind === 'captions');
  while (Date.now() < deadline && !(caps() && caps().cues && caps().cues.length)) {
    await new Promise(r => setTimeout(r, 100));
  }
  const chapters = [...v.textTracks].find(t => t.kind === 'chapters');
  return {count: v.textTracks.length, mode: caps() ? caps().mode : null,
          cues: caps() && caps().cues ? caps().cues.length : 0,
          first: caps() && caps().cues && caps().cues.length ? caps().cues[0].text : null,
          chapters: chapters ? chapters.kind : null};
}"""


def test_captions_show_in_every_player(server: Server, browser: Any, course: Path) -> None:
    page = browser.new_page()
    for path in ("/tiny/watch.html", "/tiny/align.html", "/_/lesson/tiny"):
        page.goto(server.url.rstrip("/") + path)
        found = page.evaluate(TRACKS_JS)
        assert found["count"] >= 1, path
        assert found["mode"] == "showing", path
        assert found["cues"] == 3 and found["first"] == "Hello there, welcome to the lesson.", path
        assert found["chapters"] == "chapters", path
    for name in ("watch.html", "align.html"):  # opened straight from disk, as output/ is
        page.goto((course / "output" / "tiny" / name).as_uri())
        found = page.evaluate(TRACKS_JS)
        assert (found["mode"], found["cues"]) == ("showing", 3), name
    page.goto(server.url)
    watch = page.get_attribute("a:has-text('Watch')", "href")
    assert watch is not None and watch.endswith("tiny/watch.html")  # not the bare .webm
    page.close()


def _box_frame(video: Path, at: float, box: dict[str, int]) -> np.ndarray:
    info = ffmpeg.probe(video)
    raw = subprocess.run(
        [ffmpeg.executable(), "-v", "error", "-ss", f"{at:.3f}", "-i", ffmpeg.media_arg(video),
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True).stdout
    frame = np.frombuffer(raw, dtype=np.uint8).reshape(info.height, info.width, 3).astype(int)
    return frame[box["y"]:box["y"] + box["h"], box["x"]:box["x"] + box["w"]]


def _visual(manifest: Path) -> dict[str, Any]:
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    return next(o for o in doc["overlays"] if o["kind"] == "visual_text")


def test_drag_a_cue_rebuild_and_the_video_shows_it_at_the_new_time(
        server: Server, browser: Any, course: Path, tmp_path: Path) -> None:
    lesson = course / "output" / "tiny"
    old_video = tmp_path / "old.webm"
    shutil.copy(lesson / "tiny.webm", old_video)
    old = _visual(lesson / "tiny.json")
    manifest = json.loads((lesson / "tiny.json").read_text(encoding="utf-8"))
    side = sidecar_path(course / "scripts" / "tiny.md")

    page = browser.new_page()
    page.goto(server.url + "_/lesson/tiny")
    state = page.evaluate("window.review.state()")
    visual = next(c for c in state["cues"] if c["kind"] == "visual_text")
    marker = page.locator(f'.mk[data-id="{visual["id"]}"]')
    timeline = page.locator("#timeline").bounding_box()
    start = marker.bounding_box()
    assert timeline is not None and start is not None
    target = 0.8  # of the video: well after the card's old span
    x = timeline["x"] + target * timeline["width"]
    y = start["y"] + start["height"] / 2
    page.mouse.move(start["x"] + start["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(x, y, steps=8)
    page.mouse.up()
    page.wait_for_function("document.getElementById('saved').classList.contains('ok')")

    [pin] = read_sidecar(side)
    dropped = (x - timeline["x"]) / timeline["width"] * state["duration"]
    expected = dropped - (manifest["caption_offset"] - manifest["trim_start"])
    assert pin.text == "first idea | second idea"
    assert abs(pin.start / 1000 - expected) <= 0.05  # caption timeline, from video time
    moved = page.evaluate("window.review.state()")
    assert next(c for c in moved["cues"] if c["id"] == visual["id"])["method"] == "override"

    page.click("#rebuild")
    page.wait_for_function("document.getElementById('notice').textContent.startsWith('Rebuilt')",
                           timeout=240_000)
    new = _visual(lesson / "tiny.json")
    assert abs(new["start"] - dropped) <= 0.15
    assert new["start"] >= old["end"]  # the spans do not overlap: both times below are clean
    box = {k: new[k] for k in ("x", "y", "w", "h")}
    at_new = (new["start"] + min(new["end"], new["start"] + 1.0)) / 2
    at_old = (old["start"] + old["end"]) / 2
    for at in (at_new, at_old):  # the card appears at the new time, and is gone at the old one
        diff = np.abs(_box_frame(lesson / "tiny.webm", at, box) - _box_frame(old_video, at, box))
        assert diff.mean() > 20, at
    control = max(0.05, old["start"] - 0.4)  # neither render has the card here
    diff = np.abs(_box_frame(lesson / "tiny.webm", control, box) - _box_frame(old_video, control, box))
    assert diff.mean() < 8
    # the player came back at the moment it was at (where the drag left it)
    assert abs(page.evaluate("document.getElementById('player').currentTime") - dropped) <= 0.1
    page.close()


def test_cue_here_nudge_end_and_unpin_through_the_api(server: Server, course: Path) -> None:
    side = sidecar_path(course / "scripts" / "tiny.md")
    state = json.loads(_request(server, "GET", "/_/api/tiny/state")[1])
    panel = next(c for c in state["cues"] if c["kind"] == "main_panel")
    manifest = json.loads((course / "output" / "tiny" / "tiny.json").read_text())
    offset = manifest["caption_offset"] - manifest["trim_start"]  # video = caption + offset
    token = {"X-Review-Token": server.token, "Origin": server.url.rstrip("/")}

    def pin(**change: Any) -> dict[str, Any]:
        status, body = _request(server, "POST", "/_/api/tiny/pin",
                                {"id": panel["id"], "version": state["version"]} | change, token)
        assert status == 200, body
        doc = json.loads(body)
        state.update(doc["state"])
        return doc | {"cue": next(c for c in doc["state"]["cues"] if c["id"] == panel["id"])}

    here = pin(video=3.5)["cue"]  # "cue here" at 3.5 s of the video
    assert abs(here["at"] - (3.5 - offset)) <= 0.001 and here["method"] == "override"
    assert abs(here["video"] - 3.5) <= 0.001
    nudged = pin(nudge=-40)["cue"]
    assert abs(nudged["at"] - (here["at"] - 0.040)) <= 0.001
    ended = pin(until_video=5.0)["cue"]
    assert ended["pinned_end"] and abs(ended["until"] - (5.0 - offset)) <= 0.001
    assert _request(server, "POST", "/_/api/tiny/pin",
                    {"id": panel["id"], "until": nudged["at"] - 1}, token)[0] == 400
    side.write_text(side.read_text() + "# edited by hand\n")  # another editor, underneath
    stale = pin(until=None)
    assert stale["conflict"] and "changed outside this page" in stale["message"]
    assert not stale["cue"]["pinned_end"]
    back = pin(unpin=True)["cue"]
    assert not back["pinned"] and back["method"] != "override"
    assert all(p.id != panel["id"] and p.text != "the closing panel" for p in read_sidecar(side))


def test_review_command_serves_the_course(course: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "review", "--port", "0", "--root", str(course)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("review app: http://127.0.0.1:"), line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/", headers={"Host": f"localhost:{port}"})
                response = conn.getresponse()
                break
            except OSError:
                time.sleep(0.05)
        assert response.status == 200 and b"/_/lesson/tiny" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_review_command_without_a_course_is_a_usage_error(tmp_path: Path, capsys) -> None:
    from pipeline.cli import main

    assert main(["review", "--root", str(tmp_path)]) == 2
    assert "no scripts/ folder" in capsys.readouterr().err


def test_keyboard_nudge_and_undo_in_the_browser(server: Server, browser: Any,
                                                course: Path) -> None:
    side = sidecar_path(course / "scripts" / "tiny.md")
    page = browser.new_page()
    page.goto(server.url + "_/lesson/tiny")
    visual = next(c for c in page.evaluate("window.review.state()")["cues"]
                  if c["kind"] == "visual_text")
    page.evaluate(f"window.review.select('{visual['id']}', false)")

    def pinned() -> int | None:
        return next((p.start for p in read_sidecar(side) if p.text == "first idea | second idea"),
                    None) if side.is_file() else None

    def saved_after(key: str) -> None:
        page.evaluate("document.getElementById('saved').classList.remove('ok')")
        page.keyboard.press(key)
        page.wait_for_function("document.getElementById('saved').classList.contains('ok')")

    start = round(visual["at"] * 1000)
    saved_after("Shift+ArrowRight")
    assert pinned() == start + 100
    saved_after("ArrowLeft")  # one frame of the rendered video
    assert pinned() == start + 100 - page.evaluate("parseInt(document.body.dataset.frame)")
    saved_after("z")
    saved_after("z")
    assert pinned() == (start if visual["pinned"] else None)  # back where it was
    page.close()


# --- cuts: the editor's choices in the sidecar's cuts: list (issue 21) ----------------------

def test_cut_choices_are_written_where_the_build_reads_them_and_pins_are_kept(
        tmp_path: Path) -> None:
    from pipeline.cuts import CutsError, read_choices
    from pipeline.review.sidecar import write_cut

    script, lesson = _lesson(tmp_path)
    side = sidecar_path(script)
    pinned = write_pin(script, lesson.cues[0], "x", Pin(3400), by_id=False, seen=ABSENT)
    restore = write_cut(script, lambda c: False, {"restore": "0:06.500"}, seen=pinned.version)
    assert not restore.conflict
    added = write_cut(script, lambda c: False, {"from": "0:01.000", "to": "0:01.500"},
                      seen=restore.version)
    # a restore changes its mind: the choice naming that cut is replaced, not repeated
    write_cut(script, lambda c: not c.adds and c.at == 6500,
              {"at": "0:06.500", "from": "0:06.000", "to": "0:07.200"}, seen=added.version)
    choices = read_choices(side)
    assert [(c.restore, c.at, c.start, c.end) for c in choices] == [
        (False, None, 1000, 1500), (False, 6500, 6000, 7200)]
    assert [(p.text, p.start) for p in read_sidecar(side)] == [("first idea | second idea", 3400)]
    # a stale version still writes, and says so
    stale = write_cut(script, lambda c: c.adds, None, seen=added.version)
    assert stale.conflict and [c.at for c in read_choices(side)] == [6500]
    # a bad choice (an added cut over another) is refused: the file stays as it was
    write_cut(script, lambda c: False, {"from": 20, "to": 22}, seen=stale.version)
    before = side.read_bytes()
    with pytest.raises(CutsError, match="overlaps"):
        write_cut(script, lambda c: False, {"from": 21, "to": 23}, seen=None)
    with pytest.raises(CutsError, match="ends"):
        write_cut(script, lambda c: False, {"from": 30, "to": 29}, seen=None)
    assert side.read_bytes() == before
    assert [(p.text, p.start) for p in read_sidecar(side)] == [("first idea | second idea", 3400)]
    # and a pin written after keeps the cut choices
    write_pin(script, lesson.cues[1], "y", Pin(5000), by_id=False, seen=None)
    assert [(c.start, c.end) for c in read_choices(side)] == [(6000, 7200), (20_000, 22_000)]
    assert len(read_sidecar(side)) == 2
    align_cues(parse_script(script))  # align reads the file too


# the tiny lesson with its cuts on and a 2.8 s pause before its last caption: a silence cut
CUT_SCRIPT = tiny_script().replace("00:00:05,400 --> 00:00:06,600",
                                   "00:00:08,400 --> 00:00:09,600")


@pytest.fixture(scope="module")
def cut_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built_course(tmp_path_factory.mktemp("review cut course"), CUT_SCRIPT)


@pytest.fixture(scope="module")
def cut_server(cut_course: Path) -> Iterator[Server]:
    yield from _running(cut_course)


def _silence(state: dict[str, Any]) -> dict[str, Any]:
    [cut] = [c for c in state["cuts"] if c["reason"] == "silence"]
    return cut


def test_cut_endpoints_restore_nudge_add_and_refuse(cut_server: Server, cut_course: Path) -> None:
    from pipeline.cuts import read_choices

    side = sidecar_path(cut_course / "scripts" / "tiny.md")
    state = json.loads(_request(cut_server, "GET", "/_/api/tiny/state")[1])
    silence = _silence(state)
    assert silence["in_video"] and silence["cut_next"] and not silence["pending"]
    assert silence["width"] == 0  # a splice marker on the output timeline
    edit = json.loads((cut_course / "output" / "tiny" / "data" / "cuts.json").read_text())
    [built] = [c for c in edit["cuts"] if c["reason"] == "silence"]
    assert abs(silence["video"] - built["output"]) <= 0.001
    restore = {"action": "restore", "key": silence["key"]}
    for headers in ({}, {"X-Review-Token": "guess"},
                    {"X-Review-Token": cut_server.token, "Origin": "http://evil.example"}):
        status, body = _request(cut_server, "POST", "/_/api/tiny/cut", restore, headers)
        assert status == 403, headers
        assert (b"cross-site" if "Origin" in headers else b"token") in body
    assert not side.exists()
    token = {"X-Review-Token": cut_server.token, "Origin": cut_server.url.rstrip("/")}

    def cut(**body: Any) -> tuple[int, dict[str, Any]]:
        status, raw = _request(cut_server, "POST", "/_/api/tiny/cut",
                               body | {"version": state["version"]}, token)
        doc = json.loads(raw)
        if status == 200:
            state.update(doc["state"])
        return status, doc

    try:
        status, doc = cut(**restore)
        assert status == 200, doc
        now = _silence(state)
        assert not now["cut_next"] and now["pending"] and now["status"] == "restored by you"
        [choice] = read_choices(side)
        assert choice.restore and built["caption_start"] * 1000 <= choice.at < built[
            "caption_end"] * 1000
        status, doc = cut(action="cut", key=now["key"])  # undo the restore
        assert status == 200 and read_choices(side) == [] and not _silence(state)["pending"]
        status, doc = cut(action="nudge", key=now["key"], edge="start", by=-100)  # widen
        assert status == 200, doc
        [choice] = read_choices(side)
        assert (choice.start, choice.end) == (round(built["caption_start"] * 1000) - 100,
                                              round(built["caption_end"] * 1000))
        assert choice.start <= (choice.at or 0) < choice.end
        # a new cut from marks in the video (output seconds), converted to caption time
        status, doc = cut(action="add", from_video=1.0, to_video=1.5)
        assert status == 200, doc
        added = next(c for c in read_choices(side) if c.adds)
        manifest = json.loads((cut_course / "output" / "tiny" / "tiny.json").read_text())
        first = manifest["takes"][0]["offset"]  # caption -> video, before the splice
        assert abs(added.start - (1000 - first * 1000)) <= 1
        assert abs(added.end - (1500 - first * 1000)) <= 1
        for bad, what in (({"action": "add", "from_video": 1.2, "to_video": 1.8}, "overlap"),
                          ({"action": "add", "from_video": 3.0, "to_video": 99}, "past the end"),
                          ({"action": "add", "from_video": 3.0, "to_video": 3.01}, "shorter"),
                          ({"action": "nudge", "key": now["key"], "edge": "middle", "by": 100},
                           "edge"),
                          ({"action": "explode", "key": now["key"]}, "action")):
            before = side.read_bytes()
            status, doc = cut(**bad)
            assert status == 400 and what in doc["error"], (bad, doc)
            assert side.read_bytes() == before
        assert cut(action="restore", key=999.0)[0] == 404
        head = next(c for c in state["cuts"] if c["reason"] == "head")
        assert head["fixed"]  # all before caption time 0 (the clap): no choice can name it
        status, doc = cut(action="restore", key=head["key"])
        assert status == 400 and "before caption time 0" in doc["error"]
        pending = next(c for c in state["cuts"] if c["manual"])
        assert pending["pending"] and pending["cut_next"]
        status, _ = cut(action="restore", key=pending["key"])  # an added cut is removed
        assert status == 200 and not any(c.adds for c in read_choices(side))
    finally:
        side.unlink(missing_ok=True)


def test_restore_a_cut_in_the_browser_rebuild_and_the_lesson_is_longer_by_it(
        cut_server: Server, browser: Any, cut_course: Path) -> None:
    from pipeline.cuts import read_choices

    lesson = cut_course / "output" / "tiny"
    side = sidecar_path(cut_course / "scripts" / "tiny.md")
    before = (ffmpeg.probe(lesson / "tiny.webm").duration or 0) / 1000
    page = browser.new_page()
    page.goto(cut_server.url + "_/lesson/tiny")
    silence = _silence(page.evaluate("window.review.state()"))
    marker = page.locator(f'#cut-lane .cutmk[data-cut-key="{silence["key"]}"]')
    assert marker.count() == 1 and "long pause" in (marker.get_attribute("title") or "")
    row = page.locator(f'#cut-list li[data-cut-key="{silence["key"]}"]')
    row.locator("button:has-text('Restore')").click()
    page.wait_for_function("document.getElementById('saved').classList.contains('ok')")
    [choice] = read_choices(side)
    assert choice.restore and silence["start"] * 1000 <= (choice.at or 0) < silence["end"] * 1000
    assert "rebuild to apply" in row.inner_text()
    try:
        page.click("#rebuild")
        page.wait_for_function(
            "document.getElementById('notice').textContent.startsWith('Rebuilt')",
            timeout=240_000)
        after = (ffmpeg.probe(lesson / "tiny.webm").duration or 0) / 1000
        frame = page.evaluate("parseInt(document.body.dataset.frame)") / 1000
        assert abs(after - before - (silence["end"] - silence["start"])) <= frame, (
            before, after, silence)
        # the page shows the restored pause as kept material now, greyed in the list
        kept = _silence(page.evaluate("window.review.state()"))
        assert not kept["in_video"] and not kept["pending"] and kept["width"] > 0
        assert "kept" in (page.locator(f'#cut-list li[data-cut-key="{kept["key"]}"]')
                          .get_attribute("class") or "")
    finally:
        side.unlink(missing_ok=True)
        page.close()
