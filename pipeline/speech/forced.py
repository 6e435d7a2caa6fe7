"""The script's words timed on the recordings' speech (pocketsphinx, nothing downloaded).

The acoustic model, the CMU dictionary (read for the lesson's words only) and the decoder
come from the pocketsphinx wheel.

1. *Listen*: the audio is decoded once (16 kHz int16, 115 MB an hour) with a webrtcvad
   speech track (stretches of speech cut at pauses of 250 ms).
2. *Force first* (:func:`_walk`): paragraph after paragraph, the stretches of speech after
   the previous paragraph that add up to this one's phones at the speaker's pace (measured
   on the paragraphs forced so far) make its window, and its words are force-aligned there
   (a silence between sentences). The result must fit (:func:`_fits`): a path found, no
   stretch of speech left out, no word in silence, none far too long. Where it does not
   (an ad-lib, a retake, a paragraph skipped, a window misjudged), the speech is
   *recognised* from there, utterance by utterance, with a language model built from the
   script itself (bigrams of its words), until the start of that paragraph or a later one
   is heard; forcing resumes there. A clean take is never recognised at all.
3. The words found (forced or recognised) are aligned to the script's words with the
   project's one word aligner (:func:`pipeline.align.words.align_words`): matched words are
   *heard*; a sentence most of whose words were heard is *spoken*; a sentence whose place in
   time holds too little speech is *unspoken*; recognised words no script word took, in
   runs, are *unscripted* speech. The spoken sentences not forced with their paragraph are
   cut into pieces at pauses between heard words and each piece is force-aligned on the
   audio between its cuts; a phrase left out inside a spoken sentence (:func:`_skipped`)
   is in no piece.
4. *The last saying kept* (:func:`_last_sayings`): a sentence followed, before the next
   one, by unscripted speech that holds most of its tokens in order was said again; it is
   forced on that later saying and the earlier one becomes unscripted (the cuts remove it
   as a retake). So is a sentence's last clause; where noise let recognition hear too
   little of it, a clause is kept on the latest speech when it scores as well there as
   on its first saying (:func:`_sounds_alike`). Only those stretches are forced again:
   nothing more is recognised.

Recognition is coarse (it only anchors the script): one pass of the lexicon tree,
acoustic scores on every other frame, as is the forcing; every forced word is then
fitted to its sound on the 10 ms levels (:func:`_edges`: a pause inside a word is a
filler or a false start before it, or the silence after it) and clipped to the stretch of
speech it overlaps most (:func:`_snap`).

Time grows linearly with the recording (each paragraph, utterance and piece is bounded);
memory is the int16 samples plus a few small arrays.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.align.words import align_words, tokenize
from pipeline.audio.decode import RATE, scan
from pipeline.audio.loudness import LoudnessTap, LoudnessTrack
from pipeline.audio.speech import STEP, SpeechTap, segments
from pipeline.models import Lesson
from pipeline.speech.lexicon import DICTIONARY, pronounce

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

_UTTERANCE = 20_000  # ms: longest stretch of speech recognised at once
_PIECE_MIN = 1_000  # ms: shortest stretch force-aligned at once
_PAD = 200  # ms of audio kept around recognised and aligned stretches
_SPOKEN_SHARE = 0.4  # share of a sentence's words heard that makes it spoken
_MS_PER_WORD = 330  # a slow speaker's pace, to judge whether a gap can hold a sentence
_UNSCRIPTED_MIN = 2  # recognised words in a row no script word took, to report them
_UNSCRIPTED_MS = 700  # ... or this long
_QUIET_DB = 8  # dB over a recording's floor: a 10 ms frame of its quiet (room, reverb tail)
_QUIET_INSIDE = 15  # frames: a pause no word holds (a stop's closure is shorter)
_RETAKE_SHARE = 0.6  # share of a sentence's (or its last clause's) tokens heard again
_RETAKE_SCORE = 1.2  # a clause forced on its retake scores at most this much worse a frame
_RESYNC_AHEAD = 8  # paragraphs whose start recognition looks for, after forcing failed
GUESSED = 0.25  # confidence of a word neither recognised nor forced (interpolated)
_TAIL = 400  # ms a word's sound rings on in a room (reverb): speech no word left out
_SPLIT_SPEECH = 120_000  # ms of speech in a recording from which two cores walk it
_SKIP_RUN = 4  # unheard words in a row inside a spoken sentence that may have been skipped
_SAID_SHARE = 0.85  # of the speech a run of words needs at the speaker's pace: less, some
# were left out (the real room take's left-out verse line: 0.80; said runs under reverb
# between two surely heard pairs: 0.81-1.26)
# forcing: wide beams (MEASUREMENTS.md), acoustic scores on every other frame (measured: the
# same sentence starts once the words are clipped to their speech, 40% less CPU), 2
# Gaussians (benchmarks/bench_speech.py: the same sentence starts, 15-20% less CPU; 1: a
# worst start 14 ms later; ds=3: 10 ms later)
ALIGN_SETTINGS: dict[str, Any] = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80,
                                  "bestpath": False, "ds": 2, "topn": 2}
# recognition only anchors the script (forcing times the words): one pass of the lexicon
# tree, acoustic scores on every other frame, 2 Gaussians (benchmarks/bench_speech.py:
# half the CPU of the full search, 424 of 431 words heard instead of 429, same sentences)
RECOGNISE_SETTINGS: dict[str, Any] = {"fwdflat": False, "bestpath": False, "ds": 2, "topn": 2}
FORCE_HEARD = True  # force-align pieces whose every word was recognised too (measured: the
# recogniser's own word edges put 3 of 35 sentence starts of demo 000 0.12-0.33 s off)
_CLAUSE = ",;:.!?()\"“”—–"  # between two words: a clause opens
_SENTENCE = re.compile(r"(?<=[.!?])[\"')”’]*\s+")


@dataclass(frozen=True, slots=True)
class Word:
    """One spoken unit of the script (what a speaker says as one word)."""

    text: str  # as written: "they'd", "10,000"
    norms: tuple[str, ...]  # its tokens (pipeline.align.words.tokenize)
    line: int  # script line
    narration: int  # index into lesson.narration
    sentence: int  # running sentence number over the lesson
    char: tuple[int, int]  # span in the narration line's text
    opens: bool = False  # opens a clause: first of its line, or after punctuation


@dataclass(frozen=True, slots=True)
class TimedWord:
    word: Word
    take: int  # recording index; -1: not heard
    start: int  # ms, recording timeline; -1: not heard
    end: int
    confidence: float  # how well this word and its neighbours were heard

    @property
    def heard(self) -> bool:
        return self.take >= 0


@dataclass(frozen=True, slots=True)
class Passage:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Span:
    take: int
    start: int  # ms, recording timeline
    end: int
    text: str  # what the recogniser made of it (a hint for the editor)


@dataclass(frozen=True, slots=True)
class Timing:
    words: tuple[TimedWord, ...]
    unspoken: tuple[Passage, ...]
    unscripted: tuple[Span, ...]
    durations: tuple[int, ...]  # ms of each recording
    claps: tuple[int | None, ...] = ()  # ms of each recording's first clap
    spelled: tuple[tuple[str, str], ...] = ()  # (word, source) not in the dictionary
    stats: dict[str, Any] = field(default_factory=dict, compare=False)
    # from the same decode, per recording: speech stretches (as sync.analyse keeps them) and
    # the loudness track, for the audio QA and normalization (no second decode)
    speech: tuple[tuple[tuple[int, int], ...], ...] = ()
    loudness: tuple[LoudnessTrack, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return timing_to_json(self)


def timing_to_json(t: Timing) -> dict[str, Any]:
    return {
        "words": [[w.word.text, list(w.word.norms), w.word.line, w.word.narration,
                   w.word.sentence, list(w.word.char), w.take, w.start, w.end, w.confidence]
                  for w in t.words],
        "unspoken": [[p.line, p.text] for p in t.unspoken],
        "unscripted": [[s.take, s.start, s.end, s.text] for s in t.unscripted],
        "durations": list(t.durations), "claps": list(t.claps),
        "spelled": [list(s) for s in t.spelled],
        "stats": t.stats,
        "speech": [[list(s) for s in take] for take in t.speech],
        "loudness": [track.to_json() for track in t.loudness],
    }


def timing_from_json(doc: dict[str, Any]) -> Timing:
    words = tuple(TimedWord(Word(w[0], tuple(w[1]), w[2], w[3], w[4], (w[5][0], w[5][1])),
                            w[6], w[7], w[8], w[9]) for w in doc["words"])
    return Timing(words, tuple(Passage(*p) for p in doc["unspoken"]),
                  tuple(Span(*s) for s in doc["unscripted"]), tuple(doc["durations"]),
                  tuple(doc.get("claps", ())), tuple((a, b) for a, b in doc["spelled"]),
                  doc.get("stats", {}),
                  tuple(tuple((int(a), int(b)) for a, b in take) for take in doc.get("speech", ())),
                  tuple(LoudnessTrack.from_json(t) for t in doc.get("loudness", ())))


# --- the script ----------------------------------------------------------------------


def script_words(lesson: Lesson) -> list[Word]:
    """The narration as spoken units, in order, each with its tokens and sentence."""
    out: list[Word] = []
    sentence = 0
    for k, line in enumerate(lesson.narration):
        ends = [m.end() for m in _SENTENCE.finditer(line.text)]
        spans: dict[tuple[int, int], list[str]] = {}
        for token in tokenize(line.text):
            spans.setdefault((token.start, token.end), []).append(token.norm)
        first, before = sentence, 0
        for (start, end), norms in spans.items():
            s = first + bisect.bisect_right(ends, start)
            opens = not before or any(c in _CLAUSE for c in line.text[before:start])
            out.append(Word(line.text[start:end], tuple(norms), line.line, k, s, (start, end),
                            opens))
            sentence, before = s + 1, end
        sentence = max(sentence, first + 1) if spans else sentence
    return out


def _name(word: Word) -> str:
    """The unit's name in the decoder's dictionary."""
    return "_".join(word.text.lower().replace("’", "'").split()) or "_"


@dataclass(frozen=True, slots=True)
class _Lexicon:
    folder: Path
    names: dict[str, tuple[str, ...]]  # decoder word -> its tokens
    spelled: tuple[tuple[str, str], ...]
    phones: dict[str, int] = field(default_factory=dict)  # decoder word -> its phones


def _write_lexicon(words: Sequence[Word], folder: Path) -> _Lexicon:
    """A pronunciation dictionary and a bigram language model of the script's words."""
    names: dict[str, tuple[str, ...]] = {}
    counts: dict[str, int] = {}
    lines: list[str] = []
    spelled: dict[str, str] = {}
    for w in words:
        name = _name(w)
        if name in names:
            continue
        names[name] = w.norms
        phones: list[str] = []
        for part in w.text.replace(",", "").split():
            p = pronounce(part)
            phones += p.phones
            if p.source != DICTIONARY:
                spelled[part] = p.source
        counts[name] = max(1, len(phones))
        lines.append(f"{name} {' '.join(phones) or 'SIL'}")
    (folder / "script.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")

    sentences: dict[int, list[str]] = {}
    for w in words:
        sentences.setdefault(w.sentence, []).append(_name(w))
    uni: Counter[str] = Counter()
    bi: Counter[tuple[str, str]] = Counter()
    for seq in sentences.values():
        seq = ["<s>", *seq, "</s>"]
        uni.update(seq)
        bi.update(itertools.pairwise(seq))
    total = sum(uni.values())
    followers = Counter(a for a, _ in bi)
    discount = 0.5
    arpa = ["\\data\\", f"ngram 1={len(uni)}", f"ngram 2={len(bi)}", "", "\\1-grams:"]
    for token, c in uni.items():
        logp = -99.0 if token == "<s>" else math.log10(c / total)
        back = math.log10(discount * followers[token] / c) if followers[token] else 0.0
        arpa.append(f"{logp:.4f} {token} {back:.4f}")
    arpa += ["", "\\2-grams:"]
    for (a, b), c in bi.items():
        arpa.append(f"{math.log10((c - discount) / uni[a]):.4f} {a} {b}")
    arpa += ["", "\\end\\", ""]
    (folder / "script.arpa").write_text("\n".join(arpa), encoding="utf-8")
    return _Lexicon(folder, names, tuple(sorted(spelled.items())), counts)


def _decoder(lexicon: _Lexicon, *, align: bool) -> Any:
    from pocketsphinx import Decoder

    if align:  # wide beams: with the defaults long alignments find no path (MEASUREMENTS)
        return Decoder(samprate=RATE, dict=str(lexicon.folder / "script.dict"), lm=None,
                       loglevel="FATAL", **ALIGN_SETTINGS)
    return Decoder(samprate=RATE, dict=str(lexicon.folder / "script.dict"),
                   lm=str(lexicon.folder / "script.arpa"), loglevel="FATAL",
                   **RECOGNISE_SETTINGS)


# --- the audio -----------------------------------------------------------------------


class _Pcm:
    """Keeps the decoded samples as int16 (a decode Tap)."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        self.chunks.append((np.clip(samples, -1, 1) * 32767).astype(np.int16))


@dataclass(frozen=True, slots=True)
class Heard:
    """One recording's samples (int16 at RATE, kept in the decode's chunks: never copied
    whole) and its speech stretches."""

    chunks: tuple[np.ndarray, ...]
    speech: tuple[tuple[int, int], ...]  # ms
    clap: int | None = None  # ms of the first clap, found in the same decode
    stretches: tuple[tuple[int, int], ...] = ()  # speech as sync.analyse keeps it (audio QA)
    loudness: LoudnessTrack | None = None  # from the same decode
    floor: int | None = None  # dB: the level of its quiet (10th percentile of its 10 ms frames)

    @property
    def duration(self) -> int:
        return sum(len(c) for c in self.chunks) * 1000 // RATE

    def window(self, start: int, end: int) -> bytes:
        """The samples from ``start`` to ``end`` ms as bytes (what the decoder reads)."""
        a, b = max(0, start) * RATE // 1000, max(0, end) * RATE // 1000
        out: list[bytes] = []
        at = 0
        for chunk in self.chunks:
            if at >= b:
                break
            if at + len(chunk) > a:
                out.append(chunk[max(0, a - at):b - at].tobytes())
            at += len(chunk)
        return b"".join(out)


def listen(path: Path, *, clap: bool = True) -> Heard:
    """Decode a recording once: int16 samples, its speech stretches and (``clap``) its
    first clap, which the lesson flow trims at."""
    from pipeline.audio.clap import EnvelopeTap, claps_from

    pcm, tap, envelope, loudness = _Pcm(), SpeechTap(), EnvelopeTap(), LoudnessTap()
    duration = scan(path, [pcm, tap, loudness, envelope] if clap else [pcm, tap, loudness])
    first = claps_from(path, envelope.envelope(), duration).first if clap else None
    track, levels = tap.track(), loudness.track()
    return Heard(tuple(pcm.chunks), tuple(segments(track, min_gap=250, min_length=80)),
                 first.ms if first else None, tuple(segments(track)), levels,
                 _floor(levels.frames))


def _floor(frames: np.ndarray) -> int | None:
    sound = frames[frames > -100]  # not digital silence
    return int(np.percentile(sound, 10)) if len(sound) else None


def heard_from_samples(pcm: np.ndarray) -> Heard:
    """For tests and benchmarks: samples already in memory (int16 at RATE)."""
    tap = SpeechTap()
    tap.feed(pcm.astype(np.float32) / 32768)
    return Heard((pcm,), tuple(segments(tap.track(), min_gap=250, min_length=80)))


def _utterances(speech: Sequence[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in speech:
        if out and end - out[-1][0] <= limit:
            out[-1] = (out[-1][0], end)
        else:
            while end - start > limit:  # one long stretch without a pause: cut it
                out.append((start, start + limit))
                start += limit
            out.append((start, end))
    return out


@dataclass(frozen=True, slots=True)
class _Rough:
    name: str
    take: int
    start: int
    end: int
    forced: bool = False  # timed by forcing its paragraph (its edges are final)


def _recognise(decoders: _Decoders, heard: Heard, take: int, start: int, end: int,
               ) -> list[_Rough]:
    """The words recognised in one utterance, from ``start`` to ``end`` ms."""
    found: list[_Rough] = []
    a = max(0, start - _PAD)
    decoders.recognised += end - start
    decoder = decoders.recognise()
    decoder.start_utt()
    decoder.process_raw(heard.window(a, end + _PAD), full_utt=True)
    decoder.end_utt()
    for seg in decoder.seg():
        word = seg.word.split("(")[0]
        if word.startswith(("<", "[")):
            continue
        found.append(_Rough(word, take, *_snap(heard, a + seg.start_frame * STEP,
                                               a + (seg.end_frame + 1) * STEP)))
    return found


def _snap(heard: Heard, start: int, end: int) -> tuple[int, int]:
    """A word's edges clipped to the stretch of speech it overlaps most (the decoder lets a
    word beside a pause take in part of it; stretches of speech are cut at pauses of 250 ms
    or more, so inside running speech nothing moves)."""
    k = bisect.bisect_left(heard.speech, (start, start))
    best, most = None, 0
    for a, b in heard.speech[max(0, k - 1):k + 3]:
        overlap = min(b, end) - max(a, start)
        if overlap > most:
            best, most = (a, b), overlap
    if best is None:
        return start, end
    return max(start, best[0]), min(end, best[1])


def _force(decoder: Any, heard: Heard, words: Sequence[Word], start: int, end: int,
           pauses: Sequence[int] = ()) -> list[tuple[int, int]] | None:
    """Each word's (start, end) ms when ``words`` are force-aligned on [start, end), with a
    silence before each of the ``pauses`` (indexes into words), fitted to their sound
    (:func:`_edges`)."""
    got = _force_raw(decoder, heard, [_name(w) for w in words], start, end, pauses)
    return None if got is None else _edges(heard, words, got)


def _edges(h: Heard, words: Sequence[Word], spans: Sequence[tuple[int, int]],
           ) -> list[tuple[int, int]]:
    """Forced words' edges fitted to their sound: clipped to the stretch of speech each
    overlaps most (:func:`_snap`), then on the 10 ms levels: a word holding a pause
    (``_QUIET_INSIDE`` of quiet: a filler, a false start or a breath beside it that the
    aligner gave it) keeps the part after the pause when it opens a clause (after
    punctuation: "uh, But", "Th- Thou") and the part before otherwise; and it neither
    starts nor ends in quiet."""
    if h.loudness is None or h.floor is None:
        return [_snap(h, a, b) for a, b in spans]
    quiet = h.loudness.frames <= h.floor + _QUIET_DB
    out = []
    for n, (a, b) in enumerate(spans):
        lo, hi = a // 10, min(b // 10, len(quiet))
        pauses = [(lo + x, lo + y) for x, y in _runs(quiet[lo:hi])
                  if y - x >= _QUIET_INSIDE and 0 < x and lo + y < hi]
        if pauses:
            a, b = (pauses[-1][1] * 10, b) if n == 0 or words[n].opens else (a, pauses[0][0] * 10)
        a, b = _snap(h, a, b)
        lo, hi = a // 10, min(b // 10, len(quiet))
        for x, y in [(lo + x, lo + y) for x, y in _runs(quiet[lo:hi])]:
            # quiet at either end: the pause beside the word
            if x <= lo < y < hi:
                lo = y
            if lo < x < hi <= y:
                hi = x
        out.append((max(a, lo * 10), min(b, hi * 10)) if hi - lo >= 3 else (a, b))
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _force_raw(decoder: Any, heard: Heard, names: Sequence[str], start: int, end: int,
               pauses: Sequence[int] = ()) -> list[tuple[int, int]] | None:
    """:func:`_force` before the clipping."""
    text = list(names)
    for k in sorted(pauses, reverse=True):
        text.insert(k, "<sil>")
    decoder.set_align_text(" ".join(text))
    decoder.start_utt()
    decoder.process_raw(heard.window(start, end), full_utt=True)
    try:
        decoder.end_utt()
        segs = [s for s in decoder.seg() or () if not s.word.startswith(("<", "["))]
    except RuntimeError:  # "final result does not match the grammar"
        return None
    if len(segs) != len(names):
        log.debug("forced: %d of %d words: %s", len(segs), len(names), [x.word for x in segs])
        return None
    return [(start + s.start_frame * STEP, start + (s.end_frame + 1) * STEP) for s in segs]


# --- forcing first: each paragraph where the speech says it is -------------------------


@dataclass(slots=True)
class _Pace:
    """ms of speech per phone: first over everything (as if the whole script were said),
    then over the paragraphs forced so far."""

    speech: int
    phones: int
    forced: bool = False

    def add(self, speech: int, phones: int) -> None:
        if not self.forced:
            self.speech, self.phones, self.forced = 0, 0, True
        self.speech += speech
        self.phones += phones

    def expect(self, phones: int) -> float:
        return phones * self.speech / max(1, self.phones)


@dataclass(slots=True)
class _Decoders:
    lexicon: _Lexicon
    aligner: Any = None
    recogniser: Any = None
    recognised: int = 0  # ms of speech recognised
    # words recognised past where forcing resumed, and (take, ms) recognised up to: a
    # later failure there reuses them instead of recognising that speech again
    ahead: list[_Rough] = field(default_factory=list)
    until: tuple[int, int] = (-1, 0)

    def align(self) -> Any:
        if self.aligner is None:
            self.aligner = _decoder(self.lexicon, align=True)
        return self.aligner

    def recognise(self) -> Any:
        if self.recogniser is None:
            self.recogniser = _decoder(self.lexicon, align=False)
        return self.recogniser


def _walk(decoders: _Decoders, words: Sequence[Word], paragraphs: Sequence[Sequence[int]],
          p: int, h: Heard, take: int, pace: _Pace, progress: Progress, i: int = 0,
          until: int | None = None, ready: tuple[list[tuple[int, int]], int] | None = None,
          ) -> tuple[list[_Rough], int, int, int]:
    """One recording's words from paragraph ``p`` and its stretch of speech ``i`` on: each
    paragraph force-aligned in the window the speech after the previous one implies (its
    stretches of speech adding up to the paragraph's phones at the speaker's pace); where
    that fails (no path, speech left out, words in silence: a retake, an ad-lib, a
    paragraph skipped), the speech is recognised from there until a later paragraph's
    start is heard, and forcing resumes there. ``until``: stop at the first paragraph
    that starts at or after that stretch; ``ready``: paragraph ``p`` forced already (what
    :func:`_force_paragraph` returned). Returns the words found (forced or recognised),
    the next paragraph, the number of paragraphs forced and the next stretch."""
    found: list[_Rough] = []
    forced = 0
    while i < len(h.speech) and p < len(paragraphs):
        if until is not None and i >= until:
            return found, p, forced, i
        progress(h.speech[i][0] / max(1, h.duration))
        para = paragraphs[p]
        phones = [decoders.lexicon.phones[_name(words[k])] for k in para]
        got = ready or _force_paragraph(decoders.align(), h, words, para, phones, i, pace)
        ready = None
        if got is not None:
            spans, j = got
            found += [_Rough(_name(words[k]), take, a, b, True)
                      for k, (a, b) in zip(para, spans, strict=True)]
            pace.add(sum(b - a for a, b in h.speech[i:j + 1]), sum(phones))
            forced += 1
            i, p = j + 1, p + 1
            continue
        heard, i, p = _resync(decoders, words, paragraphs, p, h, take, i)
        found += heard
    if i < len(h.speech) and until is None:  # after the last paragraph: an ad-lib, a retake
        found += [r for got in _recognise_from(decoders, h, take, i) for r in got]
    return found, p, forced, i


def _walk_halves(decoders: _Decoders, words: Sequence[Word],
                 paragraphs: Sequence[Sequence[int]], p: int, h: Heard, take: int,
                 pace: _Pace, progress: Progress) -> tuple[list[_Rough], int, int, int]:
    """:func:`_walk` on two cores for a long recording (pocketsphinx holds the GIL, so a
    child process): the child walks from a long pause in the middle of the speech
    (:func:`_middle`) to the end, starting with the paragraph that fits there, while this
    process walks from the start to the first paragraph at or after that pause. Where
    both reach the same paragraph at the same stretch the child's words are taken;
    otherwise (the pause is inside a paragraph, a retake or a failure across it) this
    process walks on alone.
    Returns :func:`_walk`'s, with the number of paragraphs the child's walk forced."""
    import multiprocessing
    import threading

    mid = _middle(h)
    # not beside other threads (the review app's builds: a fork copies their locks held),
    # nor in a daemonic process (a multiprocessing.Pool's worker may not start one), nor
    # where processes cannot fork (Windows)
    if mid is None or (os.cpu_count() or 1) < 2 or threading.active_count() > 1 \
            or multiprocessing.current_process().daemon \
            or "fork" not in multiprocessing.get_all_start_methods():
        return (*_walk(decoders, words, paragraphs, p, h, take, pace, progress)[:3], 0)
    # the paragraph starting about as far into the script as the pause is into the speech
    starts = np.cumsum([0] + [sum(decoders.lexicon.phones[_name(words[k])] for k in para)
                              for para in paragraphs[p:]])
    share = _speech_between(h, 0, h.speech[mid][0]) / max(1, _speech_between(h, 0, h.duration))
    guess = p + int(np.argmin(np.abs(starts[:-1] - share * starts[-1])))
    context = multiprocessing.get_context("fork")  # the samples shared, not copied
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_second_half, daemon=True, args=(
        writer, decoders.lexicon, words, paragraphs, guess, h, take, pace, mid))
    child.start()
    writer.close()
    try:
        found, p, forced, i = _walk(decoders, words, paragraphs, p, h, take, pace, progress,
                                    until=mid)
        try:
            start, first, theirs, end, walked, (speech, phones_forced), recognised = \
                reader.recv()
        except (EOFError, OSError):  # the child died: walk on alone
            start = first = -1
    finally:
        child.terminate()  # done already, unless this process failed
        child.join()
    if start >= 0 and i < start and p < first:
        more, p, n, i = _walk(decoders, words, paragraphs, p, h, take, pace, progress, i,
                              until=start)
        found += more
        forced += n
    if (i, p) == (start, first):
        if walked:
            pace.add(speech, phones_forced)
        decoders.recognised += recognised
        return found + theirs, end, forced + walked, walked
    more, p, n, _ = _walk(decoders, words, paragraphs, p, h, take, pace, progress, i)
    return found + more, p, forced + n, 0


def _middle(h: Heard) -> int | None:
    """The stretch of speech after a pause in the middle fifth of a recording's speech (of
    the pauses there at least 0.8 times the longest, a paragraph's end, the one nearest
    half the speech: the halves take as long), when it holds ``_SPLIT_SPEECH`` or more
    (else None)."""
    ends = np.cumsum([b - a for a, b in h.speech])
    if not len(ends) or ends[-1] < _SPLIT_SPEECH:
        return None
    lo, hi = (int(np.searchsorted(ends, f * ends[-1])) for f in (0.4, 0.6))
    gaps = {k: h.speech[k][0] - h.speech[k - 1][1] for k in range(max(1, lo), hi + 1)
            if k < len(h.speech)}
    if not gaps:
        return None
    longest = max(gaps.values())
    return min((k for k, gap in gaps.items() if gap >= 0.8 * longest),
               key=lambda k: abs(ends[k - 1] - ends[-1] / 2))


def _second_half(out: Any, lexicon: _Lexicon, words: Sequence[Word],
                 paragraphs: Sequence[Sequence[int]], guess: int, h: Heard, take: int,
                 pace: _Pace, mid: int) -> None:
    """In the child of :func:`_walk_halves`: the paragraph that starts at stretch ``mid``
    (``guess`` or one of the two either side of it whose forcing fits there first), then
    the walk to the end; sends where it started (stretch, paragraph; -1: none fits), the
    words, the next paragraph, the paragraphs forced, the speech and phones forced and the
    ms recognised."""
    import contextlib
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    got: tuple[Any, ...] = (-1, -1, [], 0, 0, (0, 0), 0)
    try:
        decoders = _Decoders(lexicon)
        ours = _Pace(pace.speech, pace.phones)
        for first in sorted(range(max(0, guess - 2), min(len(paragraphs), guess + 3)),
                            key=lambda q: abs(q - guess)):
            phones = [lexicon.phones[_name(words[k])] for k in paragraphs[first]]
            ready = _force_paragraph(decoders.align(), h, words, paragraphs[first], phones,
                                     mid, ours)
            if ready is not None:
                found, end, walked, _ = _walk(decoders, words, paragraphs, first, h, take,
                                              ours, lambda f: None, mid, ready=ready)
                got = (mid, first, found, end, walked, (ours.speech, ours.phones)
                       if ours.forced else (0, 0), decoders.recognised)
                break
    except Exception:  # the parent walks this half itself
        log.debug("the second half's walk failed", exc_info=True)
    with contextlib.suppress(OSError):  # the parent is gone
        out.send(got)


def _force_paragraph(aligner: Any, h: Heard, words: Sequence[Word], para: Sequence[int],
                     phones: Sequence[int], i: int, pace: _Pace,
                     ) -> tuple[list[tuple[int, int]], int] | None:
    """The paragraph's word spans forced on the stretches of speech ``i`` to ``j`` whose
    length best fits its phones (the next best fit tried too), and ``j``; None when
    none fits (:func:`_fits`)."""
    expect = pace.expect(sum(phones))
    names = [_name(words[k]) for k in para]
    pauses = [n for n in range(1, len(para))
              if words[para[n]].sentence != words[para[n - 1]].sentence]
    ends: list[tuple[float, int]] = []
    total = 0
    low, high = (0.6, 1.6) if pace.forced else (0.4, 2.5)  # before any paragraph: a guess
    for j in range(i, len(h.speech)):
        total += h.speech[j][1] - h.speech[j][0]
        if total > high * expect:
            break
        if total >= low * expect:
            ends.append((abs(math.log(total / expect)), j))
    for _, j in sorted(ends)[:2]:
        a = max(h.speech[i - 1][1] if i else 0, h.speech[i][0] - _PAD)
        b = min(h.speech[j + 1][0] if j + 1 < len(h.speech) else h.duration,
                h.speech[j][1] + _PAD)
        spans = _force_raw(aligner, h, names, a, b, pauses)
        if spans is not None and _fits(h, spans, phones, pace, i, j):
            return _edges(h, [words[k] for k in para], spans), j
    return None


def _fits(h: Heard, spans: Sequence[tuple[int, int]], phones: Sequence[int], pace: _Pace,
          i: int, j: int) -> bool:
    """Forced words that fit their speech: no stretch of speech left out (speech the
    script does not say), no word lying in silence (words the speech does not say), none
    far longer than its phones take, no long stretch of speech without a word on it. A
    word's sound ringing on into the pause before the next word (``_TAIL``: a room's
    reverb) is its own, not speech left out; the last word's is not (an unsaid sentence
    forced onto the next paragraph's first phrase fitted with its rest "ringing")."""
    def inside(a: int, b: int) -> int:
        return sum(max(0, min(e, b) - max(s, a)) for s, e in h.speech[i:j + 1])

    covered = 0
    silent = 0
    after = [a for a, _ in spans[1:]] + [spans[-1][1]]  # the last: no ringing
    for (a, b), n, following in zip(spans, phones, after, strict=True):
        own = inside(a, b)
        if own < 0.3 * (b - a):
            silent += 1
        if b - a > 3 * pace.expect(n) + 400:
            return False
        covered += own + inside(b, max(b, min(b + _TAIL, following)))
    if any(e - s >= _UNSCRIPTED_MS and not any(a < e and s < b for a, b in spans)
           for s, e in h.speech[i:j + 1]):
        return False  # a stretch of speech no word is on: another paragraph's, an ad-lib
    speech = sum(b - a for a, b in h.speech[i:j + 1])
    return silent <= max(1, len(spans) // 10) and speech - covered <= max(400, speech // 10)


def _recognise_from(decoders: _Decoders, h: Heard, take: int, i: int,
                    ) -> Iterator[list[_Rough]]:
    """The words recognised from stretch ``i`` on, utterance by utterance; speech
    recognised before (past where forcing resumed) is not recognised again: its words
    come first."""
    until = decoders.until[1] if decoders.until[0] == take else 0
    yield [r for r in decoders.ahead if r.take == take and r.start >= h.speech[i][0]]
    for a, b in _utterances([(max(a, until), b) for a, b in h.speech[i:] if b > until],
                            _UTTERANCE):
        decoders.until = (take, b)
        yield _recognise(decoders, h, take, a, b)


def _resync(decoders: _Decoders, words: Sequence[Word],
            paragraphs: Sequence[Sequence[int]], p: int, h: Heard, take: int, i: int,
            ) -> tuple[list[_Rough], int, int]:
    """Recognise utterance after utterance from stretch ``i`` until the start of paragraph
    ``p`` (not at ``i``: forcing it failed there) or of a later one is heard; returns the
    words recognised before that start, the stretch and the paragraph to force next."""
    from_ms = h.speech[i][0]
    found: list[_Rough] = []
    ahead = range(p, min(len(paragraphs), p + _RESYNC_AHEAD))
    later = [k for q in ahead for k in paragraphs[q]]
    match: list[int] = []
    for got in _recognise_from(decoders, h, take, i):
        found += got
        if not found:
            continue
        match = _match([words[k] for k in later], found, decoders.lexicon)
        for q in ahead:
            at = later.index(paragraphs[q][0])
            first = match[at:at + min(3, len(paragraphs[q]))]
            if first[0] < 0 or sum(m >= 0 for m in first) < min(2, len(first)):
                continue
            start = _pause_before(h, found[first[0]].start)
            if q == p and start <= from_ms + 500:  # where forcing it failed
                continue
            decoders.ahead = [r for r in found if r.end > start]
            return ([r for r in found if r.end <= start],
                    bisect.bisect_left(h.speech, (start, start)), q)
    decoders.ahead = []
    heard = [later[n] for n, m in enumerate(match) if m >= 0]
    return found, len(h.speech), words[heard[-1]].narration + 1 if heard else p


# --- putting it together ------------------------------------------------------------


def time_script(lesson: Lesson, media: Sequence[Path], *, claps: bool = False,
                progress: Progress = lambda f: None) -> Timing:
    """Every narration word of ``lesson`` timed on ``media`` (recordings, in order);
    ``claps``: find each recording's clap in the same decode."""
    heard = []
    for k, path in enumerate(media):
        progress(0.3 * k / len(media))
        heard.append(listen(path, clap=claps))
    timing = time_heard(lesson, heard, progress=lambda f: progress(0.3 + 0.7 * f))
    _check(lesson, timing, media, heard)
    return timing


def _check(lesson: Lesson, timing: Timing, media: Sequence[Path], heard: Sequence[Heard]) -> None:
    """Bad input (silence, music, another language or lesson) is an error, not captions."""
    from pipeline.speech.classify import check_recordings

    # heard: recognised, and in a stretch the forcing could time (words only spread between
    # recognised ones where forcing found no path do not count: French espeak-ng speech had
    # 12 of 39 script words "recognised", all in one piece the forcing refused)
    confident = sum(w.heard and w.confidence > 0.5 for w in timing.words)
    check_recordings(lesson, min(int(timing.stats.get("heard", 0)), confident),
                     len(timing.words), int(timing.stats.get("recognised", 0)), media,
                     [h.speech for h in heard])


def time_heard(lesson: Lesson, heard: Sequence[Heard], *,
               progress: Progress = lambda f: None) -> Timing:
    words = script_words(lesson)
    durations = tuple(h.duration for h in heard)
    claps = tuple(h.clap for h in heard)
    if not words or not heard:
        return Timing(tuple(TimedWord(w, -1, -1, -1, 0.0) for w in words),
                      _unspoken(lesson, words, [False] * len(words)), (), durations, claps,
                      (), {}, *_levels(heard))
    paragraphs: list[list[int]] = []
    for k, w in enumerate(words):
        if not paragraphs or words[paragraphs[-1][0]].narration != w.narration:
            paragraphs.append([])
        paragraphs[-1].append(k)
    with tempfile.TemporaryDirectory(prefix="speech-") as tmp:
        lexicon = _write_lexicon(words, Path(tmp))
        clock = time.process_time()
        decoders = _Decoders(lexicon)
        pace = _Pace(sum(b - a for h in heard for a, b in h.speech),
                     sum(lexicon.phones[_name(w)] for w in words))
        rough: list[_Rough] = []
        p = 0
        forced_first = on_second_core = 0
        for k, h in enumerate(heard):
            def step(f: float, k: int = k) -> None:
                progress(0.8 * (k + f) / len(heard))
            found, p, walked, second = _walk_halves(decoders, words, paragraphs, p, h, k,
                                                    pace, step)
            on_second_core += second
            rough += found
            forced_first += walked
        walk_cpu = time.process_time() - clock
        match = _match(words, rough, lexicon)
        spoken = _spoken_sentences(words, match, rough, heard)
        match, rough, dropped = _which_said(decoders, words, match, rough, heard, spoken, pace)
        clock = time.process_time()
        timed, forced = _force_all(decoders, words, match, spoken, rough, heard,
                                   lambda f: progress(0.8 + 0.2 * f), dropped)
        timed, retaken = _last_sayings(decoders, words, timed, rough, heard)
        force_cpu = time.process_time() - clock
    # a word recognised where no speech is (the recogniser's guess in a pause) is not speech
    unscripted = _unscripted([r for r in rough if not _in_pause(heard[r.take], r.start, r.end)],
                             timed)
    said = [t.heard for t in timed]
    stats = {"recognised": sum(not r.forced for r in rough),
             "heard": int(sum(m >= 0 for m in match)), "words": len(words),
             "paragraphs": len(paragraphs), "paragraphs_forced": forced_first,
             "paragraphs_second_core": on_second_core,
             "recognised_s": round(decoders.recognised / 1000, 1),
             "pieces": forced[0], "pieces_failed": forced[1], "retakes_moved": retaken,
             "walk_cpu": round(walk_cpu, 2), "force_cpu": round(force_cpu, 2)}
    log.info("%s: %d of %d words heard, %d force-aligned pieces (%d failed)", lesson.path,
             stats["heard"], len(words), *forced)
    return Timing(tuple(timed), _unspoken(lesson, words, said), tuple(unscripted), durations,
                  claps, lexicon.spelled, stats, *_levels(heard))


def _levels(heard: Sequence[Heard]) -> tuple[tuple[tuple[tuple[int, int], ...], ...],
                                             tuple[LoudnessTrack, ...]]:
    """Each recording's speech stretches and loudness track, when its decode measured them."""
    if any(h.loudness is None for h in heard):
        return (), ()
    return (tuple(h.stretches for h in heard),
            tuple(h.loudness for h in heard if h.loudness is not None))


def _match(words: Sequence[Word], rough: Sequence[_Rough], lexicon: _Lexicon) -> list[int]:
    """For each script unit: the index of the recognised word it was heard as (-1: none)."""
    script: list[str] = []
    owner: list[int] = []
    for k, w in enumerate(words):
        script += w.norms
        owner += [k] * len(w.norms)
    said: list[str] = []
    said_owner: list[int] = []
    for k, r in enumerate(rough):
        norms = lexicon.names.get(r.name, (r.name,))
        said += norms
        said_owner += [k] * len(norms)
    alignment = align_words(script, said)
    match = [-1] * len(words)
    for i, j in enumerate(alignment.target):
        if j >= 0 and alignment.quality[i] > 0 and match[owner[i]] < 0:
            match[owner[i]] = said_owner[int(j)]
    # a word heard out of order (earlier than a word before it) is not evidence of time
    last = (-1, -1)
    for k, j in enumerate(match):
        if j < 0:
            continue
        key = (rough[j].take, rough[j].start)
        if key < last:
            match[k] = -1
        else:
            last = key
    return match


def _spoken_sentences(words: Sequence[Word], match: Sequence[int], rough: Sequence[_Rough],
                      heard: Sequence[Heard]) -> dict[int, bool]:
    """Sentence number -> spoken. Most of its words heard: spoken. Few heard, but lying
    between spoken sentences in a stretch of the same take holding enough speech for it
    (the recogniser missed it): spoken too."""
    count: Counter[int] = Counter(w.sentence for w in words)
    hits: Counter[int] = Counter(w.sentence for w, m in zip(words, match, strict=True) if m >= 0)
    order = sorted(count)
    spoken = {s: hits[s] >= max(1, _SPOKEN_SHARE * count[s]) for s in order}
    bounds: dict[int, tuple[int, int, int]] = {}  # sentence -> take, first, last heard ms
    for w, m in zip(words, match, strict=True):
        if m >= 0 and spoken[w.sentence]:
            r = rough[m]
            t, a, b = bounds.get(w.sentence, (r.take, r.start, r.end))
            bounds[w.sentence] = (t, min(a, r.start), max(b, r.end))
    k = 0
    while k < len(order):
        if spoken[order[k]]:
            k += 1
            continue
        q = k
        while q < len(order) and not spoken[order[q]]:
            q += 1
        before = bounds.get(order[k - 1]) if k > 0 else None
        after = bounds.get(order[q]) if q < len(order) else None
        need = sum(count[order[x]] for x in range(k, q)) * _MS_PER_WORD * 0.35
        if before and after and before[0] == after[0]:
            held = _speech_between(heard[before[0]], before[2], after[1])
            if held >= need:
                for x in range(k, q):
                    spoken[order[x]] = True
        k = q
    return spoken


def _which_said(decoders: _Decoders, words: Sequence[Word], match: Sequence[int],
                rough: Sequence[_Rough], heard: Sequence[Heard], spoken: dict[int, bool],
                pace: _Pace) -> tuple[list[int], list[_Rough], frozenset[int]]:
    """Clauses left out where recognition could not tell which: between two pairs of words
    recognised as themselves, the script's words need far more speech than there is, and
    forcing them all finds no path. Each way of leaving out one run of whole clauses is
    forced there; of those whose words fit the speech at the speaker's pace (within 10 %
    of the best fit), the best scoring wins. Under reverb the recogniser hears script
    words over what was said ("is to be ill disposed" heard as "how should is the else
    rose the", matched to "with propriety in the ... his ordinary duties" of the clause
    left out after it). Returns the match and the recognised words with the said words
    forced there (after the pair before them), and the words left out."""
    match = list(match)
    exact = [m >= 0 and rough[m].name == _name(words[k]) for k, m in enumerate(match)]
    sure = [k for k in range(len(words)) if exact[k] and any(  # "the" alone may be a guess
        0 <= n < len(words) and exact[n] and abs(match[n] - match[k]) == 1 for n in (k - 1, k + 1))]
    dropped: set[int] = set()
    placed: dict[int, list[tuple[int, _Rough]]] = {}  # rough index -> said words after it

    def expect(keep: Sequence[int]) -> float:  # ms of speech the words take at this pace
        return pace.expect(sum(decoders.lexicon.phones[_name(words[k])] for k in keep))

    for a, b in itertools.pairwise(sure):
        region = range(a + 1, b)
        ra, rb = rough[match[a]], rough[match[b]]
        if len(region) < _SKIP_RUN or ra.take != rb.take \
                or not all(spoken[words[k].sentence] for k in region):
            continue
        h = heard[ra.take]
        speech = _speech_between(h, ra.end, rb.start)
        if speech >= _SAID_SHARE * expect(region):
            continue
        window = ra.start - 100, rb.end + 100
        opens = [k for k in region if words[k].opens and k > region.start]
        ways: list[tuple[float, float, list[int], list[tuple[int, int]]]] = []
        for x, y in [(b, b), *itertools.combinations([region.start, *opens, region.stop], 2)]:
            keep = [k for k in region if not x <= k < y]  # (b, b) first: all of them
            if not keep or not 0.5 * expect(keep) <= speech <= 2 * expect(keep):
                continue
            own = [a, *keep, b]
            spans = _force_raw(decoders.align(), h, [_name(words[k]) for k in own], *window)
            if spans is None:
                continue
            if len(keep) == len(region):  # all of them fit: nothing was left out here
                break
            ways.append((abs(math.log(speech / expect(keep))), _score(decoders.align()),
                         own, spans))
        if not ways:
            continue
        least = min(w[0] for w in ways)
        _, _, own, spans = max((w for w in ways if w[0] <= least + 0.1), key=lambda w: w[1])
        dropped.update(k for k in region if k not in own)
        edges = _edges(h, [words[k] for k in own], spans)
        for k in region:
            match[k] = -1
        placed[match[a]] = [(k, _Rough(_name(words[k]), ra.take, *edges[n], True))
                            for n, k in enumerate(own) if k in region]
    out: list[_Rough] = []
    where: list[int] = []  # old rough index -> new
    new: dict[int, int] = {}  # word -> the rough index it was placed at
    for i, r in enumerate(rough):
        where.append(len(out))
        out.append(r)
        for k, said in placed.get(i, ()):
            new[k] = len(out)
            out.append(said)
    return [new.get(k, where[m] if m >= 0 else m) for k, m in enumerate(match)], out, \
        frozenset(dropped)


def _speech_between(heard: Heard, start: int, end: int) -> int:
    """ms of speech from ``start`` to ``end``: only the stretches overlapping it are read
    (they are in order; summing all of them for every word took an hour's take 5 s)."""
    speech = heard.speech
    k = max(0, bisect.bisect_left(speech, (start, start)) - 1)
    total = 0
    while k < len(speech) and speech[k][0] < end:
        total += max(0, min(speech[k][1], end) - max(speech[k][0], start))
        k += 1
    return total


def _force_all(decoders: _Decoders, words: Sequence[Word], match: Sequence[int],
               spoken: dict[int, bool], rough: Sequence[_Rough], heard: Sequence[Heard],
               progress: Progress, dropped: frozenset[int] = frozenset(),
               ) -> tuple[list[TimedWord], tuple[int, int]]:
    """Force-align the spoken sentences piece by piece; times for every spoken word."""
    times: list[tuple[int, int, int] | None] = [None] * len(words)
    guessed: set[int] = set()  # words of pieces the forcing found no path in
    skipped = frozenset(_skipped(words, match, spoken, rough, heard) | dropped)
    pieces = _pieces(words, match, spoken, rough, heard, skipped)
    failed = forced = 0
    for n, (take, first, last, start, end) in enumerate(pieces):
        progress(n / max(1, len(pieces)))
        names = [_name(words[k]) for k in range(first, last + 1)]
        got: list[tuple[int, int]] | None
        if all(m >= 0 and rough[m].forced and rough[m].take == take
               for m in match[first:last + 1]):  # forced with its paragraph already
            got = [(rough[m].start, rough[m].end) for m in match[first:last + 1]]
        elif all(m >= 0 for m in match[first:last + 1]) and not FORCE_HEARD:
            got = _interpolate(match[first:last + 1], rough, start, end, heard[take])
        else:
            forced += 1
            # a silence between sentences: without it the first word of a sentence takes
            # in the pause before it (measured: 0.35 s early on two starts of demo 000)
            pauses = [k - first for k in range(first + 1, last + 1)
                      if words[k].sentence != words[k - 1].sentence]
            piece = words[first:last + 1]
            got = _force(decoders.align(), heard[take], piece, start, end, pauses)
            if got is None and pauses:  # sentences run together: no pause to force
                got = _force(decoders.align(), heard[take], piece, start, end)
        if got is None:  # fall back on what was heard, in between spread evenly
            failed += 1
            log.info("forced alignment failed on %d words at %d ms; using the recognition",
                     len(names), start)
            got = _interpolate(match[first:last + 1], rough, start, end, heard[take])
            guessed.update(range(first, last + 1))
        for k, span in zip(range(first, last + 1), got, strict=True):
            times[k] = (take, *span)
    # a word of a mostly skipped clause forced into a pause was not said either ("lies"
    # of a verse line left out, recognised on the next line's first word)
    for clause in _mostly(words, skipped):
        for k in clause:
            t = times[k]
            if t is not None and _in_pause(heard[t[0]], t[1], t[2]):
                times[k] = None
    out = []
    heard_flags = np.array([m >= 0 for m in match], dtype=float)
    for k, w in enumerate(words):
        t = times[k]
        if t is None:
            out.append(TimedWord(w, -1, -1, -1, 0.0))
            continue
        lo, hi = max(0, k - 3), min(len(words), k + 4)
        conf = 0.5 + 0.5 * float(heard_flags[lo:hi].mean())
        if k in guessed:  # not forced: recognised (at most 0.5), or spread between those
            conf = min(conf, 0.5 if match[k] >= 0 else GUESSED)
        out.append(TimedWord(w, t[0], t[1], t[2], round(conf, 3)))
    return out, (forced, failed)


def _skipped(words: Sequence[Word], match: Sequence[int], spoken: dict[int, bool],
             rough: Sequence[_Rough], heard: Sequence[Heard]) -> set[int]:
    """Words of a spoken sentence that were skipped: a run of at least ``_SKIP_RUN`` unheard
    words between two heard words of the same take with too little speech between them to
    hold it (a phrase or verse line left out; forcing would squeeze it in)."""
    out: set[int] = set()
    heard_at = [k for k, m in enumerate(match) if m >= 0]
    for a, b in itertools.pairwise(heard_at):
        run = range(a + 1, b)
        if len(run) < _SKIP_RUN or not all(spoken[words[k].sentence] for k in run):
            continue
        ra, rb = rough[match[a]], rough[match[b]]
        if ra.take != rb.take:
            continue
        if _speech_between(heard[ra.take], ra.end, rb.start) < len(run) * _MS_PER_WORD * 0.35:
            out.update(run)
    # a clause mostly skipped is skipped whole where its other words were "heard" in a
    # pause: the recogniser's guesses ("... ill disposed: but he was, ..." left out: "but"
    # was heard in the 0.8 s of silence before the next sentence)
    for clause in _mostly(words, out):
        out.update(k for k in clause if match[k] < 0 or _in_pause(
            heard[rough[match[k]].take], rough[match[k]].start, rough[match[k]].end))
    return out


def _clauses(words: Sequence[Word]) -> list[range]:
    """The words of each clause: from a word that opens one to the next."""
    starts = [k for k, w in enumerate(words) if w.opens or k == 0]
    return [range(a, b) for a, b in itertools.pairwise([*starts, len(words)])]


def _mostly(words: Sequence[Word], skipped: set[int] | frozenset[int]) -> list[range]:
    """The clauses at least half ``skipped``."""
    return [c for c in _clauses(words) if 2 * sum(k in skipped for k in c) >= len(c)]


def _in_pause(h: Heard, start: int, end: int) -> bool:
    """Under 50 ms of speech from ``start`` to ``end``: a word there was not said."""
    return _speech_between(h, start, end) < 50


def _pieces(words: Sequence[Word], match: Sequence[int], spoken: dict[int, bool],
            rough: Sequence[_Rough], heard: Sequence[Heard], skipped: frozenset[int] = frozenset(),
            ) -> list[tuple[int, int, int, int, int]]:
    """(take, first word, last word, start ms, end ms) of each stretch to force-align:
    runs of spoken sentences in one take, cut between clauses at a pause between two
    heard words, each at most about ``_PIECE`` long."""
    runs: list[list[int]] = []  # word indexes
    take_of: list[int] = []
    current_take = -1
    for k, w in enumerate(words):
        if not spoken[w.sentence] or k in skipped:
            if runs and runs[-1]:
                runs.append([])
                take_of.append(current_take)
            continue
        if match[k] >= 0 and rough[match[k]].take != current_take and runs and runs[-1] \
                and current_take >= 0:
            runs.append([])
            take_of.append(rough[match[k]].take)
        if match[k] >= 0:
            current_take = rough[match[k]].take
        if not runs:
            runs.append([])
            take_of.append(current_take)
        runs[-1].append(k)
        if take_of[-1] < 0:
            take_of[-1] = current_take
    out = []
    for run, take in zip(runs, take_of, strict=True):
        heard_in = [k for k in run if match[k] >= 0]
        if not run or take < 0 or not heard_in:
            continue
        h = heard[take]
        start = _extend_back(h, rough[match[heard_in[0]]].start, heard_in[0] - run[0])
        end = _extend_forward(h, rough[match[heard_in[-1]]].end, run[-1] - heard_in[-1])
        # cut points: between sentences or clauses (a verse's sentence runs for twelve
        # lines), where the last word before and the first after were both heard and a
        # pause lies between them. cuts (first word after, where the piece before ends,
        # where the next starts): the pause after one clause's last heard word and the
        # pause before the next one's first; speech between them (a retake, an ad-lib, a
        # second speaker) is in neither piece
        cuts = [(run[0], start, start)]
        for a, b in itertools.pairwise(run):
            if (words[a].sentence == words[b].sentence and not words[b].opens) \
                    or match[a] < 0 or match[b] < 0:
                continue
            ra, rb = rough[match[a]], rough[match[b]]
            if ra.take != take or rb.take != take or rb.start <= ra.end:
                continue
            stop, go = _pause_after(h, ra.end), _pause_before(h, rb.start)
            if not ra.end <= stop <= go <= rb.start:
                stop = go = _pause_near(h, (ra.end + rb.start) // 2)
            if stop - cuts[-1][2] >= _PIECE_MIN:
                cuts.append((b, stop, go))
        cuts.append((run[-1] + 1, end, end))
        for (w0, _, t0), (w1, t1, _) in itertools.pairwise(cuts):
            out.append((take, w0, w1 - 1, t0, t1))
    return out


def _pause_after(h: Heard, t: int) -> int:
    """The middle of the first pause after the speech that ``t`` ends (at most 0.4 s in)."""
    k = bisect.bisect_left([b for _, b in h.speech], t - 150)
    if k >= len(h.speech):
        return t + _PAD
    a = h.speech[k][1]
    b = h.speech[k + 1][0] if k + 1 < len(h.speech) else a + 800
    return min((a + b) // 2, a + 400)


def _pause_before(h: Heard, t: int) -> int:
    """The middle of the last pause before the speech that ``t`` starts (at most 0.4 s)."""
    k = bisect.bisect_right([a for a, _ in h.speech], t + 150) - 1
    if k <= 0:
        return max(0, t - _PAD)
    a, b = h.speech[k - 1][1], h.speech[k][0]
    return max((a + b) // 2, b - 400)


def _pause_near(h: Heard, t: int) -> int:
    """The middle of the pause nearest ``t`` (within half a second), else ``t``: a piece
    must begin and end in silence, not in the tail of a word."""
    k = bisect.bisect_left(h.speech, (t, t))
    best, dist = t, 500
    for q in (k - 1, k):
        if 0 < q < len(h.speech) + 1 and q - 1 >= 0 and q <= len(h.speech):
            a = h.speech[q - 1][1]
            b = h.speech[q][0] if q < len(h.speech) else a + 400
            mid = (a + b) // 2
            d = 0 if a <= t <= b else min(abs(t - a), abs(t - b))
            if d < dist:
                best, dist = mid, d
    return best


def _extend_back(h: Heard, start: int, missing: int) -> int:
    """Where a piece starts whose first ``missing`` words were not heard: back over the
    speech before ``start``, as much as those words take, stopping at a long pause."""
    limit = start - missing * _MS_PER_WORD * 2 - _PAD
    t = start - _PAD
    for a, b in reversed(h.speech):
        if a >= start:
            continue
        if b < t - 600 or a < limit:
            break
        t = min(t, max(a - _PAD, limit))
    return max(0, t)


def _extend_forward(h: Heard, end: int, missing: int) -> int:
    limit = end + missing * _MS_PER_WORD * 2 + _PAD
    t = end + _PAD
    for a, b in h.speech:
        if b <= end:
            continue
        if a > t + 600 or b > limit:
            break
        t = max(t, min(b + _PAD, limit))
    return min(h.duration, t)


def _interpolate(match: Sequence[int], rough: Sequence[_Rough], start: int, end: int,
                 h: Heard) -> list[tuple[int, int]]:
    """Recognised times for heard words; unheard ones spread over the speech between
    their heard neighbours (after the last pause there: a sentence starts after one)."""
    known = [(k, rough[m].start, rough[m].end) for k, m in enumerate(match) if m >= 0]
    out = []
    for k in range(len(match)):
        if match[k] >= 0:
            r = rough[match[k]]
            out.append((r.start, r.end))
            continue
        prev = max((x for x in known if x[0] < k), default=(-1, start, start))
        nxt = min((x for x in known if x[0] > k), default=(len(match), end, end))
        lo = max([prev[2]] + [a for a, _ in h.speech if prev[2] < a < nxt[1]])
        span = nxt[1] - lo
        a = lo + span * (k - prev[0] - 1) // max(1, nxt[0] - prev[0] - 1)
        b = lo + span * (k - prev[0]) // max(1, nxt[0] - prev[0] - 1)
        out.append((a, max(a + 10, b)))
    return out


def _last_sayings(decoders: _Decoders, words: Sequence[Word], timed: list[TimedWord],
                  rough: Sequence[_Rough], heard: Sequence[Heard],
                  ) -> tuple[list[TimedWord], int]:
    """The last complete saying of each sentence kept (the rule for retakes): a sentence
    followed, before the next sentence, by unscripted speech in which most of its tokens
    were heard in order (said again) is forced on that later saying; its earlier one is
    left to :func:`_unscripted`. Returns the words and the number of sentences moved."""
    out = list(timed)
    moved = 0
    for span in _unscripted(rough, out):
        said = [r for r in rough
                if r.take == span.take and span.start <= r.start and r.end <= span.end]
        before = [k for k, t in enumerate(out)
                  if t.take == span.take and t.heard and t.end <= span.start]
        if not before or not said:
            continue
        after = next((t for t in out[before[-1] + 1:] if t.heard), None)
        if after is not None and after.take == span.take and after.start < span.end:
            continue  # the span is not between this sentence and the next
        names: list[str] = []
        owner: list[int] = []
        for n, r in enumerate(said):
            norms = decoders.lexicon.names.get(r.name, (r.name,))
            names += norms
            owner += [n] * len(norms)
        h = heard[span.take]
        sentence = [k for k, w in enumerate(words) if w.sentence == words[before[-1]].sentence]
        clause = list(range(next(c for c in _clauses(words) if before[-1] in c).start,
                            before[-1] + 1))
        for own in (sentence, clause):
            tokens = [n for k in own for n in words[k].norms]
            alignment = align_words(tokens, names)
            hits = [(i, owner[int(j)]) for i, (j, q) in enumerate(zip(
                alignment.target, alignment.quality, strict=True)) if j >= 0 and q > 0]
            if len(hits) >= max(2, _RETAKE_SHARE * len(tokens)):
                # forced on the speech from its first word heard again to its last (an
                # aside before it, "sorry, again", stays unscripted), widened for words
                # not heard
                first, last = said[hits[0][1]], said[hits[-1][1]]
                missing = hits[0][0], len(tokens) - 1 - hits[-1][0]
                start = _extend_back(h, first.start, missing[0]) if missing[0] else \
                    _pause_before(h, first.start)
                end = _extend_forward(h, last.end, missing[1]) if missing[1] else \
                    _pause_after(h, last.end)
                break
            # its last clause said again (a verse line, a phrase), of which recognition
            # may hear little in noisy speech: about as much speech, and the clause sounds
            # as well forced there as on its first saying
            saying = out[own[0]].start, out[own[-1]].end
            again = _last_speech(h, span.start, span.end, 0.8 * _speech_between(h, *saying))
            if own is clause and again is not None and _speech_between(h, *again) <= 1.8 * \
                    _speech_between(h, *saying) and _sounds_alike(
                    decoders, h, [words[k] for k in own], saying, again):
                start, end = _pause_before(h, again[0]), _pause_after(h, again[1])
                break
        else:
            continue
        got = _force(decoders.align(), h, [words[k] for k in own], start, end)
        if got is None:
            continue
        for k, (a, b) in zip(own, got, strict=True):
            out[k] = TimedWord(words[k], span.take, a, b, out[k].confidence)
        moved += 1
    return out, moved


def _last_speech(h: Heard, start: int, end: int, least: float) -> tuple[int, int] | None:
    """From the latest stretch of speech in [start, end) back to hold ``least`` ms of speech
    to its end (a filler or an aside before a retake left out); None if there is less."""
    inside = [(max(a, start), min(b, end)) for a, b in h.speech if a < end and b > start]
    total = 0
    for a, b in reversed(inside):
        total += b - a
        if total >= least:
            return a, inside[-1][1]
    return None


def _sounds_alike(decoders: _Decoders, h: Heard, words: Sequence[Word],
                  said: tuple[int, int], again: tuple[int, int]) -> bool:
    """``words`` forced on the speech ``again`` fit it about as well as they fit where they
    were ``said`` (the path's score a frame, against the best each frame allows): a
    retake, not other speech of about as much (measured on the real takes, the score's
    ratio to the first saying's: a retake 0.97, clean or under reverb; the second speaker
    2.0-2.4 clean and 1.4 under reverb, another line 1.8)."""
    scores = []
    for a, b in (said, again):
        if _force_raw(decoders.align(), h, [_name(w) for w in words],
                      _pause_before(h, a), _pause_after(h, b)) is None:
            return False
        scores.append(_score(decoders.align()))
    return scores[1] >= _RETAKE_SCORE * scores[0]


def _score(decoder: Any) -> float:
    """The last forced path's score a frame: the log of its probability against the best
    each frame allows (0 at best)."""
    return math.log(max(1e-300, decoder.hyp().best_score)) / max(1, decoder.n_frames())


def _unscripted(rough: Sequence[_Rough], timed: Sequence[TimedWord]) -> list[Span]:
    """Recognised words outside every timed script word, in runs (a recognised word the
    aligner matched to a script word said elsewhere, a retake, counts as unscripted)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for t in timed:
        if t.heard:
            spans.setdefault(t.take, []).append((t.start - 100, t.end + 100))
    starts = {k: [a for a, _ in v] for k, v in spans.items()}
    out: list[Span] = []
    run: list[_Rough] = []

    def covered(r: _Rough) -> bool:
        mid = (r.start + r.end) // 2
        k = bisect.bisect_right(starts.get(r.take, []), mid) - 1
        return k >= 0 and spans[r.take][k][1] > mid

    def flush() -> None:
        if run and (len(run) >= _UNSCRIPTED_MIN or run[-1].end - run[0].start >= _UNSCRIPTED_MS):
            out.append(Span(run[0].take, run[0].start, run[-1].end,
                            " ".join(r.name for r in run)))
        run.clear()

    for r in rough:
        inside = covered(r)
        if inside or (run and (r.take != run[-1].take or r.start - run[-1].end > 1500)):
            flush()
        if not inside:
            run.append(r)
    flush()
    return out


def _unspoken(lesson: Lesson, words: Sequence[Word], said: Sequence[bool],
              ) -> tuple[Passage, ...]:
    """Runs of unsaid words, one passage per narration line they touch."""
    out: list[Passage] = []
    k = 0
    while k < len(words):
        if said[k]:
            k += 1
            continue
        q = k
        while q < len(words) and not said[q] and words[q].narration == words[k].narration:
            q += 1
        text = lesson.narration[words[k].narration].text
        stop = words[q - 1].char[1]
        while stop < len(text) and not text[stop].isspace():
            stop += 1
        out.append(Passage(words[k].line, text[words[k].char[0]:stop]))
        k = q
    return tuple(out)
