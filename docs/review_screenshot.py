"""Remake docs/review.png and time a rebuild from the review app, on the built demo course.

    make demo && .venv/bin/python docs/review_screenshot.py [LESSON]

Opens the lesson in headless chromium, nudges its first VISUAL TEXT cue by 300 ms with the
keyboard, presses Rebuild, prints how long the rebuild took and saves the page. The lesson's
sidecar is put back as it was (and the lesson rebuilt) afterwards.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from pipeline.align.overrides import sidecar_path
from pipeline.course.discover import discover
from pipeline.course.index import write_index
from pipeline.course.orchestrate import build_course
from pipeline.course.work import run_lesson
from pipeline.review.app import Server

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    root = Path(".")
    lesson = sys.argv[1] if len(sys.argv) > 1 else "002-intro-customer-segments"
    [job] = [j for j in discover(root) if j.name == lesson]
    side = sidecar_path(job.script)
    before = side.read_bytes() if side.is_file() else None
    server = Server(root, run_lesson, port=0)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                tempfile.mkdtemp(), executable_path="/usr/bin/chromium", headless=True, args=ARGS,
                viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(f"{server.url}_/lesson/{lesson}")
            page.wait_for_function("document.getElementById('player').readyState >= 2")
            cue = next(c for c in page.evaluate("window.review.state()")["cues"]
                       if c["kind"] == "visual_text")
            page.evaluate(f"window.review.select('{cue['id']}', true)")
            for _ in range(3):
                page.keyboard.press("Shift+ArrowRight")
                page.wait_for_function("document.getElementById('saved').classList.contains('ok')")
            began = time.monotonic()
            page.click("#rebuild")
            page.wait_for_function(
                "document.getElementById('notice').textContent.startsWith('Rebuilt')",
                timeout=900_000)
            print(f"rebuild, press to reloaded page: {time.monotonic() - began:.1f} s;",
                  page.text_content("#notice"))
            page.wait_for_timeout(1500)
            shot = Path(tempfile.mkdtemp()) / "review.png"
            page.screenshot(path=str(shot))
            context.close()
        image = Image.open(shot).convert("RGB").resize((1120, 800), Image.Resampling.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                       dither=Image.Dither.NONE).save("docs/review.png", optimize=True)
    finally:
        server.stop()
        if before is None:
            side.unlink(missing_ok=True)
        else:
            side.write_bytes(before)
        build_course(root, run_lesson, only=[lesson], index=write_index)


if __name__ == "__main__":
    main()
