"""Helpers for the alignment tests: lessons built from paragraphs and a spoken take."""

from __future__ import annotations

from pathlib import Path

from pipeline.captions.io import to_srt
from pipeline.models import Caption, Lesson
from pipeline.script.parse import parse_text

MS_PER_WORD = 350


def captions_from(take: list[str], words_per_caption: int = 8, pause_ms: int = 150,
                  start_ms: int = 0) -> list[Caption]:
    """Captions of a spoken take: each string is split into captions of a few words.

    A string starting with ``"\\n"`` is spoken after a long pause (2 s)."""
    caps: list[Caption] = []
    t = start_ms
    for part in take:
        if part.startswith("\n"):
            t += 2000
        words = part.split()
        for k in range(0, len(words), words_per_caption):
            chunk = words[k:k + words_per_caption]
            caps.append(Caption(len(caps) + 1, t, t + MS_PER_WORD * len(chunk), " ".join(chunk)))
            t += MS_PER_WORD * len(chunk) + pause_ms
    return caps


def script_text(body: list[str], frontmatter: str = "") -> str:
    """Markdown of a script: frontmatter, a heading, one paragraph (or cue line) per item."""
    head = "---\ntitle: Test lesson\n" + frontmatter + "---\n\n# Test lesson\n\n"
    return head + "\n\n".join(body) + "\n"


def make_lesson(tmp_path: Path, body: list[str], take: list[str] | None = None,
                frontmatter: str = "", name: str = "lesson.md",
                captions: list[Caption] | None = None) -> Lesson:
    """Write a script (with the take's captions embedded after a CLAP) and parse it."""
    text = script_text(body, frontmatter)
    caps = captions if captions is not None else captions_from(take) if take else []
    if caps:
        text += "\n<span style=\"color:red\">**CLAP**</span>\n" + to_srt(caps)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return parse_text(text, path)


class Track:
    """The caption track as one string with a time for every character, to state where a
    phrase was spoken ("right after ... and before ...")."""

    def __init__(self, captions: tuple[Caption, ...] | list[Caption]):
        self.text = ""
        self.times: list[tuple[int, int, int]] = []  # (offset in text, caption start, end)
        self.spans: list[tuple[int, int, Caption]] = []
        for cap in captions:
            body = cap.text.replace("\n", " ")
            start = len(self.text)
            self.text += body + " "
            self.spans.append((start, start + len(body.rstrip()), cap))
        self.lower = self.text.lower()

    def time_at(self, offset: int) -> int:
        for start, end, cap in self.spans:
            if start <= offset <= end:
                frac = (offset - start) / max(1, end - start)
                return cap.start + int((cap.end - cap.start) * frac)
        later = [cap.start for start, _, cap in self.spans if start > offset]
        return min(later) if later else self.spans[-1][2].end

    def find(self, phrase: str, after: int = 0) -> int:
        pos = self.lower.find(phrase.lower(), after)
        assert pos >= 0, f"{phrase!r} is not in the captions"
        return pos

    def end_of(self, phrase: str) -> int:
        """Time the speaker finishes ``phrase`` (its first occurrence)."""
        pos = self.find(phrase)
        return self.time_at(pos + len(phrase))

    def window(self, before: str, after: str | None) -> tuple[int, int]:
        """(time ``before`` is finished, time ``after`` (the next occurrence) begins)."""
        pos = self.find(before)
        end = pos + len(before)
        if after is None:
            return self.time_at(end), self.spans[-1][2].end
        nxt = self.find(after, end)
        return self.time_at(end), self.time_at(nxt)
