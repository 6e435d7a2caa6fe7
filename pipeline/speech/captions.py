"""Captions and cue times from the script's words as the recordings speak them.

The caption timeline of a lesson captioned from its recordings is the recordings laid end
to end: ``caption time = recording time + the durations of the takes before it`` (so each
take's caption offset is minus that sum). Captions hold only words that were heard, in the
script's own spelling and punctuation, broken by the caption profile: at most its lines of
its characters, ending at a sentence or clause end where one is near, never across a long
pause, a take or a script paragraph; each starts with its first word and stays up for its
reading time, into the silence after it, within the profile's minimum gap and maximum
duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pipeline.align.cues import AlignResult, align_cues
from pipeline.captions.clean import extend_for_reading, layout
from pipeline.captions.profiles import Profile
from pipeline.models import Caption, Lesson
from pipeline.speech.classify import caption_confidence, span_kind
from pipeline.speech.forced import TimedWord, Timing
from pipeline.timecode import seconds

_PAUSE = 1_200  # ms of silence between two words that always ends a caption
_SENTENCE_END = (".", "?", "!")
_CLAUSE_END = (",", ";", ":", "—", "–")
_TRAIL = "\"')”’"
_MIN_SENTENCE = 25  # characters: a shorter caption runs on past a sentence end


def take_bases(durations: Sequence[int]) -> list[int]:
    """Caption-timeline ms where each take begins (the takes laid end to end)."""
    out, at = [], 0
    for d in durations:
        out.append(at)
        at += d
    return out


def caption_time(timing: Timing, w: TimedWord) -> tuple[int, int]:
    base = take_bases(timing.durations)[w.take]
    return w.start + base, w.end + base


def _fits(text: str, profile: Profile) -> bool:
    """Whether some layout of ``text`` keeps within the profile's lines and characters:
    filling each line with as many words as it holds takes the fewest lines, so it fits
    exactly when :func:`layout`'s best layout does (the caption breaker asks this for every
    span of words it weighs: laying each out took make_captions 4.7 s on an hour's take,
    this 1.1 s)."""
    lines, used = 1, -1
    for word in text.split():
        if len(word) > profile.max_chars_per_line:
            return False
        if used + 1 + len(word) > profile.max_chars_per_line:
            lines, used = lines + 1, len(word)
        else:
            used += 1 + len(word)
    return lines <= profile.max_lines


def make_captions(lesson: Lesson, timing: Timing, profile: Profile) -> list[Caption]:
    """The heard words as captions on the caption timeline (see the module doc)."""
    texts = [n.text for n in lesson.narration]
    Said = tuple[TimedWord, int, int]

    def text_of(ws: Sequence[Said]) -> str:
        first, last = ws[0][0].word, ws[-1][0].word
        return _span_text(texts[first.narration], first.char[0], last.char[1])

    # runs: heard words said one after the other (no unheard word, pause, take or paragraph
    # between them); each run is then broken into captions where it reads best
    runs: list[list[Said]] = []
    for w in timing.words:
        if not w.heard:
            runs.append([])
            continue
        start, end = caption_time(timing, w)
        if runs and runs[-1]:
            prev = runs[-1][-1]
            if not (prev[0].take == w.take and prev[0].word.narration == w.word.narration
                    and start - prev[2] < _PAUSE):
                runs.append([])
        elif not runs:
            runs.append([])
        runs[-1].append((w, start, end))
    groups = [g for run in runs if run
              for g in _break(run, text_of, lambda w: _trailing(texts[w.word.narration],
                                                                w.word.char[1]), profile)]

    captions: list[Caption] = []
    for k, g in enumerate(groups):
        text = "\n".join(layout(text_of(g), profile))
        start, spoken_end = g[0][1], g[-1][2]
        if captions:
            start = max(start, captions[-1].end + profile.min_gap)
        limit = (groups[k + 1][0][1] - profile.min_gap if k + 1 < len(groups)
                 else spoken_end + profile.max_duration)
        end = min(max(spoken_end, start + profile.min_duration), limit,
                  start + profile.max_duration)
        captions.append(Caption(len(captions) + 1, start, max(end, start + 1), text,
                                g[0][0].word.line))
    # the same timing rule `clean` applies to captions we are given
    return extend_for_reading(captions, profile)[0]


_LINK_WORDS = frozenset(
    ["and", "but", "or", "so", "because", "that", "which", "who", "when", "where", "while", "if", "than", "to", "for", "with", "of", "in", "on", "at", "from", "by", "as", "like", "about", "into", "through"])


def _break(run: list[Any], text_of: Any, trailing: Any, profile: Profile) -> list[list[Any]]:
    """``run`` broken into captions: each fits the profile (lines, characters, duration);
    among those breaks, the one that ends captions at sentence ends, then clause ends, then
    before a linking word, with captions neither nearly empty nor one word hanging on
    (dynamic programming over the break points: O(words x words per caption))."""
    room = profile.max_lines * profile.max_chars_per_line
    n = len(run)
    best = [0.0] + [float("inf")] * n  # best[j]: cost of breaking run[:j]
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        tail = trailing(run[j - 1][0])
        if j == n or tail.endswith(_SENTENCE_END):
            ends = 0.0
        elif tail.endswith(_CLAUSE_END):
            ends = 1.0
        elif run[j][0].word.text.lower().strip(_TRAIL) in _LINK_WORDS:
            ends = 2.5
        else:
            ends = 5.0
        for i in range(j - 1, -1, -1):
            if run[j - 1][2] - run[i][1] > profile.max_duration and i < j - 1:
                break
            text = text_of(run[i:j])
            if (len(text) > room or not _fits(text, profile)) and i < j - 1:
                break
            # a caption runs on past a sentence end only after a short sentence
            inside = sum(0.5 if len(text_of(run[i:k + 1])) < _MIN_SENTENCE else 4.0
                         for k in range(i, j - 1)
                         if trailing(run[k][0]).endswith(_SENTENCE_END))
            fill = 1 - len(text) / room
            short = 4.0 if len(text) < _MIN_SENTENCE and (i > 0 or j < n) else 0.0
            cost = best[i] + ends + 3 * fill * fill + inside + short
            if cost < best[j]:
                best[j], back[j] = cost, i
    pieces, j = [], n
    while j > 0:
        pieces.append(run[back[j]:j])
        j = back[j]
    return pieces[::-1]


def _trailing(text: str, end: int) -> str:
    """The word ending at ``end`` with the punctuation that follows it."""
    stop = end
    while stop < len(text) and not text[stop].isspace():
        stop += 1
    return text[:stop].rstrip(_TRAIL)


def _span_text(text: str, start: int, end: int) -> str:
    """``text[start:end]`` extended over the punctuation that ends its last word."""
    stop = end
    while stop < len(text) and not text[stop].isspace():
        stop += 1
    return " ".join(text[start:stop].split())


def word_captions(timing: Timing) -> list[Caption]:
    """One caption per heard word (its own time): what the cue aligner times cues by."""
    out: list[Caption] = []
    for w in timing.words:
        if w.heard:
            start, end = caption_time(timing, w)
            out.append(Caption(len(out) + 1, start, max(end, start + 1), w.word.text,
                               w.word.line))
    return out


def audio_cues(lesson: Lesson, timing: Timing, captions: Sequence[Caption], *,
               max_cps: float) -> AlignResult:
    """Every cue timed where the narration passes it on the recordings (method "audio"):
    the cue aligner run against the heard words one by one, then each cue's confidence
    from how well the words around it were heard and its caption from ``captions``."""
    per_word = word_captions(timing)
    heard = [w for w in timing.words if w.heard]
    result = align_cues(lesson, per_word, max_cps=max_cps)
    cues = []
    for cue in result.cues:
        if cue.method != "text":  # pinned by the editor, or nothing heard to place it by
            cues.append(replace(cue, caption_index=_caption_at(captions, cue.start)))
            continue
        k = cue.caption_index - 1
        conf = heard[k].confidence if 0 <= k < len(heard) else 0.1
        if "not found" in cue.reason or "seam" in cue.reason:
            conf = min(conf, cue.confidence)
        cues.append(replace(cue, method="audio", confidence=round(conf, 3),
                            caption_index=_caption_at(captions, cue.start),
                            anchor_char=-1, anchor_word=-1))
    total = len(timing.words)
    coverage = sum(w.heard for w in timing.words) / total if total else 0.0
    return replace(result, cues=tuple(cues), coverage=coverage, captions=tuple(captions))


def _caption_at(captions: Sequence[Caption], ms: int) -> int:
    best = 0
    for c in captions:
        if c.start <= ms + 1:
            best = c.index
            if ms <= c.end:
                break
    return best


def captions_json(lesson: Lesson, timing: Timing, captions: Sequence[Caption]) -> dict[str, Any]:
    """The ``captions`` command's document (INTERFACE.md)."""
    words = []
    for w in timing.words:
        if w.heard:
            start, end = caption_time(timing, w)
            words.append({"text": w.word.text, "line": w.word.line, "start": seconds(start),
                          "end": seconds(end), "confidence": w.confidence})
        else:
            words.append({"text": w.word.text, "line": w.word.line, "start": None,
                          "end": None, "confidence": 0.0})
    bases = take_bases(timing.durations)
    return {
        "captions": [{**c.to_json(), "confidence": conf} for c, conf in
                     zip(captions, caption_confidence(captions, timing), strict=True)],
        "words": words,
        "unspoken": [{"line": p.line, "text": p.text} for p in timing.unspoken],
        "unscripted": [{"start": seconds(s.start + bases[s.take]),
                        "end": seconds(s.end + bases[s.take]), "take": s.take,
                        "heard": s.text, "kind": span_kind(s.start, s.end, s.text)}
                       for s in timing.unscripted],
        "pronounced_by_rules": [{"word": w, "source": src} for w, src in timing.spelled],
    }
