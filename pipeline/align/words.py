"""Words: tokenizing and normalizing text, and aligning two word sequences.

``tokenize`` turns script or caption text into normalized tokens that remember the span
of the original text they came from. ``align_words`` is a global alignment of two token
sequences that is fast on hour-long lessons and robust to what real takes do:

1. anchors: trigrams that occur exactly once in each sequence;
2. runs: anchors that follow one diagonal (same offset) are grouped into runs;
3. chain: the heaviest in-order chain of runs is the backbone; runs off the backbone
   (a passage recorded in a different order) are kept when they are solid and do not
   overlap what is already placed;
4. fill: between consecutive anchors, a small dynamic-programming alignment with fuzzy
   word scores (exact, same stem, same sound-alike key, substitution) vectorized by rows
   with numpy.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# --- tokenizing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    norm: str  # normalized word: lowercase, contractions expanded, numbers as digits
    start: int  # character span of the original text it came from
    end: int


_RAW = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*['’]?|['’]em\b|&|%", re.UNICODE)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")  # "typesIf" (lost space) -> "types If"

_CONTRACTIONS = {
    "won't": ("will", "not"), "can't": ("can", "not"), "cannot": ("can", "not"),
    "shan't": ("shall", "not"), "ain't": ("is", "not"), "let's": ("let", "us"),
    "'em": ("them",), "gonna": ("going", "to"), "wanna": ("want", "to"),
    "gotta": ("got", "to"), "&": ("and",), "%": ("percent",), "ok": ("okay",),
}
_SUFFIXES = {"'ll": "will", "'re": "are", "'ve": "have", "'m": "am", "'d": "would"}
_IS_WORDS = {"it", "that", "there", "here", "what", "who", "he", "she", "where", "how", "this"}

_UNITS = {w: i for i, w in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen"])}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}


_THOUSANDS = re.compile(r"\d+(?:,\d{3})+")


@functools.lru_cache(maxsize=65536)
def _expand(word: str) -> tuple[str, ...]:
    """One lowercase raw word -> its normalized words (contractions expanded)."""
    if word.isalnum() and word not in _CONTRACTIONS:
        return (word,)
    word = word.replace("’", "'").strip("'") if not word.startswith("'em") else "'em"
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word]
    if _THOUSANDS.fullmatch(word):  # 10,000 -> 10000
        return (word.replace(",", ""),)
    if word.endswith("n't"):
        return (word[:-3], "not")
    for suffix, full in _SUFFIXES.items():
        if word.endswith(suffix) and len(word) > len(suffix):
            return (word[: -len(suffix)], full)
    if word.endswith("'s"):
        base = word[:-2]
        return (base, "is") if base in _IS_WORDS else (base,)
    return (word.replace("'", ""),)


def _number_value(words: Sequence[str]) -> int | None:
    """Value of a run of number words/digits ("one million", "10 thousand"), else None."""
    total = current = 0
    for word in words:
        if word.isdigit():
            current += int(word)
        elif word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
        else:
            return None
    return total + current


def _is_number_word(word: str) -> bool:
    return word.isdigit() or word in _UNITS or word in _TENS or word in _SCALES


def _raw_words(text: str) -> list[tuple[str, int, int]]:
    """Lowercase raw words with spans; a lost space ("typesIf") splits the word."""
    out: list[tuple[str, int, int]] = []
    for match in _RAW.finditer(text):
        word, start = match.group(0), match.start()
        if word[1:].islower() or not _CAMEL.search(word):
            out.append((word.lower(), start, match.end()))
            continue
        cuts = [0] + [m.start() for m in _CAMEL.finditer(word)] + [len(word)]
        for c0, c1 in itertools.pairwise(cuts):
            out.append((word[c0:c1].lower(), start + c0, start + c1))
    return out


def tokenize(text: str) -> list[Token]:
    """Normalized tokens of ``text`` with the character span each came from."""
    raw = [(norm, start, end) for word, start, end in _raw_words(text)
           for norm in _expand(word) if norm]
    tokens: list[Token] = []
    i = 0
    while i < len(raw):
        j = i
        while j < len(raw) and _is_number_word(raw[j][0]):
            j += 1
        # A run of number words (or digits with a scale: "1 million") becomes its value.
        if j > i and not (j - i == 1 and (raw[i][0].isdigit() or raw[i][0] in _SCALES)):
            value = _number_value([w for w, _, _ in raw[i:j]])
            if value is not None:
                tokens.append(Token(str(value), raw[i][1], raw[j - 1][2]))
                i = j
                continue
        word, start, end = raw[i]
        tokens.append(Token(word, start, end))
        i += 1
    return tokens


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light stem: plural and verb endings off, so "customers" ~ "customer"."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


_SOUND = str.maketrans("ckqzvpdgj", "kkksfbtkg")


@functools.lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """A sound-alike key: first letter plus consonant skeleton ("beachead" ~ "beachhead")."""
    word = stem(word)
    if len(word) <= 3 or word.isdigit():
        return word
    body = re.sub(r"[aeiouyhw]", "", word[1:].translate(_SOUND))
    return word[0] + re.sub(r"(.)\1+", r"\1", body)


# --- aligning --------------------------------------------------------------------------

EXACT, STEM, SOUND, SUBSTITUTED = 1.0, 0.8, 0.6, 0.2  # quality of a matched pair
_SCORE_EXACT, _SCORE_STEM, _SCORE_SOUND, _SCORE_SUB, _GAP = 2.0, 1.6, 1.0, -1.0, 1.0
_ANCHOR_N = 3
_MAX_DIAGONAL_DRIFT = 4  # words of ad-lib or dropped text allowed inside one run
_MIN_MOVED_RUN = 3  # anchors a run off the main chain needs to be trusted


@dataclass(frozen=True, slots=True)
class Alignment:
    """For each word of ``a``: the index of its word in ``b`` (-1: none) and a quality."""

    target: np.ndarray  # int, len(a)
    quality: np.ndarray  # float, len(a): EXACT/STEM/SOUND/SUBSTITUTED or 0 (unmatched)
    anchored: np.ndarray  # bool, len(a): part of a trigram found once on each side

    @property
    def coverage(self) -> float:
        if len(self.quality) == 0:
            return 0.0
        return float(np.mean(self.quality >= SOUND))


class _Ids:
    """Words as small integers at three levels of fuzziness."""

    def __init__(self) -> None:
        self.table: dict[str, int] = {}

    def of(self, words: Sequence[str]) -> np.ndarray:
        table = self.table
        return np.fromiter((table.setdefault(w, len(table)) for w in words), dtype=np.int64,
                           count=len(words))


@dataclass(frozen=True, slots=True)
class _Seq:
    norm: np.ndarray
    stem: np.ndarray
    sound: np.ndarray


def _encode(a: Sequence[str], b: Sequence[str]) -> tuple[_Seq, _Seq]:
    ids, stems, sounds = _Ids(), _Ids(), _Ids()

    def seq(words: Sequence[str]) -> _Seq:
        return _Seq(ids.of(words), stems.of([stem(w) for w in words]),
                    sounds.of([sound_key(w) for w in words]))

    return seq(a), seq(b)


def _unique_ngrams(ids: np.ndarray, n: int) -> dict[tuple[int, ...], int]:
    seen: dict[tuple[int, ...], int] = {}
    for i in range(len(ids) - n + 1):
        key = tuple(ids[i:i + n].tolist())
        seen[key] = -1 if key in seen else i
    return {k: v for k, v in seen.items() if v >= 0}


def _anchors(a: np.ndarray, b: np.ndarray, n: int) -> list[tuple[int, int]]:
    ua, ub = _unique_ngrams(a, n), _unique_ngrams(b, n)
    return sorted((i, ub[k]) for k, i in ua.items() if k in ub)


def _runs(anchors: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Group anchors (sorted by a) into runs along one diagonal."""
    runs: list[list[tuple[int, int]]] = []
    for i, j in anchors:
        if runs:
            pi, pj = runs[-1][-1]
            if j > pj and i - pi <= 30 and abs((j - i) - (pj - pi)) <= _MAX_DIAGONAL_DRIFT:
                runs[-1].append((i, j))
                continue
        runs.append([(i, j)])
    return runs


def _chain(runs: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """The heaviest set of runs in order on both sides, plus solid out-of-order runs."""
    if not runs:
        return []
    order = sorted(range(len(runs)), key=lambda r: runs[r][0])
    best = [0.0] * len(runs)
    back = [-1] * len(runs)
    for pos, r in enumerate(order):
        first_i, first_j = runs[r][0]
        best[r] = len(runs[r])
        for q in order[max(0, pos - 200):pos]:  # runs are few; a window keeps this linear
            last_i, last_j = runs[q][-1]
            if last_i < first_i and last_j < first_j and best[q] + len(runs[r]) > best[r]:
                best[r] = best[q] + len(runs[r])
                back[r] = q
    r = max(range(len(runs)), key=lambda k: best[k])
    chosen: list[int] = []
    while r >= 0:
        chosen.append(r)
        r = back[r]
    chosen = _drop_strays(runs, chosen[::-1])
    chosen_set = set(chosen)
    spans = [(runs[r][0][0], runs[r][-1][0] + _ANCHOR_N - 1,
              runs[r][0][1], runs[r][-1][1] + _ANCHOR_N - 1) for r in chosen]
    moved = sorted((r for r in range(len(runs)) if r not in chosen_set
                    and len(runs[r]) >= _MIN_MOVED_RUN), key=lambda r: -len(runs[r]))
    for r in moved:
        a0, a1 = runs[r][0][0], runs[r][-1][0] + _ANCHOR_N - 1
        b0, b1 = runs[r][0][1], runs[r][-1][1] + _ANCHOR_N - 1
        clear_a = all(a1 < s[0] or a0 > s[1] for s in spans)
        if clear_a and all(b1 < s[2] or b0 > s[3] for s in spans):
            chosen.append(r)
            spans.append((a0, a1, b0, b1))
    return [runs[r] for r in chosen]


_STRAY_DIAGONAL = 40  # a lone anchor this far off both neighbours' diagonals is chance


def _drop_strays(runs: list[list[tuple[int, int]]], chain: list[int]) -> list[int]:
    """Drop short runs in the chain whose offset agrees with neither neighbour: chance
    matches of common phrases (a wrong take matches only in such strays)."""
    def diagonal(r: int) -> int:
        return runs[r][0][1] - runs[r][0][0]

    kept = []
    for k, r in enumerate(chain):
        if len(runs[r]) > 2:
            kept.append(r)
            continue
        near = [chain[x] for x in (k - 1, k + 1) if 0 <= x < len(chain)]
        if any(abs(diagonal(r) - diagonal(q)) <= _STRAY_DIAGONAL for q in near):
            kept.append(r)
    return kept


def _scores(a: _Seq, b: _Seq, ai: slice, bj: slice) -> np.ndarray:
    an, bn = a.norm[ai][:, None], b.norm[bj][None, :]
    s = np.where(an == bn, _SCORE_EXACT, _SCORE_SUB)
    s = np.where((s < _SCORE_EXACT) & (a.stem[ai][:, None] == b.stem[bj][None, :]), _SCORE_STEM, s)
    return np.where((s == _SCORE_SUB) & (a.sound[ai][:, None] == b.sound[bj][None, :]),
                    _SCORE_SOUND, s)


def _dp(score: np.ndarray, free_start: bool, free_end: bool) -> list[tuple[int, int]]:
    """Global alignment (linear gaps) of a score matrix; pairs (row, col) on the diagonal.

    ``free_start``/``free_end``: leading/trailing unmatched words on either side cost nothing
    (the recording may begin with an ad-lib, or the script with words never spoken).
    """
    n, m = score.shape
    if n == 0 or m == 0:
        return []
    gap = _GAP
    steps = np.arange(m + 1, dtype=np.float64) * gap
    prev = np.zeros(m + 1) if free_start else -steps.copy()
    ptr = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 diag, 1 up (skip a), 2 left (skip b)
    ptr[0, 1:] = 2
    rows = [prev]
    for i in range(1, n + 1):
        diag = prev[:-1] + score[i - 1]
        up = prev[1:] - gap
        t = np.empty(m + 1)
        t[0] = 0.0 if free_start else -gap * i
        t[1:] = np.maximum(diag, up)
        h = np.maximum.accumulate(t + steps) - steps
        p = ptr[i]
        p[1:] = np.where(diag >= up, 0, 1)
        p[0] = 1
        p[h > t] = 2
        rows.append(h)
        prev = h
    i, j = n, m
    if free_end:
        last_row, last_col = rows[n], np.array([r[m] for r in rows])
        jr, ic = int(np.argmax(last_row)), int(np.argmax(last_col))
        i, j = (n, jr) if last_row[jr] >= last_col[ic] else (ic, m)
    pairs: list[tuple[int, int]] = []
    while i > 0 and j > 0:
        move = ptr[i, j]
        if move == 0:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move == 1:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def _quality(score: float) -> float:
    if score >= _SCORE_EXACT:
        return EXACT
    if score >= _SCORE_STEM:
        return STEM
    if score >= _SCORE_SOUND:
        return SOUND
    return SUBSTITUTED


_MAX_CELLS = 4_000_000  # a gap bigger than this is split by anchors found inside it first


def align_words(a: Sequence[str], b: Sequence[str]) -> Alignment:
    """Align normalized word sequence ``a`` (the script) to ``b`` (the captions)."""
    target = np.full(len(a), -1, dtype=np.int64)
    quality = np.zeros(len(a))
    if not a or not b:
        return Alignment(target, quality, np.zeros(len(a), dtype=bool))
    sa, sb = _encode(a, b)
    runs = _chain(_runs(_anchors(sa.norm, sb.norm, _ANCHOR_N)))
    anchors = sorted((i + k, j + k) for run in runs for i, j in run for k in range(_ANCHOR_N))
    # Overlapping trigram anchors give the same pair twice; keep each word once.
    placed: list[tuple[int, int]] = []
    used_b: set[int] = set()
    for i, j in anchors:
        if (placed and placed[-1][0] == i) or j in used_b:
            continue
        placed.append((i, j))
        used_b.add(j)
    for i, j in placed:
        target[i] = j
        quality[i] = EXACT
    anchored = target >= 0
    _fill(sa, sb, placed, target, quality)
    return Alignment(target, quality, anchored)


def _fill(a: _Seq, b: _Seq, placed: list[tuple[int, int]], target: np.ndarray,
          quality: np.ndarray) -> None:
    """Align the words between consecutive anchors (and before the first, after the last)."""
    n, m = len(a.norm), len(b.norm)
    taken = np.zeros(m, dtype=bool)
    for _, j in placed:
        taken[j] = True
    bounds = [(-1, -1)] + placed + [(n, m)]
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        if i1 - i0 <= 1:
            continue
        if j1 > j0:
            _fill_gap(a, b, (i0 + 1, i1), (j0 + 1, j1), i0 == -1, i1 == n, target, quality, taken)
            continue
        # A jump between passages recorded in another order: the words after the last anchor
        # continue where it was spoken; the words before the next anchor lead into where
        # that one was spoken. Extend from both sides, each with a free far end.
        size = i1 - i0 - 1
        _fill_gap(a, b, (i0 + 1, i1), (j0 + 1, _free_until(taken, j0 + 1, size + 5, 1)),
                  False, True, target, quality, taken)
        matched = np.flatnonzero(target[i0 + 1:i1] >= 0)
        rest = i0 + 2 + int(matched[-1]) if len(matched) else i0 + 1
        if rest < i1:
            lo = _free_until(taken, j1 - 1, i1 - rest + 5, -1)
            _fill_gap(a, b, (rest, i1), (lo, j1), True, False, target, quality, taken)


def _free_until(taken: np.ndarray, start: int, limit: int, step: int) -> int:
    """From ``start`` walk ``step`` while caption words are free, at most ``limit`` words."""
    pos, count = start, 0
    while 0 <= pos < len(taken) and not taken[pos] and count < limit:
        pos += step
        count += 1
    return pos if step > 0 else pos + 1


def _fill_gap(a: _Seq, b: _Seq, ai: tuple[int, int], bj: tuple[int, int], free_start: bool,
              free_end: bool, target: np.ndarray, quality: np.ndarray, taken: np.ndarray) -> None:
    (a0, a1), (b0, b1) = ai, bj
    if a1 <= a0 or b1 <= b0:
        return
    if (a1 - a0) * (b1 - b0) > _MAX_CELLS:
        # Too big for one table: split on shorter unique anchors found inside the gap.
        inner = _anchors(a.norm[a0:a1], b.norm[b0:b1], 2)
        runs = _chain(_runs(inner))
        mids: list[tuple[int, int]] = []
        for i, j in sorted((a0 + i, b0 + j) for run in runs for i, j in run):
            if not mids or (i > mids[-1][0] and j > mids[-1][1]):  # in order only
                mids.append((i, j))
        if not mids:  # nothing in common: leave the gap unmatched
            return
        bounds = [(a0 - 1, b0 - 1)] + mids + [(a1, b1)]
        for i, j in mids:
            target[i], quality[i], taken[j] = j, EXACT, True
        for k, ((i0, j0), (i1, j1)) in enumerate(itertools.pairwise(bounds)):
            _fill_gap(a, b, (i0 + 1, i1), (j0 + 1, j1), free_start and k == 0,
                      free_end and k == len(bounds) - 2, target, quality, taken)
        return
    score = _scores(a, b, slice(a0, a1), slice(b0, b1))
    score[:, taken[b0:b1]] = -1e6  # never reuse a caption word an anchor already holds
    for i, j in _dp(score, free_start, free_end):
        s = float(score[i, j])
        if s <= -1e5:
            continue
        target[a0 + i] = b0 + j
        quality[a0 + i] = _quality(s)
        taken[b0 + j] = True
