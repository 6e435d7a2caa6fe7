"""Caption QA: a table of named checks against a style profile (and optionally the script).

Every check yields findings (which caption, what, why) rather than a verdict; thresholds
come from the profile, never from literals in the checks. ``fixable`` says whether
``python -m pipeline clean`` repairs the finding.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.captions.clean import CleanResult, layout
from pipeline.captions.io import ReadIssue
from pipeline.captions.profiles import Profile
from pipeline.csvtext import csv_text
from pipeline.models import Caption, Lesson
from pipeline.timecode import format_clock

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Finding:
    index: int  # caption index; 0 for the file as a whole
    rule: str
    severity: Severity
    message: str
    fixable: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "fixable": self.fixable,
        }


@dataclass(frozen=True, slots=True)
class QaResult:
    profile: str
    captions: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "findings": [f.to_json() for f in self.findings],
            "summary": {
                "captions": self.captions,
                "errors": self.errors,
                "warnings": self.warnings,
            },
        }


@dataclass(frozen=True, slots=True)
class Context:
    profile: Profile
    vocabulary: frozenset[str]  # normalized script words; empty without a script
    acronyms: frozenset[str]  # script words written in capitals that are not emphasis
    # script words the script itself capitalises after a comma (verse lines, names)
    after_comma: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check found: the caption, the message, and (when the rule's default does not
    hold for this case) whether ``clean`` repairs it."""

    index: int
    message: str
    fixable: bool | None = None


Check = Callable[[Sequence[Caption], Context], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class QaRule:
    name: str
    severity: Severity
    fixable: bool
    check: Check
    needs_script: bool = False


def _secs(ms: int) -> str:
    return f"{ms / 1000:.3f} s"


def _pairs(captions: Sequence[Caption]) -> Iterator[tuple[Caption, Caption]]:
    return itertools.pairwise(captions)


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower().replace("\u2019", "'"))


def _words(text: str) -> list[str]:
    return [w for w in text.split() if _key(w)]


# --- checks -----------------------------------------------------------------------------


def empty(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        if not c.text.strip():
            yield Hit(c.index, "caption has no text")


def bad_timing(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        if c.end <= c.start:
            yield Hit(
                c.index,
                f"ends at {format_clock(c.end)}, not after its start {format_clock(c.start)}",
            )


def overlap(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for a, b in _pairs(captions):
        if b.start < a.end:
            yield Hit(b.index, f"starts {_secs(a.end - b.start)} before caption {a.index} ends")


def min_gap(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for a, b in _pairs(captions):
        gap = b.start - a.end
        if 0 <= gap < ctx.profile.min_gap:
            yield Hit(
                b.index,
                f"gap after caption {a.index} is {gap} ms;"
                f" {ctx.profile.name} wants at least {ctx.profile.min_gap} ms",
            )


def too_short(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        if 0 < c.end - c.start < ctx.profile.min_duration:
            yield Hit(
                c.index,
                f"on screen {_secs(c.end - c.start)}; minimum {_secs(ctx.profile.min_duration)}",
            )


def too_long(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        if c.end - c.start > ctx.profile.max_duration:
            yield Hit(
                c.index,
                f"on screen {_secs(c.end - c.start)}; maximum {_secs(ctx.profile.max_duration)}",
            )


def reading_speed(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    p = ctx.profile
    for c in captions:
        duration = (c.end - c.start) / 1000
        if duration <= 0 or not c.text.strip():
            continue
        chars = len(c.text.replace("\n", " "))
        if p.max_cps is not None and chars / duration > p.max_cps:
            yield Hit(
                c.index, f"{chars / duration:.1f} characters per second; maximum {p.max_cps:g}"
            )
        wpm = len(_words(c.text)) / duration * 60
        if p.max_wpm is not None and wpm > p.max_wpm:
            yield Hit(c.index, f"{wpm:.0f} words per minute; maximum {p.max_wpm:g}")


def _fits(text: str, profile: Profile) -> bool:
    """Whether re-breaking the lines can bring the caption within the profile."""
    lines = layout(text, profile)
    return len(lines) <= profile.max_lines and all(
        len(x) <= profile.max_chars_per_line for x in lines
    )


def line_length(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    limit = ctx.profile.max_chars_per_line
    for c in captions:
        for n, line in enumerate(c.text.split("\n"), start=1):
            if len(line) > limit:
                yield Hit(
                    c.index,
                    f"line {n} has {len(line)} characters; maximum {limit}",
                    _fits(c.text, ctx.profile),
                )


def line_count(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        lines = [line for line in c.text.split("\n") if line.strip()]
        if len(lines) > ctx.profile.max_lines:
            yield Hit(
                c.index,
                f"{len(lines)} lines; maximum {ctx.profile.max_lines}",
                _fits(c.text, ctx.profile),
            )


def unbalanced(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        lengths = [len(line) for line in c.text.split("\n") if line.strip()]
        if len(lengths) == 2 and min(lengths) / max(lengths) < ctx.profile.balance_ratio:
            yield Hit(c.index, f"lines of {lengths[0]} and {lengths[1]} characters are unbalanced")


def break_point(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        for line in c.text.split("\n")[:-1]:
            words = line.split()
            if words and _key(words[-1]) in ctx.profile.weak_line_ends:
                yield Hit(c.index, f"line ends on {words[-1]!r}: break before it instead")


def double_space(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        if re.search(r"\S {2,}\S", c.text) or re.search(r"^ | $", c.text, re.MULTILINE):
            yield Hit(c.index, "double or stray spaces")


def lowercase_start(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    previous = "."
    for c in captions:
        text = c.text.strip()
        if re.search(r"[.?!]\s+[a-z]", text):
            yield Hit(c.index, "sentence starts with a lowercase letter")
        elif text[:1].islower() and re.search(r"[.?!][\"')]*$", previous):
            yield Hit(c.index, "caption starts a sentence with a lowercase letter")
        previous = text or previous


_CAPITAL_AFTER_COMMA = re.compile(r",\s+([A-Z][a-z']+)")


def capital_after_comma(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        for m in re.finditer(_CAPITAL_AFTER_COMMA, c.text):
            key = _key(m[1])
            if key not in ctx.acronyms and key not in ctx.after_comma \
                    and m[1] not in ("I", "I'm", "I've", "I'll", "I'd"):
                yield Hit(
                    c.index,
                    f"capital {m[1]!r} after a comma: a sentence break may be missing",
                    bool(ctx.vocabulary),
                )  # only a script tells which it is


def script_case(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        low = [
            w for w in _words(c.text) if _key(w) in ctx.acronyms and not w.strip(".,?!;:").isupper()
        ]
        if low:
            yield Hit(
                c.index,
                "acronym not in capitals as in the script: " + ", ".join(repr(w) for w in low),
            )


def script_mismatch(captions: Sequence[Caption], ctx: Context) -> Iterator[Hit]:
    for c in captions:
        missing = []
        for word in _words(c.text):
            parts = [_key(p) for p in re.split(r"[-/]", word) if _key(p)]
            if _key(word) not in ctx.vocabulary and not all(p in ctx.vocabulary for p in parts):
                missing.append(word.strip(".,?!;:\"'"))
        if missing:
            yield Hit(c.index, "words not in the script: " + ", ".join(repr(w) for w in missing))


RULES: tuple[QaRule, ...] = (
    QaRule("empty", "error", False, empty),
    QaRule("bad_timing", "error", False, bad_timing),
    QaRule("overlap", "error", False, overlap),
    QaRule("min_gap", "warning", False, min_gap),
    QaRule("too_short", "warning", False, too_short),
    QaRule("too_long", "warning", False, too_long),
    QaRule("reading_speed", "warning", False, reading_speed),
    QaRule("line_length", "error", True, line_length),
    QaRule("line_count", "error", True, line_count),
    QaRule("unbalanced_lines", "info", True, unbalanced),
    QaRule("line_break_point", "info", True, break_point),
    QaRule("double_space", "warning", True, double_space),
    QaRule("lowercase_start", "warning", True, lowercase_start),
    QaRule("capital_after_comma", "info", True, capital_after_comma),
    QaRule("script_case", "warning", True, script_case, needs_script=True),
    QaRule("script_mismatch", "info", False, script_mismatch, needs_script=True),
)


def _script_context(profile: Profile, lesson: Lesson | None) -> Context:
    if lesson is None:
        return Context(profile, frozenset(), frozenset())
    words = [w for line in lesson.narration for w in line.text.split()]
    vocabulary = {_key(w) for w in words} | {
        _key(p) for w in words for p in re.split(r"[-/\u2013]", w)
    }
    lower = {_key(w) for w in words if not w.isupper()}
    acronyms = {
        _key(w)
        for w in words
        if w.strip(".,?!;:\"'()").isupper() and len(_key(w)) > 1 and _key(w) not in lower
    }
    text = " ".join(line.text for line in lesson.narration)  # verse: a line per line
    after_comma = {_key(m[1]) for m in re.finditer(_CAPITAL_AFTER_COMMA, text)}
    return Context(profile, frozenset(vocabulary - {""}), frozenset(acronyms),
                   frozenset(after_comma))


def read_findings(issues: Sequence[ReadIssue], captions: Sequence[Caption]) -> tuple[Finding, ...]:
    """Reader issues as findings, pinned to the caption at or before each issue's line."""
    out = []
    for issue in issues:
        before = [c for c in captions if 0 < c.line <= issue.line]
        index = before[-1].index if before else 0
        out.append(Finding(index, "read", "warning", f"line {issue.line}: {issue.message}", False))
    return tuple(out)


def check_captions(
    captions: Sequence[Caption],
    profile: Profile,
    lesson: Lesson | None = None,
    issues: Sequence[ReadIssue] = (),
) -> QaResult:
    """Run every QA rule; findings are ordered by caption, then by the rule table."""
    ctx = _script_context(profile, lesson)
    has_script = lesson is not None and bool(lesson.narration)
    findings = list(read_findings(issues, captions))
    for rule in RULES:
        if rule.needs_script and not has_script:
            continue
        findings += [
            Finding(
                hit.index,
                rule.name,
                rule.severity,
                hit.message,
                rule.fixable if hit.fixable is None else hit.fixable,
            )
            for hit in rule.check(captions, ctx)
        ]
    findings.sort(key=lambda f: f.index)  # stable: rule-table order within a caption
    return QaResult(profile.name, len(captions), tuple(findings))


# --- exports ----------------------------------------------------------------------------


def findings_csv(result: QaResult) -> str:
    """The findings as CSV (text that would start a spreadsheet formula quoted)."""
    return csv_text([["index", "rule", "severity", "message", "fixable"],
                     *([f.index, f.rule, f.severity, f.message, "yes" if f.fixable else "no"]
                       for f in result.findings)])


Segment = tuple[str, str]  # ("same" | "del" | "ins", text)


def word_diff(before: str, after: str) -> tuple[list[Segment], list[Segment]]:
    """Word-level diff for display: segments of ``before`` (same/del) and ``after`` (same/ins).

    Words keep their following whitespace; a moved line break is not a change, a double
    space is."""
    a, b = re.findall(r"\S+\s*", before), re.findall(r"\S+\s*", after)

    def key(token: str) -> tuple[str, bool]:
        return token.rstrip(), bool(re.search(r"  ", token))

    left: list[Segment] = []
    right: list[Segment] = []
    matcher = difflib.SequenceMatcher(
        None, [key(t) for t in a], [key(t) for t in b], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(("same", "".join(a[i1:i2])))
            right.append(("same", "".join(b[j1:j2])))
            continue
        if i2 > i1:
            left += _marked("del", "".join(a[i1:i2]))
        if j2 > j1:
            right += _marked("ins", "".join(b[j1:j2]))
    return left, right


def _marked(kind: str, text: str) -> list[Segment]:
    """A changed run, with its trailing line break or single space left unmarked."""
    body = text.rstrip()
    tail = text[len(body) :]
    if "  " in tail and "\n" not in tail:
        return [(kind, text)]
    return [(kind, body), ("same", tail)] if tail else [(kind, body)]


def report_html(
    result: QaResult,
    captions: Sequence[Caption],
    cleaned: CleanResult | None,
    title: str,
    source: str,
    speech: dict[str, Any] | None = None,
) -> str:
    """The HTML report: summary, then one row per caption with original, cleaned, findings.
    ``speech``: for captions made from the recordings, their ``unspoken`` passages and
    ``unscripted`` speech (pipeline.speech.captions.captions_json), listed for the editor."""
    from pipeline.reports.render import render_template

    cleaned_by_index = {c.index: c for c in cleaned.captions} if cleaned else {}
    changes: dict[int, list[str]] = {}
    for change in cleaned.changes if cleaned else ():
        changes.setdefault(change.index, []).append(change.rule)
    by_index: dict[int, list[Finding]] = {}
    for f in result.findings:
        by_index.setdefault(f.index, []).append(f)
    rows = []
    for c in captions:
        after = cleaned_by_index.get(c.index)
        found = by_index.get(c.index, [])
        rows.append(
            {
                "index": c.index,
                "start": format_clock(c.start),
                "end": format_clock(c.end),
                "duration": f"{(c.end - c.start) / 1000:.2f}",
                "original": word_diff(c.text, after.text)[0] if after else [("same", c.text)],
                "cleaned": word_diff(c.text, after.text)[1]
                if after and after.text != c.text
                else None,
                "rules": sorted(set(changes.get(c.index, []))),
                "findings": found,
                "worst": next(
                    (
                        s
                        for s in ("error", "warning", "info")
                        if any(f.severity == s for f in found)
                    ),
                    "",
                ),
            }
        )
    by_rule: dict[str, dict[str, Any]] = {}
    for f in result.findings:
        entry = by_rule.setdefault(f.rule, {"rule": f.rule, "severity": f.severity, "count": 0})
        entry["count"] += 1
    return render_template(
        "qa.html.j2",
        title=title,
        source=source,
        summary=result.to_json()["summary"],
        profile=result.profile,
        rows=rows,
        file_findings=by_index.get(0, []),
        by_rule=sorted(by_rule.values(), key=lambda e: (-e["count"], e["rule"])),
        changes=len(cleaned.changes) if cleaned else None,
        infos=sum(f.severity == "info" for f in result.findings),
        speech=speech,
    )
