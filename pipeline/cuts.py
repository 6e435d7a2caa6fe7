"""The edit decision list: what of a raw take the lesson leaves out, decided from the script.

A presenter's take holds more than the lesson: the clap and the wait before the first
word, a sentence said again ("sorry, let me do that again"), a false start, an aside, a
long pause to find the next line, the tail after the last word. The alignment already
knows where each happened (the script's words timed on the speech, and the speech no
script word covers): :func:`propose` turns that into :class:`Cut` s, each with its
reason and its words, in recording time of one take.

Every cut point lies in a pause, never inside a word: on the quietest 10 ms of the pause
near the word boundary (the level track of the one decode, pipeline.audio.loudness), on a
video frame boundary so the picture is cut on the same frame as the sound. A cut never
touches a timed script word (:func:`_protect`).

Which cuts are applied is the course's ``[cuts]`` table (``mode``: ``off``, ``retakes``,
``retakes+silences``; ``unscripted``: ``keep`` or ``cut``; ``silence`` and
``keep_silence``: pauses longer than the first are shortened to the second) and the
lesson's frontmatter ``cuts:`` (a mode, or a table of the same keys). :func:`kept_spans`
gives what remains of a take; pipeline.timeline maps the caption timeline through it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.audio.loudness import BLOCK, LoudnessTrack
from pipeline.errors import PipelineError
from pipeline.models import Caption, Lesson
from pipeline.timecode import seconds
from pipeline.timeline import Take, cut_takes, removed_to_output, span_to_output, take_at

if TYPE_CHECKING:
    from pipeline.align.cues import AlignResult
    from pipeline.audio.sync import Analysis
    from pipeline.speech.forced import Timing

MODES = ("off", "retakes", "retakes+silences")
REASONS = ("retake", "false_start", "unscripted", "silence", "head", "tail", "manual")
SPEECH_REASONS = ("retake", "false_start", "unscripted")
FRAME = 10  # ms per frame of the level track
_WINDOW = 40  # script words either side of a stray stretch its words are looked for in
_RETAKE_SHARE = 0.6  # share of a stray stretch's words the script says nearby: a retake
_FALSE_START = 3  # fewer words than this said again: a false start
_MIN_PIECE = 120  # ms: a kept piece shorter than this between two cuts goes too
_EDGE = 30  # ms kept clear of a word's edge by a cut point


class CutsError(PipelineError):
    """Bad cut settings or manual cuts."""


@dataclass(frozen=True, slots=True)
class CutSettings:
    mode: str = "retakes+silences"
    unscripted: str = "keep"  # "keep" | "cut": speech the script does not have (ad-libs)
    silence: float = 1.5  # s: a pause longer than this is shortened ...
    keep_silence: float = 0.6  # s: ... to this
    head: float = 0.3  # s kept before a take's first script word
    tail: float = 0.5  # s kept after its last


DEFAULT_CUTS = CutSettings()
_NUMBERS = {"silence": (0.2, 60.0), "keep_silence": (0.05, 10.0), "head": (0.0, 10.0),
            "tail": (0.0, 10.0)}


def cut_settings(table: Any, path: str | Path | None = None,
                 base: CutSettings = DEFAULT_CUTS) -> CutSettings:
    """A ``[cuts]`` table (or frontmatter ``cuts:``: a mode or a table) over ``base``."""
    if table is None:
        return base
    if isinstance(table, bool):  # YAML reads a bare `cuts: off` as false (`on`: true)
        table = {} if table else {"mode": "off"}
    if isinstance(table, str):
        table = {"mode": table}
    if not isinstance(table, Mapping):
        raise CutsError(f"cuts must be one of {', '.join(MODES)} or a table", path)
    known = {f.name for f in fields(CutSettings)}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise CutsError(f"unknown cuts key {key!r} (known: {', '.join(sorted(known))})",
                            path)
        if key == "mode":
            if value not in MODES:
                raise CutsError(f"cuts mode must be one of {', '.join(MODES)}, not {value!r}",
                                path)
        elif key == "unscripted":
            if value not in ("keep", "cut"):
                raise CutsError(f"cuts unscripted must be 'keep' or 'cut', not {value!r}", path)
        else:
            low, high = _NUMBERS[key]
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or not low <= value <= high):
                raise CutsError(f"cuts {key} must be a number of seconds in {low:g}..{high:g}",
                                path)
            value = float(value)
        changes[key] = value
    settings = replace(base, **changes)
    if settings.keep_silence >= settings.silence:
        raise CutsError("cuts keep_silence must be shorter than silence", path)
    return settings


@dataclass(frozen=True, slots=True)
class Cut:
    """A span of one take (recording ms) the lesson leaves out, and why."""

    take: int
    start: int
    end: int
    reason: str  # one of REASONS
    words: str = ""  # what is said in it (the recogniser's words), "" for a pause
    kind: str = "auto"  # "auto": proposed from the alignment; "manual": an editor's
    applied: bool = True  # False: proposed, but kept (settings, or restored by an editor)

    @property
    def duration(self) -> int:
        return self.end - self.start

    def to_json(self, base: int = 0) -> dict[str, Any]:
        """``base``: the take's caption-to-recording offset (caption = recording - offset)."""
        return {"take": self.take, "start": seconds(self.start), "end": seconds(self.end),
                "caption_start": seconds(self.start - base),
                "caption_end": seconds(self.end - base), "reason": self.reason,
                "words": self.words, "kind": self.kind, "applied": self.applied}

    def label(self) -> str:
        return {"retake": "earlier take", "false_start": "false start",
                "unscripted": "not in the script", "silence": "long pause",
                "head": "before the first word", "tail": "after the last word",
                "manual": "editor's cut"}.get(self.reason, self.reason)


@dataclass(frozen=True, slots=True)
class TakeSpeech:
    """What one take holds, in recording ms: the timed script words (start, end, the
    index of the word in the script, its tokens), speech no script word covers (start,
    end, the recogniser's words), the speech stretches and the 10 ms level track."""

    duration: int
    words: tuple[tuple[int, int, int, tuple[str, ...]], ...]
    strays: tuple[tuple[int, int, str], ...]
    speech: tuple[tuple[int, int], ...]
    levels: np.ndarray  # int8 dB per FRAME ms
    frame_ms: float = 0.0  # the video's frame duration (0: unknown, cut on 10 ms)


# --- where to cut --------------------------------------------------------------------


def quietest(take: TakeSpeech, lo: int, hi: int, prefer: int) -> int:
    """The cut point in [lo, hi] on the video's frame grid whose 10 ms either side are
    quietest (nearest ``prefer`` among equals); without a grid point inside, the 10 ms
    frame edges are used."""
    lo, hi = max(0, lo), min(take.duration, hi)
    if hi < lo:
        return max(0, min(take.duration, prefer))
    step = take.frame_ms
    points: list[int] = []
    if step > 0:
        k0, k1 = math.ceil(lo / step), math.floor(hi / step)
        points = [round(k * step) for k in range(k0, k1 + 1)]
        points = [p for p in points if lo <= p <= hi]
    if not points:
        points = list(range((lo + FRAME - 1) // FRAME * FRAME, hi + 1, FRAME)) or [lo]
    levels = take.levels

    def level(t: int) -> int:
        if not len(levels):
            return 0
        k = min(len(levels) - 1, t // FRAME)
        return max(int(levels[max(0, k - 1)]), int(levels[k]))

    return min(points, key=lambda p: (level(p), abs(p - prefer)))


def _pauses(take: TakeSpeech) -> list[tuple[int, int]]:
    """The gaps between speech stretches (and before the first, after the last)."""
    out, at = [], 0
    for a, b in take.speech:
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < take.duration:
        out.append((at, take.duration))
    return out


# --- what to cut ---------------------------------------------------------------------


_TOKEN = re.compile(r"[a-z0-9']+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("_", " "))


def _classify(stray: tuple[int, int, str], take: TakeSpeech) -> tuple[str, str]:
    """(reason, words) of speech no script word covers: a retake when most of its words
    are script words said just before or after it (a false start when it is short),
    else speech that is not in the script."""
    _, end, text = stray
    words = _tokens(text)
    after = next((k for k, w in enumerate(take.words) if w[0] >= end), len(take.words))
    near = {n for w in take.words[max(0, after - _WINDOW):after + _WINDOW] for n in w[3]}
    said = sum(1 for w in words if w in near)
    if words and said >= _RETAKE_SHARE * len(words):
        return ("false_start" if len(words) < _FALSE_START else "retake"), text.replace("_", " ")
    return "unscripted", text.replace("_", " ")


def propose(takes: Sequence[TakeSpeech], settings: CutSettings = DEFAULT_CUTS) -> list[Cut]:
    """Every cut the alignment suggests, each marked applied or not by ``settings``."""
    cuts: list[Cut] = []
    for k, take in enumerate(takes):
        cuts += _take_cuts(k, take, settings)
    return with_settings(sorted(cuts, key=lambda c: (c.take, c.start)), settings)


def _applies(reason: str, settings: CutSettings) -> bool:
    if settings.mode == "off":
        return False
    if reason == "silence":
        return settings.mode == "retakes+silences"
    if reason == "unscripted":
        return settings.unscripted == "cut"
    return True


def _take_cuts(k: int, take: TakeSpeech, settings: CutSettings) -> list[Cut]:
    if not take.words:
        return []
    head, tail = round(settings.head * 1000), round(settings.tail * 1000)
    keep = round(settings.keep_silence * 1000)
    first, last = take.words[0][0], max(w[1] for w in take.words)
    found: list[Cut] = []
    # head: from the take's start to a moment before its first script word
    if first - head > _MIN_PIECE:
        at = quietest(take, first - head - 200, first - head, first - head)
        found.append(Cut(k, 0, at, *_edge(take, 0, first, "head")))
    if take.duration - (last + tail) > _MIN_PIECE:
        at = quietest(take, last + tail, last + tail + 200, last + tail)
        found.append(Cut(k, at, take.duration, *_edge(take, last, take.duration, "tail")))
    # speech no script word covers, between two script words: from the pause after the
    # word before it to the pause before the word after it
    for stray in take.strays:
        s, e, _ = stray
        before = max((w[1] for w in take.words if w[1] <= s + _EDGE), default=None)
        after = min((w[0] for w in take.words if w[0] >= e - _EDGE), default=None)
        if before is None or after is None:
            continue  # in the head or the tail
        reason, words = _classify(stray, take)
        lo = quietest(take, before + _EDGE, max(before + _EDGE, min(s, before + keep // 2)),
                      min(s, before + keep // 2))
        hi = quietest(take, min(after - _EDGE, max(e, after - keep // 2)), after - _EDGE,
                      max(e, after - keep // 2))
        if hi > lo:
            found.append(Cut(k, lo, hi, reason, words))
    # long pauses, outside the speech cuts, shortened to keep_silence
    limit = round(settings.silence * 1000)
    for a, b in _pauses(take):
        if b - a <= limit or a < first or b > last:
            continue
        lo = quietest(take, a + keep // 2 - 40, a + keep // 2 + 40, a + keep // 2)
        hi = quietest(take, b - keep // 2 - 40, b - keep // 2 + 40, b - keep // 2)
        # (beside an aside, which the settings may keep, the pause is still shortened)
        if hi > lo and not any(c.start < hi and lo < c.end for c in found
                               if c.reason != "unscripted"):
            found.append(Cut(k, lo, hi, "silence"))
    return [_protect(c, take) for c in found
            if _protect(c, take).duration >= FRAME]


def _edge(take: TakeSpeech, start: int, end: int, reason: str) -> tuple[str, str]:
    """(reason, words) of a take's head or tail: a retake when the speech in it says the
    script's words again (the first sentence said twice), else ``reason``."""
    strays = [s for s in take.strays if start <= s[0] < end]
    found = [_classify(s, take) for s in strays]
    said = next((r for r, _ in found if r in ("retake", "false_start")), reason)
    return said, " ".join(w for _, w in found)


def _protect(cut: Cut, take: TakeSpeech) -> Cut:
    """The cut shrunk so that no timed script word is in it (a cut never clips a word)."""
    start, end = cut.start, cut.end
    for a, b, _, _ in take.words:
        if a < end and b > start:  # overlaps: keep the side with the cut's bigger part
            if a - start >= end - b:
                end = min(end, a)
            else:
                start = max(start, b)
    return replace(cut, start=start, end=max(start, end))


def with_settings(cuts: Sequence[Cut], settings: CutSettings) -> list[Cut]:
    """The cuts marked applied as ``settings`` say (manual ones stay as they are)."""
    return [c if c.kind == "manual" else replace(c, applied=_applies(c.reason, settings))
            for c in cuts]


# --- what remains --------------------------------------------------------------------


def kept_spans(start: int, end: int, cuts: Sequence[Cut],
               words: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """[start, end) of a take less its applied ``cuts``: the pieces the lesson keeps. A
    piece shorter than _MIN_PIECE between two cuts is left out too, unless a script word
    (``words``) is in it."""
    spans = [(start, end)]
    for cut in sorted((c for c in cuts if c.applied), key=lambda c: c.start):
        out = []
        for a, b in spans:
            if cut.end <= a or cut.start >= b:
                out.append((a, b))
                continue
            if cut.start > a:
                out.append((a, cut.start))
            if cut.end < b:
                out.append((cut.end, b))
        spans = out
    return [(a, b) for a, b in spans
            if b - a >= _MIN_PIECE or (b > a and any(w0 < b and w1 > a for w0, w1 in words))]


def summary(cuts: Sequence[Cut]) -> dict[str, Any]:
    """Counts for the index and summary.json: cuts applied per reason, seconds removed."""
    applied = [c for c in cuts if c.applied]
    by: dict[str, int] = {}
    for c in applied:
        by[c.reason] = by.get(c.reason, 0) + 1
    return {"applied": len(applied), "proposed": len(cuts), "by_reason": by,
            "removed": seconds(sum(c.duration for c in applied)),
            "silence_removed": seconds(sum(c.duration for c in applied
                                           if c.reason == "silence"))}


def describe(counts: Mapping[str, Any]) -> str:
    """'2 retakes cut, 14 s of silence shortened' for the index."""
    by = counts.get("by_reason", {})
    parts = []
    retakes = by.get("retake", 0) + by.get("false_start", 0)
    if retakes:
        parts.append(f"{retakes} retake{'s' * (retakes != 1)} cut")
    if by.get("unscripted"):
        parts.append(f"{by['unscripted']} aside{'s' * (by['unscripted'] != 1)} cut")
    if by.get("manual"):
        parts.append(f"{by['manual']} editor cut{'s' * (by['manual'] != 1)}")
    silence = float(counts.get("silence_removed", 0))
    if silence:
        parts.append(f"{silence:.0f} s of silence shortened")
    return ", ".join(parts)


def kept_levels(track: LoudnessTrack, speech: Sequence[tuple[int, int]],
                spans: Sequence[tuple[int, int]],
                ) -> tuple[LoudnessTrack, list[tuple[int, int]], int, int]:
    """A take's loudness track and speech as the cut lesson plays them: (track, speech,
    start, end) for pipeline.audio.qa.lesson_audio, so loudness is measured after the cuts.
    An uncut take (one span) is given as it is."""
    if len(spans) == 1:
        return track, list(speech), spans[0][0], spans[0][1]
    blocks = [np.arange(a // BLOCK, min(len(track.power), max(a // BLOCK, b // BLOCK)))
              for a, b in spans]
    index = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int64)
    where = {int(b): k for k, b in enumerate(index)}
    hum = [k for k, b in enumerate(track.hum_block.tolist()) if b in where]
    cut = LoudnessTrack(track.power[index], track.peak[index], track.clipped[index],
                        np.array([where[int(track.hum_block[k])] for k in hum], dtype=np.int32),
                        track.hum[hum].reshape(-1, 5))
    moved: list[tuple[int, int]] = []
    at = 0
    for a, b in spans:
        moved += [(max(s, a) - a + at, min(e, b) - a + at) for s, e in speech if e > a and s < b]
        at += b - a
    return cut, moved, 0, len(index) * BLOCK


# --- an editor's choices: the `cuts:` list of the lesson's sidecar <stem>.cues.yaml ------

CHOICES_KEY = "cuts"


@dataclass(frozen=True, slots=True)
class Choice:
    """One line of the sidecar's ``cuts:`` (caption timeline ms): ``restore`` the proposed
    cut at ``at``; change it to [start, end] (``at`` with ``from``/``to``); or add a cut
    [start, end] (``from``/``to`` alone)."""

    at: int | None
    start: int | None
    end: int | None
    restore: bool
    line: int

    @property
    def adds(self) -> bool:
        return self.at is None


def read_choices(path: Path, text: str | None = None) -> list[Choice]:
    """The ``cuts:`` list of a sidecar (none when the file or the key is absent). Bad
    entries, and added cuts that overlap each other, are errors naming their line.
    ``text``: the sidecar's text, read from ``path`` when not given."""
    import yaml

    from pipeline.align.overrides import _time

    if text is None and not path.is_file():
        return []
    try:
        root = yaml.compose(path.read_text(encoding="utf-8") if text is None else text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CutsError(f"cannot read the cut choices: {exc}", path) from None
    if not isinstance(root, yaml.MappingNode):
        return []
    node = next((v for k, v in root.value if k.value == CHOICES_KEY), None)
    if node is None or isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise CutsError("'cuts' must be a list like {restore: TIME} or {from: TIME, to: TIME}",
                        path, node.start_mark.line + 1)
    out: list[Choice] = []
    for item in node.value:
        line = item.start_mark.line + 1
        value = yaml.safe_load(yaml.serialize(item))
        if not isinstance(value, dict) or set(value) - {"restore", "at", "from", "to", "note"}:
            raise CutsError("a cut choice is {restore: TIME}, {at: TIME, from: TIME, to: TIME} "
                            "or {from: TIME, to: TIME} (caption timeline; note: optional)",
                            path, line)

        def time(key: str, value: dict[str, Any] = value, line: int = line) -> int | None:
            return None if value.get(key) is None else _time(value[key], path, line)

        restore, at, start, end = time("restore"), time("at"), time("from"), time("to")
        if restore is not None and (at is not None or start is not None or end is not None):
            raise CutsError("'restore' stands alone: {restore: TIME}", path, line)
        if restore is None and (start is None or end is None):
            raise CutsError("a cut choice needs 'from' and 'to' (or 'restore')", path, line)
        if start is not None and end is not None and end <= start:
            raise CutsError("a cut ends ('to') before it starts ('from')", path, line)
        out.append(Choice(restore if restore is not None else at, start, end,
                          restore is not None, line))
    added = sorted((c for c in out if c.adds), key=lambda c: c.start or 0)
    for a, b in itertools.pairwise(added):
        if (b.start or 0) < (a.end or 0):
            raise CutsError(f"this cut overlaps the one at line {a.line}", path, b.line)
    return out


def apply_choices(cuts: Sequence[Cut], choices: Sequence[Choice], takes: Sequence[TakeSpeech],
                  offsets: Sequence[int], spans: Sequence[tuple[int, int]], path: Path,
                  ) -> tuple[list[Cut], list[str]]:
    """The proposed ``cuts`` with the editor's ``choices`` made: restored, widened or
    narrowed, and added. ``offsets``: each take's caption-to-recording offset; ``spans``:
    the caption-timeline span each take shows. A choice naming no proposed cut, or a cut
    outside every take (an edit list from an older recording), is a warning and left out:
    nothing is cut that the editor did not see."""
    out = list(cuts)
    warnings: list[str] = []
    for choice in choices:
        where = f"{path}:{choice.line}"
        if not choice.adds:
            at = choice.at or 0
            k = next((n for n, c in enumerate(out) if c.kind == "auto" and c.start
                      <= at + offsets[c.take] < c.end), None)
            if k is None:
                warnings.append(f"{where}: warning: no proposed cut at {seconds(at):.3f} s "
                                "(the recording or the script changed?): choice ignored")
                continue
            cut = out[k]
            if choice.restore:
                out[k] = replace(cut, applied=False, kind="restored")
                continue
            start, end = (choice.start or 0) + offsets[cut.take], (choice.end or 0) + offsets[
                cut.take]
            out[k] = replace(cut, start=_snap(takes[cut.take], start),
                             end=_snap(takes[cut.take], end), applied=True, kind="changed")
            continue
        take = next((n for n, (a, b) in enumerate(spans)
                     if a <= (choice.start or 0) and (choice.end or 0) <= b), None)
        if take is None:
            warnings.append(f"{where}: warning: the cut {seconds(choice.start or 0):.3f}-"
                            f"{seconds(choice.end or 0):.3f} s is outside every recording "
                            "(an edit list from an older recording?): not applied")
            continue
        t = takes[take]
        start, end = (choice.start or 0) + offsets[take], (choice.end or 0) + offsets[take]
        said = " ".join(" ".join(w[3]) for w in t.words if w[0] < end and w[1] > start)
        out.append(Cut(take, _snap(t, start), _snap(t, end), "manual", said, "manual"))
    return sorted(out, key=lambda c: (c.take, c.start)), warnings


def _snap(take: TakeSpeech, t: int) -> int:
    """An editor's cut point moved to the quietest frame edge within 60 ms of it."""
    return quietest(take, t - 60, t + 60, t)


def restore_line(cut: Cut, offset: int) -> str:
    """The sidecar line that restores ``cut`` (under ``cuts:`` in <stem>.cues.yaml)."""
    from pipeline.timecode import format_clock

    return f'- {{restore: "{format_clock(cut.start - offset + cut.duration // 2)}"}}'

# --- the lesson's edit: the cuts proposed from its alignment, made, applied -------------

_OPEN_END = 10**12  # a caption time past every recording (pipeline.lesson.OPEN_END)


@dataclass(frozen=True, slots=True)
class Edit:
    """The lesson's cuts (applied or only proposed), what each take keeps of itself
    (recording ms), those kept pieces joined (the output timeline goes through them),
    cues moved off removed material, and warnings."""

    cuts: tuple[Cut, ...]
    kept: tuple[tuple[tuple[int, int], ...], ...]  # per take
    pieces: tuple[Take, ...]
    moved: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    removed: tuple[dict[str, Any], ...] = ()  # captions whose words were all cut

    def to_json(self, takes: Sequence[Take]) -> dict[str, Any]:
        out = []
        for cut in self.cuts:
            take = takes[cut.take]
            doc = cut.to_json(take.offset) | {"file": take.path.name}
            doc["output"] = seconds(removed_to_output(self.pieces, cut.end, take))
            out.append(doc)
        return {"cuts": out, "summary": summary(self.cuts), "moved": list(self.moved),
                "warnings": list(self.warnings), "removed_captions": list(self.removed),
                "kept": [[[seconds(a), seconds(b)] for a, b in spans] for spans in self.kept]}

    def track(self, takes: Sequence[Take]) -> Any:
        """The OTIO edit track: the kept pieces of the raw recordings, and every cut."""
        from pipeline.align.markers import EditTrack

        return EditTrack([(p.path, p.trim, p.duration) for p in self.pieces],
                         [(removed_to_output(self.pieces, c.end, takes[c.take]),
                           f"{'CUT' if c.applied else 'KEPT'}: {c.label()}"
                           + (f": {c.words}" if c.words else ""), c.applied,
                           c.to_json(takes[c.take].offset)) for c in self.cuts])

    def rows(self, takes: Sequence[Take], applying: bool = True) -> list[dict[str, Any]]:
        """The cuts as align.html lists them (``applying``: False under --no-cuts)."""
        from pipeline.timecode import format_clock

        status = {"auto": "cut", "manual": "editor's cut", "changed": "cut (changed by editor)",
                  "restored": "kept: restored by editor"}
        out = []
        for cut in self.cuts:
            take = takes[cut.take]
            at = removed_to_output(self.pieces, cut.end, take)
            out.append({
                "label": cut.label(), "words": cut.words, "file": take.path.name,
                "span": f"{format_clock(cut.start)}–{format_clock(cut.end)}",
                "length": f"{cut.duration / 1000:.1f} s", "output": seconds(at),
                "output_clock": format_clock(at), "applied": cut.applied,
                "status": status.get(cut.kind, cut.kind) if cut.applied or cut.kind == "restored"
                else "kept (settings)" if applying else "not applied (--no-cuts)",
                "restore": restore_line(cut, take.offset)})
        return out


def lesson_cut_settings(lesson: Lesson, base: CutSettings) -> CutSettings:
    """The course's [cuts] (``base``) with the lesson's frontmatter ``cuts:`` over it."""
    from pipeline.audio.sync import frontmatter_line

    try:
        return cut_settings(lesson.frontmatter.get("cuts"), lesson.path, base)
    except CutsError as exc:
        raise CutsError(exc.message, lesson.path, frontmatter_line(lesson.path, "cuts")) from None


def take_speech(lesson: Lesson, takes: Sequence[Take], analyses: Sequence[Analysis],
                timing: Timing | None, captions: Sequence[Caption],
                frame_ms: Sequence[float]) -> list[TakeSpeech]:
    """What each take holds, for pipeline.cuts: the script's timed words and the speech
    no script word covers (a lesson captioned from its recordings), else the captions."""
    from pipeline.align.words import tokenize

    unsaid = unscripted_captions(lesson, captions) if timing is None else set()
    out = []
    for k, (take, analysis) in enumerate(zip(takes, analyses, strict=True)):
        if timing is not None:
            words = sorted((w.start, w.end, i, w.word.norms) for i, w in enumerate(timing.words)
                           if w.take == k and w.heard)
            strays = tuple((s.start, s.end, s.text) for s in timing.unscripted if s.take == k)
        else:  # given captions: a caption the script does not say (the earlier saying of
            # a retaken sentence, an aside) is speech no script word covers, whole captions
            # only (caption words are timed by splitting the caption: too coarse to cut by)
            inside = [(i, c) for i, c in enumerate(captions)
                      if c.end + take.offset > 0 and c.start + take.offset < take.duration]
            words = sorted((c.start + take.offset, c.end + take.offset, i,
                            tuple(t.norm for t in tokenize(c.text)))
                           for i, c in inside if i not in unsaid)
            strays = tuple((c.start + take.offset, c.end + take.offset,
                            c.text.replace("\n", " ")) for i, c in inside if i in unsaid)
        out.append(TakeSpeech(take.duration, tuple(words), strays, analysis.speech,
                              analysis.loudness.frames, frame_ms[k]))
    return out


def unscripted_captions(lesson: Lesson, captions: Sequence[Caption]) -> set[int]:
    """Indexes of the captions none of whose words the script's narration was aligned to
    (the word aligner keeps a retaken sentence's last saying: the earlier one is here)."""
    from pipeline.align.words import align_words, tokenize

    script = [t.norm for n in lesson.narration for t in tokenize(n.text)]
    owner = [i for i, c in enumerate(captions) for _ in tokenize(c.text.replace("\n", " "))]
    said = [t.norm for c in captions for t in tokenize(c.text.replace("\n", " "))]
    if not script or not said:
        return set()
    matched = {owner[j] for j in align_words(script, said).target.tolist() if j >= 0}
    return {i for i, c in enumerate(captions)
            if i not in matched and len(tokenize(c.text)) >= 2}


def plan_edit(lesson: Lesson, takes: Sequence[Take], analyses: Sequence[Analysis],
              timing: Timing | None, captions: Sequence[Caption], aligned: AlignResult,
              settings: CutSettings, apply: bool, frame_ms: Sequence[float]) -> Edit:
    """The cuts proposed from the alignment (the course's ``settings``, the lesson's
    frontmatter over them), the editor's choices made, those applied (none unless
    ``apply``), the pieces each take keeps, and the cues their cut moment moved."""
    from pipeline.align.overrides import sidecar_path

    speech = take_speech(lesson, takes, analyses, timing, captions, frame_ms)
    cuts = propose(speech, lesson_cut_settings(lesson, settings))
    side = sidecar_path(lesson.path)  # the editor's choices: restored, changed, added
    cuts, warnings = apply_choices(cuts, read_choices(side), speech,
                                   [t.offset for t in takes],
                                   [t.caption_span() for t in takes], side)
    if not apply:
        cuts = [replace(c, applied=False) for c in cuts]

    def kept_of(cuts: Sequence[Cut]) -> list[tuple[tuple[int, int], ...]]:
        return [tuple(kept_spans(t.trim, t.duration, [c for c in cuts if c.take == k],
                                 [(w[0], w[1]) for w in speech[k].words]))
                for k, t in enumerate(takes)]

    kept = kept_of(cuts)
    if any(not spans for spans, t in zip(kept, takes, strict=True) if t.length):
        warnings.append(f"{lesson.path}: warning: the cuts would remove a whole take; "
                        "rendered uncut")
        cuts = [replace(c, applied=False) for c in cuts]
        kept = kept_of(cuts)
    pieces = cut_takes(takes, kept)
    moved = []
    for cue in aligned.cues:
        take = take_at(takes, cue.start)
        if take is not None and take_at(pieces, cue.start) is None:
            at = removed_to_output(pieces, cue.start + take.offset, take)
            moved.append({"kind": cue.cue.kind, "text": cue.cue.text, "line": cue.cue.line,
                          "caption_time": seconds(cue.start), "output": seconds(at),
                          "reason": "its moment was cut: shown at the next kept moment"})
    return Edit(tuple(cuts), tuple(kept), tuple(pieces), tuple(moved), tuple(warnings))


def cue_span(pieces: Sequence[Take], takes: Sequence[Take], start: int,
             end: int) -> tuple[int, int] | None:
    """A cue's span on the output timeline; a cue whose moment was cut shows from the next
    kept moment (never inside removed material, never lost to a cut)."""
    span = span_to_output(pieces, start, end)
    if span is not None or pieces is takes:
        return span
    take = take_at(takes, start)
    if take is None:
        return None
    at = removed_to_output(pieces, start + take.offset, take)
    return at, at + max(0, min(end, _OPEN_END) - start)
