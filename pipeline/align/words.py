"""Words: tokenizing and normalizing text, and the one word aligner.

``tokenize`` turns script or caption text into normalized tokens that remember the span
of the original text they came from. ``align_words(a, b)`` aligns the words as written
(``a``: the script) with the words as said (``b``: captions, recognized speech); every
text-to-text match in the pipeline goes through it (cue placement, caption cleaning via
``opcodes``, the script's words on speech). It is fast on hour-long lessons and robust to
what real takes do:

1. anchors: trigrams found exactly once on each side;
2. runs: anchors that follow one diagonal (same offset) are grouped into runs;
3. chain: the heaviest in-order chain of runs is the backbone; runs off the backbone
   (a passage recorded in a different order) are kept when they are solid and do not
   overlap what is already placed;
4. fill: each gap between consecutive anchors is aligned by a dynamic-programming table
   with fuzzy word scores (exact, same stem, same sound-alike key, substitution),
   vectorized by rows with numpy, when it has at most ``_MAX_CELLS`` cells. A bigger gap
   (repeated material: a recap, the same intro in every section, a lesson said again and
   again) is divided first, never given up: at trigrams found once on each side of the gap
   (a repeat elsewhere no longer counts); else at trigrams found as often on each side,
   the k-th occurrence paired with the k-th, near the gap's diagonal and backed by a
   neighbour on the same diagonal; else at bigrams found once; and when no anchor is left,
   at the place where the gap's middle word crosses the other side (Hirschberg's split: one
   pass over the gap keeping one row, then both halves in turn);
5. retakes: of equal alignments the later take wins (the traceback prefers matches late in
   ``b``); script words matched to an earlier take move to a later take of the same words
   that follows before the next script word; each word's earlier takes are counted
   (``Alignment.retakes``).

Worst case: time O(n·m) numpy cell updates for sequences of n and m words (two rows'
worth of work per cell over all levels of Hirschberg splits, each level halving the gap),
when long stretches share words but no n-gram anchor; memory O(n + m) plus one table of at
most ``_MAX_CELLS`` cells (int8 back-pointers, int32 scores and their temporaries: about
50 MB at the limit). Typical: anchors cut an hour into tables of a few hundred words,
O((n + m) log(n + m)) in all. Measured on this
machine (``python -m benchmarks align``): a 9,000-word lesson in about 0.1 s; one lesson
written and said nine times over (9,225 words, no unique trigram) in 0.1–0.5 s; with one
copy never said (counts differ everywhere: Hirschberg splits) 0.9–1.5 s, 51 MB at the peak.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

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
# Table scores are integers, so equal alignments tie exactly (a tie goes to the later take).
_SCORE_EXACT, _SCORE_STEM, _SCORE_SOUND, _SCORE_SUB, _GAP = 10, 8, 5, -5, 5
_BLOCKED = -1_000_000  # a caption word an anchor already holds
_ANCHOR_N = 3
_MAX_DIAGONAL_DRIFT = 4  # words of ad-lib or dropped text allowed inside one run
_MIN_MOVED_RUN = 3  # anchors a run off the main chain needs to be trusted
_MAX_CELLS = 4_000_000  # the biggest table filled at once; a bigger gap is divided first


@dataclass(frozen=True, slots=True)
class Alignment:
    """For each word of ``a``: the index of its word in ``b`` (-1: none) and a quality."""

    target: np.ndarray  # int, len(a)
    quality: np.ndarray  # float, len(a): EXACT/STEM/SOUND/SUBSTITUTED or 0 (unmatched)
    anchored: np.ndarray  # bool, len(a): part of an anchor (an n-gram found as often on
    #   each side, in order: once on each side for the whole sequences)
    retakes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # int, len(a): earlier takes of this word that ``b`` holds and the alignment skipped
    # (a false start or a sentence said again: the word is matched in its last take)

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


def _encode(a: Sequence[str], b: Sequence[str]) -> tuple[_Seq, _Seq, int]:
    ids, stems, sounds = _Ids(), _Ids(), _Ids()

    def seq(words: Sequence[str]) -> _Seq:
        return _Seq(ids.of(words), stems.of([stem(w) for w in words]),
                    sounds.of([sound_key(w) for w in words]))

    sa, sb = seq(a), seq(b)
    return sa, sb, len(ids.table)


# --- anchors: n-grams found as often on each side ---------------------------------------


def _gram_keys(ids: np.ndarray, n: int, base: int) -> np.ndarray:
    """Each n-gram of word ids as one integer."""
    count = len(ids) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = ids[:count].copy()
    for s in range(1, n):
        keys = keys * base + ids[s:s + count]
    return keys


def _paired_grams(a: np.ndarray, b: np.ndarray, n: int, base: int, unique: bool,
                  ) -> list[tuple[int, int]]:
    """(i, j) starts of n-grams found as often in ``a`` as in ``b``, the k-th occurrence on
    one side paired with the k-th on the other; ``unique``: only those found once each."""
    ka, kb = _gram_keys(a, n, base), _gram_keys(b, n, base)
    if len(ka) == 0 or len(kb) == 0:
        return []
    oa, ob = np.argsort(ka, kind="stable"), np.argsort(kb, kind="stable")
    ua, ca = np.unique(ka, return_counts=True)
    ub, cb = np.unique(kb, return_counts=True)
    common, xa, xb = np.intersect1d(ua, ub, assume_unique=True, return_indices=True)
    same = ca[xa] == cb[xb]
    if unique:
        same &= ca[xa] == 1
    keep = common[same]
    # Sorted by key, then position: the kept keys' occurrences line up one to one.
    ia = oa[np.isin(ka[oa], keep, assume_unique=False)]
    ib = ob[np.isin(kb[ob], keep, assume_unique=False)]
    return sorted(zip(ia.tolist(), ib.tolist(), strict=True))


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


def _chain(runs: list[list[tuple[int, int]]], moved: bool = True) -> list[list[tuple[int, int]]]:
    """The heaviest set of runs in order on both sides, plus (``moved``) solid out-of-order
    runs: a passage recorded in another order."""
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
    if not moved:
        return [runs[r] for r in chosen]
    chosen_set = set(chosen)
    spans = [(runs[r][0][0], runs[r][-1][0] + _ANCHOR_N - 1,
              runs[r][0][1], runs[r][-1][1] + _ANCHOR_N - 1) for r in chosen]
    off = sorted((r for r in range(len(runs)) if r not in chosen_set
                  and len(runs[r]) >= _MIN_MOVED_RUN), key=lambda r: -len(runs[r]))
    for r in off:
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


# --- tables ------------------------------------------------------------------------------


def _scores(a: _Seq, b: _Seq, ai: slice, bj: slice) -> np.ndarray:
    an, bn = a.norm[ai][:, None], b.norm[bj][None, :]
    s = np.where(an == bn, _SCORE_EXACT, _SCORE_SUB)
    s = np.where((s < _SCORE_EXACT) & (a.stem[ai][:, None] == b.stem[bj][None, :]), _SCORE_STEM, s)
    s = np.where((s == _SCORE_SUB) & (a.sound[ai][:, None] == b.sound[bj][None, :]),
                 _SCORE_SOUND, s)
    return s.astype(np.int32)


def _last_max(values: np.ndarray) -> int:
    """Index of the last maximum: of equal choices, the later one."""
    return len(values) - 1 - int(np.argmax(values[::-1]))


Ends = tuple[bool, bool]  # (words of a, words of b) free at one end of a table
FREE: Ends = (True, True)
FIXED: Ends = (False, False)


def _dp(score: np.ndarray, free_start: Ends | bool, free_end: Ends | bool,
        ) -> list[tuple[int, int]]:
    """Global alignment (linear gaps) of a score matrix; pairs (row, col) on the diagonal.

    ``free_start``/``free_end``: leading/trailing unmatched words of a side (a, b) cost
    nothing (the recording may begin with an ad-lib, or the script with words never
    spoken); the path leaves along one side: the first row or the first column. Of two
    equal alignments the traceback keeps matches late in ``b``: the last take of words said
    twice."""
    n, m = score.shape
    if n == 0 or m == 0:
        return []
    (start_a, start_b), (end_a, end_b) = _ends(free_start), _ends(free_end)
    gap = _GAP
    steps = np.arange(m + 1, dtype=np.float64) * gap
    prev = np.zeros(m + 1) if start_b else -steps.copy()
    ptr = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 diag, 1 up (skip a), 2 left (skip b)
    ptr[0, 1:] = 2
    last_col = np.empty(n + 1)
    last_col[0] = prev[m]
    for i in range(1, n + 1):
        diag = prev[:-1] + score[i - 1]
        up = prev[1:] - gap
        t = np.empty(m + 1)
        t[0] = 0.0 if start_a else -gap * i
        t[1:] = np.maximum(diag, up)
        h = np.maximum.accumulate(t + steps) - steps
        p = ptr[i]
        p[1:] = np.where(diag >= up, 0, 1)
        p[0] = 1
        p[h > t] = 2
        last_col[i] = h[m]
        prev = h
    i, j = n, m
    jr = _last_max(prev) if end_b else m
    ic = _last_max(last_col) if end_a else n
    i, j = (n, jr) if prev[jr] >= last_col[ic] else (ic, m)
    return _trace(ptr, i, j)


def _trace(ptr: np.ndarray, i: int, j: int) -> list[tuple[int, int]]:
    """The matched pairs on the path of a traceback table (0 diagonal, 1 up, 2 left,
    3 the path starts here) that ends at cell (i, j), in order."""
    pairs: list[tuple[int, int]] = []
    while i > 0 and j > 0 and ptr[i, j] != 3:
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


_ROW_CACHE = 512  # score rows kept in a linear-memory pass (512 x len(b) bytes)


def _ends(free: Ends | bool) -> Ends:
    return (free, free) if isinstance(free, bool) else free


def _last_row(a: _Seq, b: _Seq, rows: np.ndarray, bj: slice, blocked: np.ndarray,
              free_start: Ends) -> tuple[np.ndarray, float]:
    """Scores of aligning ``a``'s words ``rows`` (in this order) with every prefix of
    ``b[bj]``: the last row of the table, computed a row at a time in O(len(b)) memory;
    and the best score in its last column (all of ``b[bj]`` used) over all rows."""
    bn, bs, bd = b.norm[bj], b.stem[bj], b.sound[bj]
    m = len(bn)
    steps = np.arange(m + 1, dtype=np.float64) * _GAP
    start_a, start_b = free_start
    prev = np.zeros(m + 1) if start_b else -steps
    best_col = float(prev[m])
    t = np.empty(m + 1)
    any_blocked = bool(blocked.any())
    cache: dict[int, np.ndarray] = {}  # a word's scores against b[bj]; words repeat (Zipf)
    for r, i in enumerate(rows.tolist(), start=1):
        word = int(a.norm[i])
        s = cache.get(word)
        if s is None:
            if len(cache) >= _ROW_CACHE:
                cache.clear()
            s = cache[word] = np.where(
                bn == word, _SCORE_EXACT, np.where(bs == a.stem[i], _SCORE_STEM, np.where(
                    bd == a.sound[i], _SCORE_SOUND, _SCORE_SUB))).astype(np.int8)
        if any_blocked:
            s = np.where(blocked, _BLOCKED, s)
        t[0] = 0.0 if start_a else -_GAP * r
        np.maximum(prev[:-1] + s, prev[1:] - _GAP, out=t[1:])
        prev = np.maximum.accumulate(t + steps) - steps
        best_col = max(best_col, float(prev[m]))
    return prev, best_col


def _quality(score: float) -> float:
    if score >= _SCORE_EXACT:
        return EXACT
    if score >= _SCORE_STEM:
        return STEM
    if score >= _SCORE_SOUND:
        return SOUND
    return SUBSTITUTED


# --- the aligner -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _State:
    a: _Seq
    b: _Seq
    base: int  # number of distinct words: n-gram keys are numbers in this base
    target: np.ndarray
    quality: np.ndarray
    anchored: np.ndarray
    taken: np.ndarray  # per word of b: matched already


def align_words(a: Sequence[str], b: Sequence[str]) -> Alignment:
    """Align normalized word sequence ``a`` (the words as written: the script) to ``b`` (the
    words as said: captions, recognized speech). Never gives up while a stretch of ``a``
    and the stretch of ``b`` it falls in share words; where ``b`` holds words of ``a`` more
    than once in a row (a retake), ``a`` is matched to the last take."""
    target = np.full(len(a), -1, dtype=np.int64)
    quality = np.zeros(len(a))
    retakes = np.zeros(len(a), dtype=np.int64)
    if not a or not b:
        return Alignment(target, quality, np.zeros(len(a), dtype=bool), retakes)
    sa, sb, base = _encode(a, b)
    st = _State(sa, sb, base, target, quality, np.zeros(len(a), dtype=bool),
                np.zeros(len(b), dtype=bool))
    runs = _chain(_runs(_paired_grams(sa.norm, sb.norm, _ANCHOR_N, base, unique=True)))
    anchors = sorted((i + k, j + k) for run in runs for i, j in run for k in range(_ANCHOR_N))
    # Overlapping trigram anchors give a word once or twice; keep each word once: where two
    # anchors on nearby diagonals disagree ("safe and [easy] and laggards"), the later word.
    placed: list[tuple[int, int]] = []
    for i, j in anchors:
        if st.taken[j]:
            continue
        if placed and placed[-1][0] == i:
            st.taken[placed.pop()[1]] = False
        placed.append((i, j))
        st.taken[j] = True
    for i, j in placed:
        target[i] = j
        quality[i] = EXACT
        st.anchored[i] = True
    _fill(st, placed)
    _prefer_last_takes(st)
    _count_earlier_takes(st, retakes)
    return Alignment(target, quality, st.anchored, retakes)


def _fill(st: _State, placed: list[tuple[int, int]]) -> None:
    """Align the words between consecutive anchors (and before the first, after the last)."""
    n, m = len(st.a.norm), len(st.b.norm)
    bounds = [(-1, -1)] + placed + [(n, m)]
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        if i1 - i0 <= 1:
            continue
        if j1 > j0:
            _fill_gap(st, (i0 + 1, i1), (j0 + 1, j1), i0 == -1, i1 == n)
            continue
        # A jump between passages recorded in another order: the words after the last anchor
        # continue where it was spoken; the words before the next anchor lead into where
        # that one was spoken. Extend from both sides, each with a free far end.
        size = i1 - i0 - 1
        _fill_gap(st, (i0 + 1, i1), (j0 + 1, _free_until(st.taken, j0 + 1, size + 5, 1)),
                  False, True)
        matched = np.flatnonzero(st.target[i0 + 1:i1] >= 0)
        rest = i0 + 2 + int(matched[-1]) if len(matched) else i0 + 1
        if rest < i1:
            lo = _free_until(st.taken, j1 - 1, i1 - rest + 5, -1)
            _fill_gap(st, (rest, i1), (lo, j1), True, False)


def _free_until(taken: np.ndarray, start: int, limit: int, step: int) -> int:
    """From ``start`` walk ``step`` while caption words are free, at most ``limit`` words."""
    pos, count = start, 0
    while 0 <= pos < len(taken) and not taken[pos] and count < limit:
        pos += step
        count += 1
    return pos if step > 0 else pos + 1


def _fill_gap(st: _State, ai: tuple[int, int], bj: tuple[int, int], free_start: Ends | bool,
              free_end: Ends | bool) -> None:
    """Align ``a[ai]`` with ``b[bj]``: one table when it is small; else divided at anchors
    found inside the gap, or, when it has none, where the middle word of ``a[ai]`` crosses
    ``b[bj]`` (Hirschberg: one pass over the gap in linear memory), and each part aligned."""
    (a0, a1), (b0, b1) = ai, bj
    free_start, free_end = _ends(free_start), _ends(free_end)
    if a1 <= a0 or b1 <= b0:
        return
    if (a1 - a0) * (b1 - b0) <= _MAX_CELLS or a1 - a0 < 2:
        _fill_table(st, a0, a1, b0, b1, free_start, free_end)
        return
    mids = _inner_anchors(st, a0, a1, b0, b1)
    if not mids:  # a[a0:mid] goes with b[b0:j], the rest with the rest
        mid, j = _middle_crossing(st, a0, a1, b0, b1, free_start, free_end)
        # Crossing at an edge column, the path may run on down it: words of a free there.
        _fill_gap(st, (a0, mid), (b0, j), free_start, (free_end[0] and j == b1, False))
        _fill_gap(st, (mid, a1), (j, b1), (free_start[0] and j == b0, False), free_end)
        return
    for i, j in mids:
        st.target[i], st.quality[i], st.taken[j], st.anchored[i] = j, EXACT, True, True
    bounds = [(a0 - 1, b0 - 1)] + mids + [(a1, b1)]
    last = len(bounds) - 2
    for k, ((i0, j0), (i1, j1)) in enumerate(itertools.pairwise(bounds)):
        _fill_gap(st, (i0 + 1, i1), (j0 + 1, j1), free_start if k == 0 else FIXED,
                  free_end if k == last else FIXED)


def _inner_anchors(st: _State, a0: int, a1: int, b0: int, b1: int) -> list[tuple[int, int]]:
    """Anchors inside a big gap, tried in turn: trigrams found once on each side of the gap
    (repeats elsewhere no longer count); trigrams found as often on each side of it, paired
    in order and kept near the gap's diagonal (a lesson said again and again: the k-th
    copy is matched with the k-th); bigrams found once on each side."""
    a_ids, b_ids = st.a.norm[a0:a1], st.b.norm[b0:b1]
    size_a, size_b = a1 - a0, b1 - b0
    band = abs(size_a - size_b) + max(size_a, size_b) // 4
    for n, unique in ((3, True), (3, False), (2, True)):
        found = _paired_grams(a_ids, b_ids, n, st.base, unique)
        if not unique:  # |j - i * size_b / size_a| <= band
            found = [(i, j) for i, j in found if abs(j * size_a - i * size_b) <= band * size_a]
        # A pair found by chance stands alone; a passage said in both runs on.
        shortest = 2
        runs = [run for run in _runs(found) if len(run) >= shortest]
        mids: list[tuple[int, int]] = []
        for run in _chain(runs, moved=False):
            for i, j in run:
                i, j = a0 + i, b0 + j
                if (not mids or (i > mids[-1][0] and j > mids[-1][1])) and not st.taken[j]:
                    mids.append((i, j))
        if mids:
            return mids
    return []


def _middle_crossing(st: _State, a0: int, a1: int, b0: int, b1: int, free_start: Ends,
                     free_end: Ends) -> tuple[int, int]:
    """(mid, j): the best alignment of ``a[a0:a1]`` with ``b[b0:b1]`` aligns ``a[a0:mid]``
    with ``b[b0:j]`` and the rest with the rest (the later of equal places)."""
    mid = (a0 + a1) // 2
    blocked = st.taken[b0:b1]
    top, top_col = _last_row(st.a, st.b, np.arange(a0, mid), slice(b0, b1), blocked,
                             free_start)
    back = slice(b1 - 1, b0 - 1 if b0 > 0 else None, -1)
    bottom, bottom_col = _last_row(st.a, st.b, np.arange(a1 - 1, mid - 1, -1), back,
                                   blocked[::-1], free_end)
    # A path may run down the first column past the middle (leading words of a free) or
    # reach the last column early and run down it (trailing words of a free).
    if free_end[0]:
        top[-1] = max(top[-1], top_col)
    if free_start[0]:
        bottom[-1] = max(bottom[-1], bottom_col)
    return mid, b0 + _last_max(top + bottom[::-1])


def _fill_table(st: _State, a0: int, a1: int, b0: int, b1: int, free_start: Ends,
                free_end: Ends) -> None:
    if a1 - a0 == b1 - b0 and np.array_equal(st.a.norm[a0:a1], st.b.norm[b0:b1]) \
            and not st.taken[b0:b1].any():  # the same words: one to one, no table
        st.target[a0:a1] = np.arange(b0, b1)
        st.quality[a0:a1] = EXACT
        st.taken[b0:b1] = True
        return
    score = _scores(st.a, st.b, slice(a0, a1), slice(b0, b1))
    score[:, st.taken[b0:b1]] = _BLOCKED  # never reuse a caption word an anchor already holds
    for i, j in _dp(score, free_start, free_end):
        s = int(score[i, j])
        if s <= _BLOCKED // 2:
            continue
        st.target[a0 + i] = b0 + j
        st.quality[a0 + i] = _quality(s)
        st.taken[b0 + j] = True


# --- retakes -----------------------------------------------------------------------------

_RETAKE_WINDOW = 40  # script words a take of the same words may repeat
_MIN_TAKE = 3  # matched words that make a stretch of speech another take (2 at a restart)
_TAKE_DENSITY = 0.6  # share of a take's span of script words it must match
_MAX_AFTER_TAKE = 12  # unscripted words allowed between a later take and the next words


def _junctions(target: np.ndarray, m: int) -> list[tuple[int, int]]:
    """(i, k): consecutive matched words of ``a`` (-1 and len(a) at the ends) with caption
    words between their matches."""
    ends = np.concatenate(([-1], np.flatnonzero(target >= 0), [len(target)]))
    js = np.concatenate(([-1], target[ends[1:-1]], [m]))
    at = np.flatnonzero(js[1:] - js[:-1] > 1)
    return list(zip(ends[at].tolist(), ends[at + 1].tolist(), strict=True))


def _local(score: np.ndarray, end_on_last_row: bool) -> list[tuple[int, int]]:
    """The best local alignment of a score matrix (it may start and end anywhere; with
    ``end_on_last_row`` it ends on the last row): pairs (row, col). Of equal ends, the
    later column."""
    n, m = score.shape
    steps = np.arange(m + 1, dtype=np.float64) * _GAP
    prev = np.zeros(m + 1)
    ptr = np.full((n + 1, m + 1), 3, dtype=np.int8)  # 0 diag, 1 up, 2 left, 3 start here
    best, end = 0.0, (0, 0)
    for i in range(1, n + 1):
        diag = prev[:-1] + score[i - 1]
        up = prev[1:] - _GAP
        t = np.zeros(m + 1)
        t[1:] = np.maximum(np.maximum(diag, up), 0.0)
        h = np.maximum.accumulate(t + steps) - steps
        p = ptr[i]
        p[1:] = np.where(diag >= up, 0, 1)
        p[1:][t[1:] <= 0] = 3
        p[h > t] = 2
        j = _last_max(h)
        if h[j] > 0 and (h[j] >= best or i == n and end_on_last_row):
            best, end = h[j], (i, j)
        prev = h
    if end_on_last_row and end[0] != n:
        return []
    return _trace(ptr, *end)


def _take(st: _State, rows: tuple[int, int], cols: tuple[int, int], to_last: bool,
          ) -> list[tuple[int, int, int]]:
    """Good matches (a index, b index, score) of a stretch of ``a[rows]`` said inside
    ``b[cols]`` (``to_last``: a stretch ending with the last of ``rows``)."""
    (a0, a1), (b0, b1) = rows, cols
    if a1 <= a0 or b1 <= b0:
        return []
    score = _scores(st.a, st.b, slice(a0, a1), slice(b0, b1))
    score[:, st.taken[b0:b1]] = _BLOCKED
    return [(a0 + i, b0 + j, int(score[i, j])) for i, j in _local(score, to_last)
            if score[i, j] >= _SCORE_SOUND]


def _said_in(st: _State, i: int, j0: int, j1: int) -> bool:
    """Word ``i`` of ``a`` (or a stem or sound-alike of it) is among ``b[j0:j1]``."""
    if i >= len(st.a.norm):
        return False
    return bool(np.any((st.b.norm[j0:j1] == st.a.norm[i]) | (st.b.stem[j0:j1] == st.a.stem[i])
                       | (st.b.sound[j0:j1] == st.a.sound[i])))


def _prefer_last_takes(st: _State) -> None:
    """Words of ``a`` matched to an earlier take move to a later take of the same words
    found right after it: a sentence said again (or a third time) before the next script
    word is kept in its last take, the one an editor keeps."""
    target, m = st.target, len(st.b.norm)
    for i, k in _junctions(target, m):
        while i >= 0:
            j0 = int(target[i])
            j1 = int(target[k]) if k < len(target) else m
            if j1 - j0 - 1 < _MIN_TAKE or not _said_in(st, i, j0 + 1, j1):
                break
            s = max(0, i - _RETAKE_WINDOW + 1)
            take = _take(st, (s, i + 1), (j0 + 1, j1), True)
            if not take or take[-1][0] != i:
                break
            # Two words make a take when the next script word follows them at once ("today
            # we, today we look"): the restart picks up there.
            restart = len(take) >= 2 and k == i + 1 and take[-1][1] == j1 - 1
            if len(take) < _MIN_TAKE and not restart:
                break
            first = take[0][0]
            if len(take) < _TAKE_DENSITY * (i - first + 1) or j1 - 1 - take[-1][1] > _MAX_AFTER_TAKE:
                break
            for x in range(first, i + 1):
                if target[x] >= 0:
                    st.taken[target[x]] = False
                target[x], st.quality[x], st.anchored[x] = -1, 0.0, False
            for x, j, score in take:
                target[x], st.quality[x] = j, _quality(score)
                st.taken[j] = True


def _count_earlier_takes(st: _State, retakes: np.ndarray) -> None:
    """Mark words of ``a`` whose earlier takes lie unmatched just before their match: the
    caption words between two matched script words start the next words over again."""
    target, m = st.target, len(st.b.norm)
    for i, k in _junctions(target, m):
        if k >= len(target):
            continue
        j0, j1 = (int(target[i]) if i >= 0 else -1) + 1, int(target[k])
        end = min(len(target), k + _RETAKE_WINDOW)
        takes, last = 0, k
        while j1 - j0 >= 2 and (_said_in(st, k, j0, j1) or _said_in(st, k + 1, j0, j1)):
            take = _take(st, (k, end), (j0, j1), False)
            if len(take) < 2 or take[0][0] > k + 1:
                break
            span = take[-1][1] - take[0][1] + 1
            if len(take) < _TAKE_DENSITY * span or (len(take) < _MIN_TAKE and span > 2):
                break
            takes += 1
            last = max(last, take[-1][0])
            j1 = take[0][1]  # an earlier take still may lie before this one
        if takes:
            retakes[k:last + 1] = np.maximum(retakes[k:last + 1], takes)


# --- difflib-style view ------------------------------------------------------------------

Opcode = tuple[str, int, int, int, int]


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """The alignment as difflib's opcodes turning ``a`` into ``b``: "equal" for runs of
    identical words matched one to one and in order on both sides, "replace", "delete" or
    "insert" for what lies between."""
    al = align_words(a, b)
    exact = [(i, int(j)) for i, j in enumerate(al.target.tolist())
             if j >= 0 and al.quality[i] == EXACT]
    pairs = _increasing(exact)
    codes: list[Opcode] = []
    i0 = j0 = 0
    k = 0
    while k <= len(pairs):
        i1, j1 = pairs[k] if k < len(pairs) else (len(a), len(b))
        if i1 > i0 or j1 > j0:
            op = "replace" if i1 > i0 and j1 > j0 else "delete" if i1 > i0 else "insert"
            codes.append((op, i0, i1, j0, j1))
        if k == len(pairs):
            break
        e = k
        while e + 1 < len(pairs) and pairs[e + 1] == (pairs[e][0] + 1, pairs[e][1] + 1):
            e += 1
        codes.append(("equal", i1, pairs[e][0] + 1, j1, pairs[e][1] + 1))
        i0, j0 = pairs[e][0] + 1, pairs[e][1] + 1
        k = e + 1
    return codes


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of ``pairs`` (sorted by the first index) rising in the second too:
    a passage matched out of order is left out (patience sorting, O(k log k))."""
    tails: list[int] = []  # tails[k]: the j ending the best chain of length k + 1
    tail_at: list[int] = []
    back = [-1] * len(pairs)
    for x, (_, j) in enumerate(pairs):
        lo = bisect.bisect_left(tails, j)
        back[x] = tail_at[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(j)
            tail_at.append(x)
        else:
            tails[lo], tail_at[lo] = j, x
    chain = []
    x = tail_at[-1] if tail_at else -1
    while x >= 0:
        chain.append(pairs[x])
        x = back[x]
    return chain[::-1]
