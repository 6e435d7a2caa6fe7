"""The review app's web layer: thin handlers over pipeline.review (Starlette + uvicorn).

Security model:
- listens on 127.0.0.1 unless told otherwise;
- answers only requests whose Host header names the address it serves (DNS rebinding);
  listening on every interface, the machine's own names and addresses;
- every write needs the per-run token the pages carry (header ``X-Review-Token``) and, when
  the browser sends one, an Origin equal to the app's own: no cross-site writes;
- reads only the course folder (scripts/, media/ through discovery, output/) and serves only
  files inside output/: lesson names are checked against the discovered lessons, file paths
  are resolved and must stay inside output/, hidden and partial files are never served;
- every text is escaped: Jinja autoescape on the server, ``textContent`` in the page.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline import __version__
from pipeline.atomic import is_partial
from pipeline.course.discover import LessonJob, discover
from pipeline.course.index import lesson_row
from pipeline.course.orchestrate import STAMP, Work
from pipeline.course.watch import Snapshot, snapshot
from pipeline.errors import PipelineError
from pipeline.reports.player import player
from pipeline.reports.render import render_template
from pipeline.review import state as review_state
from pipeline.review.rebuild import Rebuilds
from pipeline.review.sidecar import Pin, Written, write_cut, write_pin
from pipeline.timecode import format_clock, to_ms

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}  # all the app serves of its own
TOKEN_HEADER = "x-review-token"
NUDGE_LIMIT = 60_000  # ms: a nudge is a small step, not a jump
CUT_NUDGE_LIMIT = 5_000  # ms: widening or narrowing a cut, one step


class HostGuard:
    """Refuses every request whose Host header is not one of ``hosts`` (DNS rebinding)."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            if host not in self.hosts:
                response = Response("unknown Host: this app answers only to "
                                    + " or ".join(sorted(self.hosts)) + "\n",
                                    status_code=421, media_type="text/plain")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


WILDCARD = ("0.0.0.0", "::", "")  # listen on every interface


def machine_names() -> set[str]:
    """This machine's names and addresses as a Host header writes them: localhost, the
    host name and fully qualified name, every interface's address (IPv6 in brackets)."""
    import psutil

    names = {"localhost", socket.gethostname(), socket.getfqdn()}
    addresses = {"127.0.0.1", "::1"}
    for entries in psutil.net_if_addrs().values():
        addresses |= {e.address.split("%")[0] for e in entries
                      if e.family in (socket.AF_INET, socket.AF_INET6)}
    for name in names:
        try:
            addresses |= {str(info[4][0]).split("%")[0] for info in socket.getaddrinfo(name, None)}
        except OSError:
            pass
    return {n for n in names if n} | {f"[{a}]" if ":" in a else a for a in addresses}


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host headers the app answers: the address it listens on (loopback: 127.0.0.1 and
    localhost); on every interface (``0.0.0.0``, ``::``), every name and address of this
    machine. Always with the port (bare only on port 80, where browsers leave it out)."""
    if host in WILDCARD:
        names = machine_names()
    elif host in ("127.0.0.1", "localhost"):
        names = {"127.0.0.1", "localhost"}
    else:
        names = {f"[{host}]" if ":" in host else host}
    hosts = {f"{name}:{port}" for name in names} | (names if port == 80 else set())
    return frozenset(h.lower() for h in hosts)


class Review:
    """The handlers, over one course folder."""

    def __init__(self, root: Path, work: Work, hosts: frozenset[str], token: str) -> None:
        self.root = root.resolve()
        self.output = self.root / "output"
        self.hosts, self.token = hosts, token
        self.rebuilds = Rebuilds(self.root, work)
        self._jobs: list[LessonJob] = []
        self._sources: Snapshot | None = None

    # --- checks ---------------------------------------------------------------------

    def lessons(self) -> list[LessonJob]:
        """The course's lessons: discovered once, and again only when a script or a file in
        media/ was added, removed or changed (a pin written beside a script is no change)."""
        scripts = os.path.join(self.root / "scripts", "")
        sources = {path: stat for path, stat in snapshot(self.root).items()
                   if path.endswith(".md") or not path.startswith(scripts)}
        if sources != self._sources:  # taken before: a change during discovery is seen next
            self._jobs, self._sources = discover(self.root), sources
        return self._jobs

    def lesson(self, name: str) -> LessonJob | None:
        """The discovered lesson of that name: the only way a name from a request is used."""
        return next((job for job in self.lessons() if job.name == name), None)

    def write_refused(self, request: Request) -> Response | None:
        sent = request.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(sent.encode(), self.token.encode()):
            return JSONResponse({"error": "missing or wrong review token: reload the page"},
                                status_code=403)
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.hosts}:
            return JSONResponse({"error": f"cross-site write refused (Origin {origin})"},
                                status_code=403)
        return None

    def output_file(self, rel: str) -> Path | None:
        """``rel`` as a file inside output/, or None (outside, hidden, partial, missing)."""
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        base = self.output.resolve()
        try:
            path = base.joinpath(*parts).resolve()
        except (OSError, ValueError):
            return None
        if not path.is_relative_to(base) or not path.is_file() or is_partial(path):
            return None
        return path

    # --- pages ----------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        rows = []
        for job in self.lessons():
            built = (self.output / job.name / STAMP).is_file()
            status, reason = ("built", None) if built else (
                ("skipped", job.problem) if job.problem else ("skipped", "not built yet"))
            row = lesson_row(self.output, job.name, status, reason)
            if job.problem is None:
                row["review"] = f"/_/lesson/{quote(job.name, safe='')}"
            rows.append(row)
        counts = {s: sum(r["status"] == s for r in rows) for s in ("built", "skipped", "failed")}
        html = render_template("index.html.j2", key="0" * 64, lessons=rows, counts=counts,
                               version=__version__,
                               generated=time.strftime("%Y-%m-%d %H:%M", time.localtime()))
        return HTMLResponse(html)

    async def lesson_page(self, request: Request) -> Response:
        job = self.lesson(request.path_params["name"])
        if job is None:
            return HTMLResponse("no such lesson", status_code=404)
        try:
            view = review_state.load(job, self.output)
        except PipelineError as exc:
            return HTMLResponse(render_template("review_error.html.j2", title=job.name,
                                                message=str(exc)), status_code=500)
        context = review_state.page(view)
        video = None
        if view.video is not None:
            stamp = view.video.stat().st_mtime_ns
            video = player(view.video, prefix=f"/{quote(job.name, safe='')}/")
            video["src"] += f"?v={stamp}"
        return HTMLResponse(render_template(
            "review.html.j2", token=self.token, player=video, status=self.rebuilds.status(
                job.name).to_json(), **context))

    # --- API ------------------------------------------------------------------------

    async def state(self, request: Request) -> Response:
        job = self.lesson(request.path_params["name"])
        if job is None:
            return JSONResponse({"error": "no such lesson"}, status_code=404)
        try:
            return JSONResponse(review_state.state(review_state.load(job, self.output)))
        except PipelineError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def pin(self, request: Request) -> Response:
        return await self._write(request, _write_pin)

    async def cut(self, request: Request) -> Response:
        """An editor's cut choice: ``action`` restore (or remove an added cut), cut (again),
        nudge (``edge`` start|end ``by`` ms), add (``from_video``/``to_video``, seconds of
        the video the page plays); the cut named by ``key``, a caption second inside it."""
        return await self._write(request, _write_cut)

    async def _write(self, request: Request, change: _Change) -> Response:
        """A change from the page to the lesson's sidecar: the request checked, its JSON
        body read, ``change`` writing it; answers with the lesson's state as written."""
        if (refused := self.write_refused(request)) is not None:
            return refused
        job = self.lesson(request.path_params["name"])
        if job is None:
            return JSONResponse({"error": "no such lesson"}, status_code=404)
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise TypeError("not a JSON object")
            written, message = change(job, body, review_state.load(job, self.output))
            fresh = review_state.load(job, self.output)
        except _Missing as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        except PipelineError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        if written.conflict:
            message = (f"{written.path.name} changed outside this page (another tab or "
                       "editor); your change was written on top of the file as it is now")
        return JSONResponse({"state": review_state.state(fresh), "conflict": written.conflict,
                             "message": message})

    async def rebuild(self, request: Request) -> Response:
        job = self.lesson(request.path_params["name"])
        if job is None:
            return JSONResponse({"error": "no such lesson"}, status_code=404)
        if request.method == "POST":
            if (refused := self.write_refused(request)) is not None:
                return refused
            return JSONResponse(self.rebuilds.start(job.name).to_json())
        return JSONResponse(self.rebuilds.status(job.name).to_json())

    # --- files ----------------------------------------------------------------------

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return Response("not found", status_code=404)
        return FileResponse(STATIC / name, media_type=ASSETS[name],
                            headers={"cache-control": "no-cache"})

    async def file(self, request: Request) -> Response:
        path = self.output_file(request.path_params["path"])
        if path is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(path, headers={"cache-control": "no-cache"})


class _Missing(Exception):
    """What a change names is not in the lesson (any more): 404."""


_Change = Callable[[LessonJob, dict[str, Any], review_state.LessonView], tuple[Written, str]]


def _seen(body: dict[str, Any]) -> str | None:
    """The sidecar version the page last saw."""
    return str(body.get("version") or "") or None


def _write_pin(job: LessonJob, body: dict[str, Any],
               view: review_state.LessonView) -> tuple[Written, str]:
    cue = view.cue(str(body.get("id", "")))
    if cue is None:
        raise _Missing("no such cue (the script changed? reload)")
    pin, note = _pin_of(body, view, cue)
    return write_pin(job.script, cue.cue, cue.id, pin, by_id=view.shares_text(cue),
                     seen=_seen(body)), note


def _write_cut(job: LessonJob, body: dict[str, Any],
               view: review_state.LessonView) -> tuple[Written, str]:
    names, new = _cut_choice(body, view)
    return write_cut(job.script, names, new, seen=_seen(body)), ""


def _pin_of(body: dict[str, Any], view: review_state.LessonView,
            cue: Any) -> tuple[Pin, str]:
    """The pin a request asks for; times in caption ms (video seconds converted)."""
    def ms(key: str) -> int | None:
        value = body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a number of seconds")
        return to_ms(float(value))

    if body.get("unpin"):
        return Pin(None), ""
    current = view.sidecar_pin(cue)
    at = ms("at")
    if at is None and (video := ms("video")) is not None:
        at = view.caption_ms(video)
    if at is None and (nudge := body.get("nudge")) is not None:
        if isinstance(nudge, bool) or not isinstance(nudge, int) or abs(nudge) > NUDGE_LIMIT:
            raise ValueError("nudge must be whole milliseconds, at most a minute")
        at = max(0, cue.start + nudge)
    if at is None:
        at = cue.start
    until = current.end if current is not None else None
    if "until" in body:
        until = ms("until")
    elif (until_video := ms("until_video")) is not None:
        until = view.caption_ms(until_video)
    note = ""
    if until is not None and until <= at:
        if "until" in body or "until_video" in body:
            raise ValueError("the end must come after the cue's start")
        until, note = None, "the pinned end came before the new start, so it was cleared"
    return Pin(at, until), note


def _cut_choice(body: dict[str, Any], view: review_state.LessonView,
                ) -> tuple[Callable[[Any], bool], dict[str, Any] | None]:
    """What a cut request writes: (which choices it replaces, the new entry or None).
    Times in caption ms (the page's video seconds converted); bad spans are ValueErrors."""
    def number(key: str) -> float:
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a number of seconds")
        return float(value)

    rows = review_state.cut_rows(view)
    action = body.get("action")
    if action == "add":
        lo, hi = sorted((number("from_video"), number("to_video")))
        if to_ms(hi) > view.duration:
            raise ValueError("the span runs past the end of the video")
        start, end = view.caption_ms(to_ms(lo)), view.caption_ms(to_ms(hi))
        return (lambda choice: False), _span_entry(None, start, end, rows, None)
    key = body.get("key")
    if isinstance(key, bool) or not isinstance(key, int | float):
        raise TypeError("key must be a number of seconds")
    key = to_ms(float(key))  # a head cut lies before caption time 0: negative
    row = next((r for r in rows if r.start <= key < max(r.end, r.start + 1)), None)
    if row is None:
        raise _Missing("no such cut (rebuilt meanwhile? reload the page)")
    at = row.choice.at if row.choice is not None and row.choice.at is not None else max(
        key, row.start, 0)
    if at >= row.end:
        raise ValueError("this cut lies before caption time 0 (before the first caption): "
                         "the sidecar cannot name it")
    if action == "restore":  # an added cut goes; a proposed one is kept
        return row.names, None if row.manual else {"restore": format_clock(at)}
    if action == "cut":
        if row.choice is not None and row.choice.restore:
            return row.names, None  # back to what the build proposes
        return row.names, _span_entry(row, row.start, row.end, rows, at)
    if action == "nudge":
        by = body.get("by")
        if isinstance(by, bool) or not isinstance(by, int) or not 0 < abs(by) <= CUT_NUDGE_LIMIT:
            raise ValueError(f"by must be whole milliseconds, at most {CUT_NUDGE_LIMIT}")
        start, end = row.span
        if body.get("edge") == "start":
            start += by
        elif body.get("edge") == "end":
            end += by
        else:
            raise ValueError("edge must be start or end")
        return row.names, _span_entry(row, start, end, rows, at)
    raise ValueError("action must be restore, cut, nudge or add")


def _span_entry(row: review_state.CutRow | None, start: int, end: int,
                rows: list[review_state.CutRow], at: int | None) -> dict[str, Any]:
    """The ``cuts:`` entry cutting [start, end]: a change of ``row`` (named by ``at``,
    kept inside the span), or an added cut; refused when empty, out of range or over
    another cut."""
    if start < 0:
        raise ValueError("a cut cannot start before caption time 0 (the first caption)")
    if end - start < 40:
        raise ValueError("the cut would be shorter than a frame: restore it instead")
    for other in rows:
        a, b = other.span
        if other is not row and other.cut_next and start < b and a < end:
            raise ValueError(f"it would overlap the cut at {format_clock(a)}-{format_clock(b)}"
                             " (widen that one instead)")
    entry: dict[str, Any] = {"from": format_clock(start), "to": format_clock(end)}
    if row is not None and not row.manual:
        entry = {"at": format_clock(min(max(at if at is not None else start, start),
                                        end - 1))} | entry
    return entry


def make_app(root: Path, work: Work, hosts: frozenset[str], token: str) -> ASGIApp:
    review = Review(root, work, hosts, token)
    routes = [
        Route("/", review.index),
        Route("/index.html", review.index),
        Route("/_/lesson/{name}", review.lesson_page),
        Route("/_/api/{name}/state", review.state),
        Route("/_/api/{name}/pin", review.pin, methods=["POST"]),
        Route("/_/api/{name}/cut", review.cut, methods=["POST"]),
        Route("/_/api/{name}/rebuild", review.rebuild, methods=["GET", "POST"]),
        Route("/_/static/{name}", review.asset),
        Route("/{path:path}", review.file),
    ]
    app = Starlette(routes=routes)
    app.state.review = review
    return HostGuard(app, hosts)


Ready = Callable[[str], Awaitable[None] | None]


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PipelineError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


class Server:
    """The app on a bound socket; ``url`` is known before it runs (port 0: a free port)."""

    def __init__(self, root: Path, work: Work, host: str = "127.0.0.1", port: int = 8765) -> None:
        import uvicorn

        self.socket = bind(host, port)
        self.port = self.socket.getsockname()[1]
        self.hosts = allowed_hosts(host, self.port)
        self.token = secrets.token_urlsafe(24)
        self.app = make_app(root, work, self.hosts, self.token)
        shown = socket.gethostname() if host in WILDCARD else (
            f"[{host}]" if ":" in host else host)
        self.url = f"http://{shown}:{self.port}/"
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                     lifespan="off", access_log=False))

    def run(self) -> None:
        """Serve until stopped (Ctrl-C, or ``stop()`` from another thread)."""
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def stop(self) -> None:
        self._server.should_exit = True
