"""Caption cleaning: a table of small named rules, every change reported.

Generic rules repair what speech recognition and sloppy files leave behind (encoding
damage, spacing, sentence casing, line breaks). Script-aware rules align the caption
words to the script's narration and take the script's form only where a caption word
differs in case, punctuation, hyphenation, word splits or by an obvious mishearing
(spelling nearly the same). Words the speaker said that the script does not have, and
script words the speaker did not say, are left alone: the captions record the speech.
Timing is never changed.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ftfy

from pipeline.align.words import opcodes as word_opcodes
from pipeline.captions.profiles import Profile, get_profile
from pipeline.models import Caption, Lesson
from pipeline.timecode import format_srt

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    index: int
    rule: str
    before: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "rule": self.rule, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class CleanResult:
    captions: tuple[Caption, ...]
    changes: tuple[Change, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "captions": [c.to_json() for c in self.captions],
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class Context:
    profile: Profile
    lesson: Lesson | None


Texts = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    apply: Callable[[Texts, Context], Texts]
    needs_script: bool = False


# --- tokens -----------------------------------------------------------------------------

_TOKEN = re.compile(r"^(?P<lead>[^\w]*)(?P<core>.*?)(?P<trail>[^\w]*)$", re.DOTALL)
_SENTENCE_END = ".?!"


@dataclass(frozen=True, slots=True)
class Token:
    lead: str
    core: str
    trail: str

    @property
    def parts(self) -> list[str]:
        return [p for p in re.split(r"[-/\u2013]", self.core) if p]

    @property
    def keys(self) -> list[str]:
        return [_key(p) for p in self.parts] or [_key(self.core)]

    @property
    def text(self) -> str:
        return self.lead + self.core + self.trail


def _ends_sentence(trail: str) -> bool:
    """True when trailing punctuation closes a sentence (quotes and brackets skipped)."""
    mark = trail.rstrip("\"')\u201d\u2019")[-1:]
    return mark != "" and mark in _SENTENCE_END


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower().replace("\u2019", "'"))


def _tokenize(text: str) -> list[Token]:
    tokens = []
    for word in text.split():
        m = _TOKEN.match(word)
        assert m is not None  # the pattern matches any string
        core, trail = m["core"], m["trail"]
        if core.endswith("s") and trail.startswith("'"):  # plural possessive: users'
            core, trail = core + "'", trail[1:]
        tokens.append(Token(m["lead"], core, trail))
    return tokens


# --- generic rules ----------------------------------------------------------------------


def _per_caption(fn: Callable[[str, Context], str]) -> Callable[[Texts, Context], Texts]:
    def apply(texts: Texts, ctx: Context) -> Texts:
        return tuple(fn(t, ctx) for t in texts)

    return apply


def fix_encoding(text: str, ctx: Context) -> str:
    """Mojibake ("donâ€™t") and HTML-escaped text repaired with ftfy."""
    return ftfy.fix_text(text, normalization="NFC")


def fix_spacing(text: str, ctx: Context) -> str:
    """Double spaces, spaces at line ends and before punctuation."""
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    lines = [re.sub(r"(?<=\w) +(?=[,.?!;:](?:\s|$))", "", line) for line in lines]
    return "\n".join(line for line in lines if line)


def _capitalize_first(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1 :] if ch.islower() else text
    return text


def sentence_case(texts: Texts, ctx: Context) -> Texts:
    """Capital letter after a sentence end, inside a caption and across captions."""
    out = []
    previous = "."
    for text in texts:
        fixed = re.sub(r"([.?!]\s+)([a-z])", lambda m: m[1] + m[2].upper(), text)
        if _ends_sentence(
            previous.split()[-1] if previous.split() else "."
        ) and not previous.endswith(".."):
            fixed = _capitalize_first(fixed)
        out.append(fixed)
        previous = fixed.strip() or previous
    return tuple(out)


def _layout_cost(lines: list[str], profile: Profile) -> float:
    lengths = [len(line) for line in lines]
    cost = 1000.0 * sum(max(0, n - profile.max_chars_per_line) for n in lengths)
    cost += 500.0 * max(0, len(lines) - profile.max_lines)
    for line in lines[:-1]:
        last = line.split()[-1]
        if _key(last) in profile.weak_line_ends and last[-1] not in ",.?!;:":
            cost += 40
        if last[-1] in ",.?!;:":
            cost -= 15
    if len(lines) > 1:
        cost += 30 * (max(lengths) - min(lengths)) / max(1, sum(lengths))
    return cost + 10 * (len(lines) - 1)


def layout(text: str, profile: Profile) -> list[str]:
    """The best line layout of ``text`` for ``profile`` (one line when it fits)."""
    words = text.split()
    if len(text.replace("\n", " ")) <= profile.max_chars_per_line:
        return [" ".join(words)]
    best: list[str] = [" ".join(words)]
    best_cost = _layout_cost(best, profile)
    for i in range(1, len(words)):
        lines = [" ".join(words[:i]), " ".join(words[i:])]
        cost = _layout_cost(lines, profile)
        if cost < best_cost:
            best, best_cost = lines, cost
    if best_cost >= 1000:  # does not fit in two lines: fill greedily
        lines, current = [], ""
        for word in words:
            if current and len(current) + 1 + len(word) > profile.max_chars_per_line:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        best = lines + [current]
    return best


def break_lines(text: str, ctx: Context) -> str:
    """Re-break a caption whose lines are too long, too many, unbalanced, or end on a weak word."""
    lines = text.split("\n")
    profile = ctx.profile
    lengths = [len(line) for line in lines]
    acceptable = (
        len(lines) <= profile.max_lines
        and max(lengths) <= profile.max_chars_per_line
        and all(
            line.split() and _key(line.split()[-1]) not in profile.weak_line_ends
            for line in lines[:-1]
        )
        and (len(lines) != 2 or min(lengths) / max(1, max(lengths)) >= profile.balance_ratio)
    )
    if acceptable or not text.strip():
        return text
    return "\n".join(layout(text, profile))


# --- script-aware rules -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    token: int  # index into the token list
    part: int
    key: str


@dataclass(frozen=True, slots=True)
class _Script:
    tokens: list[Token]
    sentence_start: list[bool]  # token starts a sentence in the script
    emphasis: frozenset[str]  # keys written in capitals for emphasis ("NEED"), not acronyms
    proper: frozenset[str]  # keys always capitalized, twice or more mid-sentence ("Zealand")


def _script(lesson: Lesson) -> _Script:
    tokens: list[Token] = []
    starts: list[bool] = []
    for line in lesson.narration:
        for n, token in enumerate(_tokenize(line.text)):
            if not token.core:
                continue
            starts.append(n == 0 or bool(tokens) and _ends_sentence(tokens[-1].trail))
            tokens.append(token)
    lower_seen = {_key(t.core) for t in tokens if not t.core.isupper()}
    emphasis = frozenset(
        _key(t.core)
        for t in tokens
        if t.core.isupper() and len(t.core) > 1 and _key(t.core) in lower_seen
    )
    mid_caps: dict[str, int] = {}
    for t, start in zip(tokens, starts):
        for part in t.parts:
            if part[:1].isupper() and not start:
                mid_caps[_key(part)] = mid_caps.get(_key(part), 0) + 1
    lower_parts = {_key(p) for t in tokens for p in t.parts if p[:1].islower()}
    proper = frozenset(k for k, n in mid_caps.items() if n >= 2 and k not in lower_parts)
    return _Script(tokens, starts, emphasis, proper)


def _misheard(said: str, written: str, multi: bool) -> bool:
    """An obvious mishearing or split: the same letters, or a near-identical spelling that
    is not merely another form of the word (deep/deeper, customer/customers)."""
    a, b = re.sub(r"\W", "", said), re.sub(r"\W", "", written)
    if a == b:
        return True
    if said.count("'") != written.count("'"):
        return False  # a contraction the speaker used ("who've" for "who have") stays
    if min(len(a), len(b)) < 4 or a.isdigit() or b.isdigit():
        return False
    if a.startswith(b) or b.startswith(a) or a.rstrip("sd") == b.rstrip("sd"):
        return False
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return ratio >= (0.75 if multi else 0.85) and (multi or min(len(a), len(b)) >= 6)


def _units(tokens: Sequence[Token]) -> list[_Unit]:
    return [_Unit(i, p, k) for i, t in enumerate(tokens) for p, k in enumerate(t.keys) if k]


@dataclass(frozen=True, slots=True)
class _Group:
    caps: tuple[int, ...]  # caption token indexes (contiguous)
    script: tuple[int, ...]  # script token indexes (contiguous)
    misheard: bool


def _align(cap_tokens: list[Token], script: _Script) -> list[_Group]:
    """Groups of caption tokens that correspond to script tokens word for word (or by a
    near-identical spelling), fully covered on both sides."""
    cu, su = _units(cap_tokens), _units(script.tokens)
    swap = {"delete": "insert", "insert": "delete"}  # the aligner takes the written words first
    opcodes = [(swap.get(op, op), i1, i2, j1, j2) for op, j1, j2, i1, i2
               in word_opcodes([u.key for u in su], [u.key for u in cu])]
    links: list[tuple[int, int, bool]] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            links += [(cu[i1 + k].token, su[j1 + k].token, False) for k in range(i2 - i1)]
        elif op == "replace" and i2 - i1 <= 3 and j2 - j1 <= 2:
            said = "".join(u.key for u in cu[i1:i2])
            written = "".join(u.key for u in su[j1:j2])
            if _misheard(said, written, multi=(i2 - i1 > 1 or j2 - j1 > 1)):
                links += [
                    (cu[i].token, su[j].token, True) for i in range(i1, i2) for j in range(j1, j2)
                ]
    # Connected components of the link graph.
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x: tuple[str, int]) -> tuple[str, int]:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for c, s, _ in links:
        parent[find(("c", c))] = find(("s", s))
    members: dict[tuple[str, int], tuple[set[int], set[int], bool]] = {}
    for c, s, misheard in links:
        caps, scr, mis = members.setdefault(find(("c", c)), (set(), set(), False))
        caps.add(c)
        scr.add(s)
        members[find(("c", c))] = (caps, scr, mis or misheard)
    linked_units_c = {
        (cu[i].token, cu[i].part)
        for op, i1, i2, j1, j2 in opcodes
        if op == "equal"
        for i in range(i1, i2)
    }
    linked_units_s = {
        (su[j].token, su[j].part)
        for op, i1, i2, j1, j2 in opcodes
        if op == "equal"
        for j in range(j1, j2)
    }
    groups = []
    for caps, scr, misheard in members.values():
        c_sorted, s_sorted = sorted(caps), sorted(scr)
        if c_sorted != list(range(c_sorted[0], c_sorted[-1] + 1)):
            continue
        if s_sorted != list(range(s_sorted[0], s_sorted[-1] + 1)):
            continue
        if not misheard:
            full_c = all(
                (c, p) in linked_units_c for c in caps for p in range(len(cap_tokens[c].keys))
            )
            full_s = all(
                (s, p) in linked_units_s for s in scr for p in range(len(script.tokens[s].keys))
            )
            if not (full_c and full_s):
                continue
        groups.append(_Group(tuple(c_sorted), tuple(s_sorted), misheard))
    return sorted(groups, key=lambda g: g.caps)


def _caption_tokens(texts: Texts) -> tuple[list[Token], list[tuple[int, int, int]]]:
    """All caption words in order, with (caption, line, word) positions."""
    tokens, where = [], []
    for ci, text in enumerate(texts):
        for li, line in enumerate(text.split("\n")):
            for wi, token in enumerate(_tokenize(line)):
                tokens.append(token)
                where.append((ci, li, wi))
    return tokens, where


def _rebuild(texts: Texts, tokens: list[Token | None], where: list[tuple[int, int, int]]) -> Texts:
    lines: dict[tuple[int, int], list[str]] = {}
    for ci, text in enumerate(texts):
        for li, _ in enumerate(text.split("\n")):
            lines[(ci, li)] = []
    for token, (ci, li, _) in zip(tokens, where):
        if token is not None:
            lines[(ci, li)].append(token.text)
    out = []
    for ci, text in enumerate(texts):
        parts = [" ".join(lines[(ci, li)]) for li in range(len(text.split("\n")))]
        out.append("\n".join(p for p in parts if p))
    return tuple(out)


def _cased(said: str, written: str, script: _Script, sentence_start: bool) -> str:
    """The script's spelling of one word, with the case the caption position calls for.

    Acronyms ("TAM") and proper nouns keep the script's capitals; capitals the script uses
    for emphasis ("NEED") or for a heading-like label ("Find an acute need") do not carry
    over; otherwise the word is lowercase unless it starts a sentence in the caption."""
    said_parts = {_key(p): p for p in re.split(r"[-/\u2013]", said)}
    out = []
    for part in re.split(r"([-/\u2013])", written):
        k = _key(part)
        if not k or part.islower():
            out.append(part)
        elif part.isupper() and len(part) > 1 and k not in script.emphasis:
            out.append(part)  # acronym
        elif k in script.proper or (part[1:] != part[1:].lower() and not part.isupper()):
            out.append(part)  # proper noun, or mixed case like "iPhone"
        elif k in said_parts and said_parts[k].lower() == part.lower():
            out.append(said_parts[k])  # emphasis or label capitals: the caption's case stands
        else:
            out.append(part.lower())
    word = "".join(out)
    return word[:1].upper() + word[1:] if sentence_start else word


def _starts_sentence(tokens: list[Token | None], i: int) -> bool:
    for k in range(i - 1, -1, -1):
        prev = tokens[k]
        if prev is not None:
            return _ends_sentence(prev.trail)
    return True


def script_words(texts: Texts, ctx: Context) -> Texts:
    """Case, hyphenation, word splits and near-identical mishearings from the script."""
    assert ctx.lesson is not None
    script = _script(ctx.lesson)
    tokens, where = _caption_tokens(texts)
    new: list[Token | None] = list(tokens)
    for group in _align(tokens, script):
        if len({where[c][0] for c in group.caps}) > 1:
            continue  # never move words between captions
        first, last = tokens[group.caps[0]], tokens[group.caps[-1]]
        start = _starts_sentence(new, group.caps[0])
        said = " ".join(tokens[c].core for c in group.caps)
        written = [script.tokens[s].core for s in group.script]
        joined = " ".join(
            _cased(said if len(written) == 1 else w, w, script, start and n == 0)
            for n, w in enumerate(written)
        )
        if joined == said:
            continue
        for c in group.caps:
            new[c] = None
        new[group.caps[0]] = Token(first.lead, joined, last.trail)
    return _rebuild(texts, new, where)


_MAX_SKIPPED = 8  # script words the speaker may skip between two caption words


def script_sentence_breaks(texts: Texts, ctx: Context) -> Texts:
    """Sentence ends the script shows and the recognizer dropped ("model You're" ->
    "model? You're"), and "." where the script asks a question."""
    assert ctx.lesson is not None
    script = _script(ctx.lesson)
    tokens, where = _caption_tokens(texts)
    groups = _align(tokens, script)
    by_cap = {g.caps[-1]: g for g in groups}
    by_first = {g.caps[0]: g for g in groups}
    new: list[Token | None] = list(tokens)
    for i, token in enumerate(tokens):
        group = by_cap.get(i)
        if group is None:
            continue
        written = script.tokens[group.script[-1]].trail
        if _ends_sentence(written) and token.trail.endswith(".") and not token.trail.endswith(".."):
            mark = written.rstrip("\"')\u201d\u2019")[-1]
            if mark in "?!":
                new[i] = replace(token, trail=token.trail[:-1] + mark)
            continue
        if _ends_sentence(token.trail) or token.trail.endswith(("-", "\u2014", "...")):
            continue
        following = by_first.get(i + 1)
        if following is None or not 0 < following.script[0] - group.script[-1] <= _MAX_SKIPPED:
            continue  # the next caption word is not (nearly) the script's next word
        if not script.tokens[following.script[0]].core[:1].isupper():
            continue
        ends = [
            script.tokens[s].trail
            for s in range(group.script[-1], following.script[0])
            if _ends_sentence(script.tokens[s].trail)
        ]
        if not ends:
            continue
        mark = ends[0].rstrip("\"')\u201d\u2019")[-1]
        new[i] = replace(token, trail=re.sub(r"[,;:]$", "", token.trail) + mark)
    return _rebuild(texts, new, where)


# --- the table --------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule("encoding", "repair mojibake and escaped text (ftfy)", _per_caption(fix_encoding)),
    Rule(
        "spacing",
        "collapse double spaces, trim lines, no space before punctuation",
        _per_caption(fix_spacing),
    ),
    Rule(
        "script_sentence_breaks",
        "restore sentence ends the script shows",
        script_sentence_breaks,
        needs_script=True,
    ),
    Rule(
        "script_words",
        "take the script's case, hyphenation, word splits and spelling of near-identical words",
        script_words,
        needs_script=True,
    ),
    Rule("sentence_case", "capital letter at the start of every sentence", sentence_case),
    Rule(
        "line_break",
        "re-break lines within the profile's characters per line at natural points",
        _per_caption(break_lines),
    ),
)


def clean_captions(
    captions: Sequence[Caption], lesson: Lesson | None = None, profile: Profile | None = None
) -> CleanResult:
    """Run every rule in order; each caption's text before and after a rule is a Change."""
    ctx = Context(profile or get_profile(), lesson)
    texts: Texts = tuple(c.text for c in captions)
    changes: list[Change] = []
    has_script = lesson is not None and bool(lesson.narration)
    for rule in RULES:
        if rule.needs_script and not has_script:
            continue
        after = rule.apply(texts, ctx)
        changes += [
            Change(c.index, rule.name, b, a) for c, b, a in zip(captions, texts, after) if a != b
        ]
        texts = after
    cleaned, timing = open_gaps([replace(c, text=t) for c, t in zip(captions, texts)], ctx.profile)
    changes += timing
    cleaned, timing = extend_for_reading(cleaned, ctx.profile)
    changes += timing
    log.info("cleaned %d captions: %d changes", len(cleaned), len(changes))
    return CleanResult(tuple(cleaned), tuple(changes))


def open_gaps(captions: list[Caption], profile: Profile) -> tuple[list[Caption], list[Change]]:
    """The one timing rule, ``min_gap``: chained captions (a gap under the profile's minimum)
    get that gap by ending the earlier caption sooner, when it stays at least the minimum
    duration long. Starts never move: they are when the words are heard."""
    changes: list[Change] = []
    out = list(captions)
    for k in range(len(out) - 1):
        a, b = out[k], out[k + 1]
        gap = b.start - a.end
        end = b.start - profile.min_gap
        if 0 <= gap < profile.min_gap and end - a.start >= profile.min_duration:
            out[k] = replace(a, end=end)
            changes.append(Change(a.index, "min_gap", f"ends {format_srt(a.end)}",
                                  f"ends {format_srt(end)}"))
    return out, changes


def reading_time(text: str, profile: Profile) -> int:
    """ms a caption must stay up to be read at the profile's speed (its cps, its wpm)."""
    need = 0
    if profile.max_cps:
        need = math.ceil(1000 * len(text.replace("\n", " ")) / profile.max_cps)
    if profile.max_wpm:
        need = max(need, math.ceil(60_000 * len(text.split()) / profile.max_wpm))
    return need


def extend_for_reading(captions: list[Caption], profile: Profile,
                       ) -> tuple[list[Caption], list[Change]]:
    """The timing rule ``extend_for_reading``: a caption that reads faster than the profile
    allows stays up longer, into the silence before the next caption, when that is enough
    to bring it within the reading speed (keeping the minimum gap and the maximum
    duration). Starts never move. Caption generation uses the same rule."""
    changes: list[Change] = []
    out = list(captions)
    for k, a in enumerate(out):
        end = a.start + reading_time(a.text, profile)
        if end <= a.end:
            continue
        limit = a.start + profile.max_duration
        if k + 1 < len(out):
            limit = min(limit, out[k + 1].start - profile.min_gap)
        if end <= limit:
            out[k] = replace(a, end=end)
            changes.append(Change(a.index, "extend_for_reading", f"ends {format_srt(a.end)}",
                                  f"ends {format_srt(end)}"))
    return out, changes
