"""CSV cells a spreadsheet would run as formulas are written as text (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from pipeline.align.cues import AlignedCue, AlignResult
from pipeline.align.markers import to_csv
from pipeline.captions.qa import Finding, QaResult, findings_csv
from pipeline.csvtext import cell, csv_text
from pipeline.models import Cue

HOSTILE = ['=HYPERLINK("http://x","click")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_starts_a_formula_gets_a_quote(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-1.500", "+2", "-3", 12, -4.5, "plain", "a=b", "", None])
def test_numbers_and_plain_text_are_left_alone(value: object) -> None:
    assert cell(value) == value


def test_csv_text_quotes_and_reads_back() -> None:
    text = csv_text([["a", "b"], ["=1+1", "-0.250"], ['say "hi", ok', 3]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["a", "b"], ["'=1+1", "-0.250"], ['say "hi", ok', "3"]]


def test_both_csv_writers_guard_their_text_cells() -> None:
    qa = QaResult("netflix", 1, (Finding(1, "read", "error", "=cmd|' /C calc'!A0", False),))
    [row] = list(csv.DictReader(io.StringIO(findings_csv(qa))))
    assert row["message"] == "'=cmd|' /C calc'!A0" and row["index"] == "1"

    cue = AlignedCue(Cue("visual_text", "@SUM(1+1)", ("@SUM(1+1)",), 7), -1500, 2000, 0, 0.9,
                     "override")
    [row] = list(csv.DictReader(io.StringIO(to_csv(AlignResult((cue,), 1.0)))))
    assert row["text"] == "'@SUM(1+1)"
    assert row["start"] == "-1.500" and row["line"] == "7"  # numbers stay numbers
