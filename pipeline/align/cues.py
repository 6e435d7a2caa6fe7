"""Cues -> times on the caption timeline.

The script's narration words are aligned to the caption words as a whole
(:func:`pipeline.align.words.align_words`). A cue sits between two narration words; its
anchor is the moment the speaker passes that place: right after the last word before the
cue was spoken (or, when that word was not recorded, right before the first word after it).
Inside a caption, a word's time is the caption's time split by characters.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.align.overrides import Override, cue_ids, load_overrides, normalize_text
from pipeline.align.words import EXACT, SOUND, Alignment, align_words, stem, tokenize
from pipeline.captions.profiles import Profile
from pipeline.models import Caption, Cue, Lesson
from pipeline.script.cues import CUE_START
from pipeline.script.parse import plain_text
from pipeline.timecode import format_clock, seconds

WORDS_PER_MINUTE = 150  # speaking rate for scripts without captions
READ_MIN_MS, READ_MAX_MS = 2_500, 8_000  # how long a VISUAL TEXT may stay up for reading
_CHARS_PER_WORD = 6.0  # average English word plus its space, to turn wpm into cps
_NOTICE_MS = 1_000  # time to notice an overlay before reading it
_WINDOW = 6  # narration words each side of a cue that judge its confidence
_CONTEXT_CHARS = 90  # script context shown in the report, each side


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A place for a cue the analysis prefers to the script's, offered in the report."""

    start: int  # ms, caption timeline
    text: str  # why, and the question to the editor


@dataclass(frozen=True, slots=True)
class AlignedCue:
    cue: Cue
    start: int  # ms, caption timeline
    end: int  # ms
    caption_index: int  # Caption.index spoken at the anchor (0: none)
    confidence: float  # 0..1
    method: str  # "text" | "estimated" | "override"
    id: str = ""  # short stable id (overrides, report)
    before: str = ""  # script words just before the cue
    after: str = ""  # script words just after it
    anchor_char: int = -1  # offset in the caption's text where the anchor falls
    anchor_word: int = -1  # the caption's word (whitespace-split, 0-based) at the anchor
    reason: str = ""  # why the confidence is what it is, for the report
    suggestion: Suggestion | None = None  # another place the editor may prefer, never applied

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.cue.kind, "text": self.cue.text, "line": self.cue.line,
                "start": seconds(self.start), "end": seconds(self.end),
                "caption_index": self.caption_index, "confidence": round(self.confidence, 3),
                "method": self.method}


@dataclass(frozen=True, slots=True)
class AlignResult:
    cues: tuple[AlignedCue, ...]
    coverage: float  # share of narration words matched to caption words
    captions: tuple[Caption, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"cues": [c.to_json() for c in self.cues], "coverage": round(self.coverage, 3)}


_ANY_CUE = re.compile(r"`?\[\s*[A-Z][A-Z0-9 _-]{1,30}?\s*:[^\]]*\]`?")
_TRAILING = frozenset(".,;:?!\"')”’…")


@dataclass(frozen=True, slots=True)
class _Words:
    """Tokens of one side with where they came from."""

    norms: list[str]
    unit: list[int]  # narration line / caption position
    start: list[int]  # character span in the unit's text
    end: list[int]


def _words(texts: Sequence[str]) -> _Words:
    norms: list[str] = []
    unit: list[int] = []
    start: list[int] = []
    end: list[int] = []
    for k, text in enumerate(texts):
        for token in tokenize(text):
            norms.append(token.norm)
            unit.append(k)
            start.append(token.start)
            stop = token.end  # trailing punctuation belongs to the word it follows
            while stop < len(text) and text[stop] in _TRAILING:
                stop += 1
            end.append(stop)
    return _Words(norms, unit, start, end)


def _caption_text(caption: Caption) -> str:
    return caption.text.replace("\n", " ")


class _Timeline:
    """Caption words placed in time: each caption's span split by characters."""

    def __init__(self, captions: Sequence[Caption], words: _Words):
        self.captions = captions
        self.words = words
        self.lengths = [max(1, len(_caption_text(c).rstrip())) for c in captions]

    def at_char(self, pos: int, char: int) -> int:
        c = self.captions[pos]
        length = self.lengths[pos]
        return c.start + (max(c.end, c.start) - c.start) * min(char, length) // length

    def word_start(self, j: int) -> int:
        return self.at_char(self.words.unit[j], self.words.start[j])

    def word_end(self, j: int) -> int:
        return self.at_char(self.words.unit[j], self.words.end[j])

    def caption_at(self, ms: int) -> int:
        """Position of the caption being spoken at ``ms`` (the next one in a pause)."""
        starts = [c.start for c in self.captions]
        k = bisect.bisect_right(starts, ms) - 1
        if k >= 0 and ms <= self.captions[k].end:
            return k
        return min(k + 1, len(self.captions) - 1)


log = logging.getLogger(__name__)


def reading_cps(profile: Profile) -> float:
    """A caption profile's reading speed in characters a second (from its wpm if need be)."""
    if profile.max_cps:
        return profile.max_cps
    if profile.max_wpm:
        return profile.max_wpm * _CHARS_PER_WORD / 60
    return 20.0


def align_cues(lesson: Lesson, captions: Sequence[Caption] | None = None, *,
               max_cps: float = 20.0,
               overrides: Sequence[Override] | None = None) -> AlignResult:
    """Place every cue of ``lesson`` on the caption timeline.

    ``captions`` default to the lesson's embedded captions; ``overrides`` default to the pins
    in the lesson's frontmatter and sidecar file (pass ``()`` to ignore them).
    """
    caps = tuple(lesson.captions if captions is None else captions)
    pins = load_overrides(lesson) if overrides is None else tuple(overrides)
    script = _words([n.text for n in lesson.narration])
    positions = _positions(lesson, [lesson.narration[u].line for u in script.unit])
    if caps:
        timeline = _Timeline(caps, _words([_caption_text(c) for c in caps]))
        evidence = _Evidence.of(align_words(script.norms, timeline.words.norms), script.norms)
        coverage = evidence.alignment.coverage

        def place(pos: int) -> _Placement:
            return _anchor(pos, evidence, timeline)
    else:
        coverage = 0.0

        def place(pos: int) -> _Placement:
            return _Placement(pos * 60_000 // WORDS_PER_MINUTE, -1, 0.1, "estimated", -1,
                              f"no captions: time estimated from {WORDS_PER_MINUTE} words"
                              " a minute")
    placed = [place(pos) for pos in positions]

    ids = cue_ids(lesson.cues)
    warnings: list[str] = []
    pinned = _match_pins(lesson.cues, ids, pins, warnings)
    suggestions = {k: _suggestion(found, place(found[0]).start, placed[k].start)
                   for k, cue in enumerate(lesson.cues)
                   if cue.kind == "visual_text" and k not in pinned
                   and (found := _summed_sentence(cue, positions[k], lesson, script)) is not None}
    for k, pin in pinned.items():
        placed[k] = _Placement(pin.start, timeline.caption_at(pin.start) if caps else -1, 1.0,
                               "override", -1, f"pinned by the editor at {pin.where}")

    starts = [p.start for p in placed]
    last_ms = max((c.end for c in caps), default=len(script.norms) * 60_000 // WORDS_PER_MINUTE)
    context = _Context(lesson, script)
    out: list[AlignedCue] = []
    for k, (cue, p) in enumerate(zip(lesson.cues, placed, strict=True)):
        end = pinned[k].end if k in pinned else None
        if end is None:
            end = _end(k, lesson.cues, starts, last_ms, max_cps)
        caption = caps[p.caption] if caps and p.caption >= 0 else None
        out.append(AlignedCue(
            cue=cue, start=p.start, end=max(end, p.start), confidence=round(p.confidence, 3),
            method=p.method, caption_index=caption.index if caption else 0, id=ids[k],
            before=context.before(positions[k]), after=context.after(positions[k]),
            anchor_char=p.char, anchor_word=_word_at(caption.text, p.char) if caption else -1,
            reason=p.reason, suggestion=suggestions.get(k),
        ))
    log.info("%s: %d cues aligned to %d captions, coverage %.0f%%", lesson.path, len(out),
             len(caps), 100 * coverage)
    return AlignResult(tuple(out), coverage, caps, tuple(warnings))


class _Context:
    """The script's narration as one text, to quote the words around a place in it."""

    def __init__(self, lesson: Lesson, script: _Words):
        narration = [n.text for n in lesson.narration]
        self.text = " ".join(narration)
        line_at = np.cumsum([0] + [len(t) + 1 for t in narration]).tolist()
        self.offsets = [line_at[u] + c for u, c in zip(script.unit, script.start, strict=True)]

    def _offset(self, pos: int) -> int:
        return self.offsets[pos] if pos < len(self.offsets) else len(self.text)

    def before(self, pos: int) -> str:
        return _context(self.text[:self._offset(pos)], before=True)

    def after(self, pos: int) -> str:
        return _context(self.text[self._offset(pos):], before=False)


def _word_at(text: str, char: int) -> int:
    """Index of the whitespace-split word ending at or starting after ``char``."""
    if char < 0:
        return -1
    head = text[:char].split()
    if head and char <= len(text) and (char == len(text) or text[char].isspace()):
        return len(head) - 1  # the anchor follows this word
    return len(head)


def _positions(lesson: Lesson, lines: list[int]) -> list[int]:
    """Each cue's place in the narration: the number of script words spoken before it.

    A cue on a line of its own follows every narration line above it. A cue written inside
    a narration line ("...first. `[VISUAL TEXT: x]` Then...") follows the words before it
    on that line, counted from the script's own text."""
    spoken_lines = {n.line for n in lesson.narration}
    raw: list[str] = []
    if any(c.line in spoken_lines for c in lesson.cues):
        try:
            raw = lesson.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            raw = []
    out = []
    seen: dict[int, int] = {}
    for cue in lesson.cues:
        pos = bisect.bisect_left(lines, cue.line)
        nth = seen.get(cue.line, 0)
        seen[cue.line] = nth + 1
        if cue.line in spoken_lines and cue.line <= len(raw):
            pos += _words_before_cue(raw[cue.line - 1], nth)
        out.append(pos)
    return out


_SENTENCE_END = re.compile(r"[.?!][\"')”’]*(?=\s|$)")
_FILLER = frozenset([
    "the", "and", "for", "with", "your", "you", "our", "are", "was", "were", "that", "this",
    "these", "those", "from", "into", "not", "but", "can", "will", "its", "than", "then",
    "have", "has",
])
_SUMMED = 0.5  # share of a VISUAL TEXT's words a sentence must hold to be the one it sums up


def _content(text: str) -> set[str]:
    return {stem(t.norm) for t in tokenize(text)
            if len(t.norm) >= 3 and not t.norm.isdigit() and t.norm not in _FILLER}


def _summed_sentence(cue: Cue, pos: int, lesson: Lesson, script: _Words,
                     ) -> tuple[int, str] | None:
    """A VISUAL TEXT that sums up one sentence of the paragraph above it, followed there by
    sentences that say nothing of its items, could appear when that sentence ends rather
    than wait through the unrelated rest of the paragraph. Only ever a suggestion: the cue
    stays where the author wrote it. Returns (that place in the narration, the sentence)
    or None."""
    if pos == 0:
        return None
    unit = script.unit[pos - 1]
    line = lesson.narration[unit]
    if line.line >= cue.line:  # written inside the line: its place is exact already
        return None
    wanted = _content(" ".join(cue.items) or cue.text)
    if len(wanted) < 2:
        return None
    ends = [m.end() for m in _SENTENCE_END.finditer(line.text)]
    first = bisect.bisect_left(script.unit, unit)
    sentences: dict[int, list[int]] = {}  # sentence number -> its token indexes
    for t in range(first, pos):
        sentences.setdefault(bisect.bisect_right(ends, script.start[t]), []).append(t)
    if len(sentences) < 2:
        return None
    order = sorted(sentences)
    texts = {n: line.text[script.start[sentences[n][0]]:script.end[sentences[n][-1]]]
             for n in order}
    share = {n: len(wanted & _content(texts[n])) / len(wanted) for n in order}
    best = max(order, key=lambda n: share[n])
    later = order[order.index(best) + 1:]
    if best == order[-1] or share[best] < _SUMMED or any(share[n] > 0 for n in later):
        return None
    return sentences[best][-1] + 1, texts[best]


def _suggestion(found: tuple[int, str], at: int, placed: int) -> Suggestion | None:
    """The earlier moment a VISUAL TEXT that sums up one sentence could appear."""
    if at >= placed:
        return None
    return Suggestion(at, f"the items sum up the sentence that ends at {format_clock(at)}"
                          f" (“{found[1]}”): move the cue up?")


def _words_before_cue(line: str, nth: int) -> int:
    """Narration words on ``line`` before its ``nth`` cue (0-based)."""
    starts = [m.start() for m in CUE_START.finditer(line)]
    if nth >= len(starts):
        return 0
    before = _ANY_CUE.sub(" ", line[:starts[nth]])
    return len(tokenize(plain_text(before)))


def _context(text: str, before: bool) -> str:
    text = text.strip()
    if len(text) <= _CONTEXT_CHARS:
        return text
    if before:
        cut = text[-_CONTEXT_CHARS:]
        return "…" + cut[cut.find(" ") + 1:] if " " in cut else "…" + cut
    cut = text[:_CONTEXT_CHARS]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def _match_pins(cues: tuple[Cue, ...], ids: list[str], pins: Sequence[Override],
                warnings: list[str]) -> dict[int, Override]:
    by_text: dict[str, list[int]] = {}
    for k, cue in enumerate(cues):
        by_text.setdefault(normalize_text(cue.text), []).append(k)
    pinned: dict[int, Override] = {}
    for pin in pins:
        if pin.id is not None:
            hits = [k for k, i in enumerate(ids) if i == pin.id]
        else:
            hits = by_text.get(pin.text or "", [])
        if not hits:
            what = f"id {pin.id}" if pin.id is not None else f"text {pin.text!r}"
            warnings.append(f"{pin.where}: override names no cue in the script ({what});"
                            " the cue was edited or removed")
            continue
        for k in hits:
            if k in pinned:
                warnings.append(f"{pin.where}: cue already pinned at {pinned[k].where};"
                                " the later pin wins")
            pinned[k] = pin
    return pinned


def _end(k: int, cues: tuple[Cue, ...], starts: list[int], last_ms: int, max_cps: float) -> int:
    cue, start = cues[k], starts[k]
    later = [starts[q] for q in range(len(cues)) if q != k and cues[q].kind == cue.kind
             and (starts[q] > start or (starts[q] == start and q > k))]
    next_same = min(later, default=None)
    if cue.kind == "main_panel":
        return max(start, next_same if next_same is not None else last_ms)
    chars = sum(len(item) for item in cue.items) or len(cue.text)
    read = int(_NOTICE_MS + 1000 * chars / max_cps)
    end = start + min(READ_MAX_MS, max(READ_MIN_MS, read))
    return min(end, next_same) if next_same is not None else end


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where one cue landed, before its end is known."""

    start: int  # ms
    caption: int  # position in the caption list (-1: none)
    confidence: float
    method: str
    char: int  # offset of the anchor in the caption's text (-1: none)
    reason: str


@dataclass(frozen=True, slots=True)
class _Evidence:
    """The alignment plus what confidence is judged from, computed once per lesson."""

    alignment: Alignment
    matched: np.ndarray  # script word indexes matched to a caption word
    support: np.ndarray  # per script word: match quality, halved when matched alone
    anchors: np.ndarray  # script word indexes inside anchors (n-grams found as often on each side)
    weight: np.ndarray  # per script word: 1 for a distinctive word, less for a common one
    used: np.ndarray  # caption word indexes matched to some script word, sorted

    @staticmethod
    def of(al: Alignment, norms: Sequence[str]) -> _Evidence:
        matched = np.flatnonzero(al.target >= 0)
        return _Evidence(al, matched, _support(al), np.flatnonzero(al.anchored),
                         _informative(norms), np.sort(al.target[matched]))

    def used_between(self, j0: int, j1: int) -> int:
        """Caption words strictly between ``j0`` and ``j1`` matched to script words."""
        return int(np.searchsorted(self.used, j1) - np.searchsorted(self.used, j0, "right"))


_MAX_AD_LIB = 12  # more unscripted words than this between a cue's neighbours is a seam
_SEAM_CONFIDENCE = 0.45  # a cue at a seam is flagged for the editor
_ANCHOR_REACH = 30  # a cue with no anchor this many words away is doubtful
_RETAKE_REACH = 30  # script words before a cue whose retake concerns it
_RETAKE_CONFIDENCE = 0.75  # a cue next to a retake: likely right, worth a look


def _anchor(pos: int, ev: _Evidence, tl: _Timeline) -> _Placement:
    """Where a cue standing before script word ``pos`` lands, and how sure that is."""
    target = ev.alignment.target
    matched = ev.matched
    k = int(np.searchsorted(matched, pos))
    prev_i = int(matched[k - 1]) if k > 0 else None
    next_i = int(matched[k]) if k < len(matched) else None
    if prev_i is None and next_i is None:  # nothing matched: spread over the captions
        first, last = tl.captions[0].start, max(c.end for c in tl.captions)
        start = first + (last - first) * pos // max(1, len(target))
        return _Placement(start, tl.caption_at(start), 0.05, "estimated", -1,
                          "no narration word found in the captions: time estimated from the"
                          " cue's place in the script")

    support, weight = ev.support, ev.weight
    lo, hi = max(0, pos - _WINDOW), pos + _WINDOW
    q_before = _side_quality(support[lo:pos][::-1], weight[lo:pos][::-1])
    q_after = _side_quality(support[pos:hi], weight[pos:hi])
    sides = [q for q, has in ((q_before, pos > 0), (q_after, pos < len(support))) if has]
    q = sum(sides) / len(sides) if sides else 0.0
    reasons: list[str] = []
    factor = 1.0
    a = int(np.searchsorted(ev.anchors, pos))
    near = [abs(int(ev.anchors[x]) - pos) for x in (a - 1, a) if 0 <= x < len(ev.anchors)]
    if min(near, default=_ANCHOR_REACH + 1) > _ANCHOR_REACH:
        factor *= 0.6
        reasons.append(f"no distinctive phrase matched within {_ANCHOR_REACH} words")

    j_prev = int(target[prev_i]) if prev_i is not None else None
    j_next = int(target[next_i]) if next_i is not None else None
    side = "next" if j_prev is None else "prev" if j_next is None else ""
    seam = False
    retakes = ev.alignment.retakes
    said_before = int(retakes[max(0, pos - _RETAKE_REACH):pos].max(initial=0))
    said_after = int(retakes[pos]) if pos < len(retakes) and next_i == pos else 0
    if said_before:
        reasons.append(f"the words before the cue were said {said_before + 1} times (a retake"
                       " or false start): placed after the last take")
    if said_after and j_prev is not None:
        # The caption words at the cue are an earlier take of the words after it: the cue
        # goes where the take the editor keeps begins.
        side = "next"
        reasons.append(f"the words after the cue were said {said_after + 1} times (a retake"
                       " or false start): placed before the last take")
    elif j_prev is not None and j_next is not None and prev_i is not None and next_i is not None:
        extra = j_next - j_prev - 1  # caption words spoken between the two neighbours
        if j_next <= j_prev or (extra > _MAX_AD_LIB and prev_i == pos - 1 and next_i == pos):
            # A seam: the words before and after the cue were not spoken one after the
            # other. The cue may belong to either side; the editor decides.
            seam = True
            elsewhere = j_next <= j_prev or ev.used_between(j_prev, j_next) > extra // 2
            reasons.append("the narration around the cue was recorded in another order"
                           if elsewhere else
                           f"{extra} words not in the script were spoken at the cue")
            side = "prev" if pos - 1 - prev_i <= next_i - pos else "next"
        elif prev_i == pos - 1:
            side = "prev"
            if extra and next_i == pos:
                factor *= 1 - min(0.3, 0.03 * extra)
                reasons.append(f"{extra} unscripted word{'s' * (extra > 1)} spoken at the cue")
        elif next_i == pos:
            side = "next"
    if side == "prev" and j_prev is not None:
        last = _sentence_end(tl, j_prev, j_next)
        start = tl.word_end(last)
        cap, char = tl.words.unit[last], tl.words.end[last]
    elif side == "next" and j_next is not None:
        start = tl.word_start(j_next)
        cap, char = tl.words.unit[j_next], tl.words.start[j_next]
    else:  # neither neighbour was recorded: between the nearest words that were
        assert prev_i is not None and next_i is not None
        assert j_prev is not None and j_next is not None
        frac = (pos - prev_i - 0.5) / (next_i - prev_i)
        t0, t1 = tl.word_end(j_prev), tl.word_start(j_next)
        start = t0 + int((t1 - t0) * frac)
        cap, char = tl.caption_at(start), -1
        reasons.append("placed between the nearest script words found in the captions")
    if q < 0.5:
        reasons.insert(0, "the narration around the cue was not found in the captions"
                          " (not recorded, or reworded)")
    conf = 0.1 + 0.85 * q * factor
    if said_before or said_after:
        conf = min(conf, _RETAKE_CONFIDENCE)
    if seam:
        conf = min(conf, _SEAM_CONFIDENCE)
        reasons.append("check whether it belongs after the words before it or before the"
                       " words after it")
    return _Placement(start, cap, conf, "text", char, "; ".join(reasons))


_MAX_TAIL = 3  # unscripted words that may finish the sentence before a cue


def _sentence_end(tl: _Timeline, j: int, j_next: int | None) -> int:
    """The caption word ending the sentence that word ``j`` is in, when a few unscripted
    words finish it ("...just in an amplified | way.") before the next scripted word."""
    limit = min(j + _MAX_TAIL, (j_next if j_next is not None else len(tl.words.norms)) - 1)
    for k in range(j, limit + 1):
        if _ends_sentence(tl, k):
            return k
    return j


def _ends_sentence(tl: _Timeline, k: int) -> bool:
    """Word ``k`` is followed by sentence punctuation or ends its caption."""
    words = tl.words
    text = _caption_text(tl.captions[words.unit[k]]).rstrip()
    return words.end[k] >= len(text) or any(p in text[words.end[k] - 1] for p in ".?!;:")


_MISHEARD = 0.7  # support of a substituted word held in place by matches on both sides


def _support(al: Alignment) -> np.ndarray:
    """Match quality, halved for a word matched alone: a real stretch of speech matches in
    runs (neighbour to neighbour), while chance matches of common words stand alone."""
    t = al.target
    prev_ok = np.zeros(len(t), dtype=bool)
    next_ok = np.zeros(len(t), dtype=bool)
    prev_ok[1:] = (t[1:] >= 0) & (t[:-1] >= 0) & (np.abs(t[1:] - t[:-1] - 1) <= 1)
    next_ok[:-1] = prev_ok[1:]
    quality = al.quality.copy()
    good = quality >= SOUND
    held = np.zeros(len(t), dtype=bool)  # a substitution with matched words on both sides:
    held[1:-1] = prev_ok[1:-1] & next_ok[1:-1] & good[:-2] & good[2:]  # a misheard word
    quality[held & (quality < SOUND)] = _MISHEARD
    return np.where(prev_ok | next_ok, quality, quality * 0.5)


def _side_quality(q: np.ndarray, informative: np.ndarray) -> float:
    """Weighted match quality of the words on one side: nearest words and rare words weigh
    most (a matched "the" says little; a matched "beachhead" says a lot)."""
    if len(q) == 0:
        return 0.0
    weights = informative / (1.0 + 0.35 * np.arange(len(q)))
    return float(np.dot(np.clip(q, 0, EXACT), weights) / weights.sum())


_COMMON_SHARE = 0.006  # a word making up more of the script than this is a common word


def _informative(norms: Sequence[str]) -> np.ndarray:
    counts: dict[str, int] = {}
    for word in norms:
        counts[word] = counts.get(word, 0) + 1
    limit = max(3.0, _COMMON_SHARE * len(norms))
    return np.array([0.3 if counts[w] > limit else 1.0 for w in norms])

