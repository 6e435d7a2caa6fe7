"""Caption QA: profiles, each rule, the seeds, HTML/CSV reports and the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from pipeline.captions.clean import clean_captions
from pipeline.captions.io import ReadIssue, read_captions, to_srt
from pipeline.captions.profiles import PROFILES, get_profile
from pipeline.captions.qa import RULES, check_captions, findings_csv, report_html
from pipeline.cli import main
from pipeline.errors import CaptionError
from pipeline.models import Caption
from pipeline.script.parse import parse_script
from tests.conftest import SCRIPTS, assert_timing_kept, narration_lesson

SEED_001 = SCRIPTS / "001-improvement-levers.md"
SEED_002 = SCRIPTS / "002-intro-customer-segments.md"
NETFLIX = get_profile("netflix")




# --- profiles ---------------------------------------------------------------------------


def test_profiles() -> None:
    assert get_profile() == PROFILES["netflix"] == get_profile("Netflix")
    n = PROFILES["netflix"]
    assert (
        n.max_chars_per_line,
        n.max_lines,
        n.max_cps,
        n.min_duration,
        n.max_duration,
        n.min_gap,
    ) == (42, 2, 20.0, 833, 7000, 83)
    b = PROFILES["bbc"]
    assert (b.max_chars_per_line, b.max_lines, b.min_wpm, b.max_wpm) == (37, 2, 160.0, 180.0)
    with pytest.raises(CaptionError, match="known: bbc, netflix"):
        get_profile("youtube")


# --- each rule --------------------------------------------------------------------------

GOOD = Caption(1, 0, 2000, "A calm, short line.")
CASES: list[tuple[str, list[Caption]]] = [
    ("empty", [Caption(1, 0, 2000, "  ")]),
    ("bad_timing", [Caption(1, 2000, 2000, "Zero length.")]),
    ("overlap", [GOOD, Caption(2, 1500, 4000, "Overlaps the first.")]),
    ("min_gap", [GOOD, Caption(2, 2040, 4000, "Too close.")]),
    ("too_short", [Caption(1, 0, 500, "Blink.")]),
    ("too_long", [Caption(1, 0, 9000, "Lingers far too long.")]),
    ("reading_speed", [Caption(1, 0, 1000, "Far too many characters for one second.")]),
    (
        "line_length",
        [Caption(1, 0, 6000, "This single line is much longer than forty-two characters.")],
    ),
    ("line_count", [Caption(1, 0, 6000, "One.\nTwo.\nThree.")]),
    ("unbalanced_lines", [Caption(1, 0, 6000, "A very long first line of the caption\nshort.")]),
    ("double_space", [Caption(1, 0, 2000, "Okay,  broaden.")]),
    ("lowercase_start", [GOOD, Caption(2, 2100, 4000, "then lowercase.")]),
    ("capital_after_comma", [Caption(1, 0, 2000, "Too small, Can you?")]),
    ("line_break_point", [Caption(1, 0, 3000, "Sell it to the\nright people.")]),
]


@pytest.mark.parametrize("rule,captions", CASES, ids=[c[0] for c in CASES])
def test_each_rule_fires_and_stays_quiet(rule: str, captions: list[Caption]) -> None:
    fired = {f.rule for f in check_captions(captions, NETFLIX).findings}
    assert rule in fired
    assert rule not in {f.rule for f in check_captions([GOOD], NETFLIX).findings}


def test_rule_table_covers_the_cases() -> None:
    names = {r.name for r in RULES}
    assert {c[0] for c in CASES} | {"script_case", "script_mismatch"} <= names


def test_bbc_checks_words_per_minute() -> None:
    fast = [Caption(1, 0, 2000, "Seven words in just two whole seconds.")]
    assert any(
        "words per minute" in f.message for f in check_captions(fast, get_profile("bbc")).findings
    )
    assert not any("words per minute" in f.message for f in check_captions(fast, NETFLIX).findings)


def test_script_rules() -> None:
    lesson = narration_lesson("Grow your TAM and ARPU in Aotearoa.")
    result = check_captions([Caption(1, 0, 3000, "Grow your tam in ERO.")], NETFLIX, lesson)
    by_rule = {f.rule: f for f in result.findings}
    assert "'tam'" in by_rule["script_case"].message and by_rule["script_case"].fixable
    assert "'ERO'" in by_rule["script_mismatch"].message
    assert "'tam'" not in by_rule["script_mismatch"].message


def test_a_capital_after_a_comma_the_script_writes_is_no_finding() -> None:
    # verse capitalises every line: the captions of a reading keep the script's capitals
    lesson = narration_lesson("From fairest creatures we desire increase,",
                              "That thereby beauty's rose might never die.")
    verse = [Caption(1, 0, 3000, "we desire increase, That thereby")]
    assert "capital_after_comma" in {f.rule for f in check_captions(verse, NETFLIX).findings}
    assert "capital_after_comma" not in {
        f.rule for f in check_captions(verse, NETFLIX, lesson).findings}
    other = [Caption(1, 0, 3000, "we desire increase, Can you?")]
    assert "capital_after_comma" in {f.rule for f in check_captions(other, NETFLIX, lesson).findings}


def test_read_issues_become_findings() -> None:
    caps = [Caption(1, 0, 2000, "One.", line=2), Caption(2, 3000, 5000, "Two.", line=6)]
    result = check_captions(
        caps, NETFLIX, issues=[ReadIssue(7, "bad timestamp"), ReadIssue(1, "x")]
    )
    read = [(f.index, f.message) for f in result.findings if f.rule == "read"]
    assert read == [(0, "line 1: x"), (2, "line 7: bad timestamp")]


# --- seeds ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [SEED_001, SEED_002], ids=["001", "002"])
def test_seed_qa_json_contract(seed: Path) -> None:
    lesson = parse_script(seed)
    doc = check_captions(lesson.captions, NETFLIX, lesson).to_json()
    assert list(doc) == ["profile", "findings", "summary"]
    assert doc["profile"] == "netflix"
    assert list(doc["summary"]) == ["captions", "errors", "warnings"]
    assert doc["summary"]["captions"] == len(lesson.captions)
    findings = doc["findings"]
    assert findings
    for f in findings:
        assert list(f) == ["index", "rule", "severity", "message", "fixable"]
        assert f["severity"] in ("error", "warning", "info") and isinstance(f["fixable"], bool)
    assert doc["summary"]["errors"] == sum(f["severity"] == "error" for f in findings)
    assert doc["summary"]["warnings"] == sum(f["severity"] == "warning" for f in findings)
    assert {"double_space", "lowercase_start"} & {f["rule"] for f in findings}


def test_seed_001_findings_and_clean_fixes_them() -> None:
    lesson = parse_script(SEED_001)
    before = check_captions(lesson.captions, NETFLIX, lesson).findings
    at = {(f.index, f.rule) for f in before}
    assert (18, "double_space") in at and (14, "script_case") in at
    ero = [f for f in before if f.rule == "script_mismatch" and "'ERO'" in f.message]
    assert [f.index for f in ero] == [62]
    cleaned = clean_captions(lesson.captions, lesson, NETFLIX).captions
    after = {f.rule for f in check_captions(cleaned, NETFLIX, lesson).findings}
    assert not after & {
        "double_space",
        "script_case",
        "lowercase_start",
        "line_length",
        "line_count",
    }


# --- reports ----------------------------------------------------------------------------

HOSTILE = "<script>alert('x')</script> \"quoted\" & <b>bold</b>"


def test_html_report_escapes_hostile_text() -> None:
    caps = [Caption(1, 0, 2000, HOSTILE), Caption(2, 2100, 2200, "Second  one")]
    result = check_captions(caps, NETFLIX)
    html = report_html(
        result, caps, clean_captions(caps), title="<img src=x onerror=1>", source="s.srt"
    )
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&#34;quoted&#34; &amp;" in html
    assert 'id="c2"' in html and "too_short" in html and "<del>" in html and "<ins>" in html


def test_csv_export_round_trips() -> None:
    caps = [Caption(1, 0, 500, 'Short, "quoted"  text')]
    result = check_captions(caps, NETFLIX)
    rows = list(csv.DictReader(io.StringIO(findings_csv(result))))
    assert [(r["index"], r["rule"], r["severity"]) for r in rows] == [
        (str(f.index), f.rule, f.severity) for f in result.findings
    ]
    assert rows[0]["fixable"] in ("yes", "no")


# --- CLI --------------------------------------------------------------------------------


def test_cli_qa_json_html_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html, table = tmp_path / "qa.html", tmp_path / "qa.csv"
    rc = main(["qa", str(SEED_002), "--json", "--html", str(html), "--csv", str(table)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["summary"]["captions"] == 78
    assert html.read_text().startswith("<!doctype html>") and table.read_text().startswith(
        "index,rule"
    )


def test_cli_qa_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["qa", str(SEED_001), "--strict", "--json"]) == 0  # netflix: warnings only
    assert main(["qa", str(SEED_002), "--strict", "--profile", "bbc", "--json"]) == 1
    last = capsys.readouterr().out.split("\n{\n")[-1]
    assert '"errors": 0' not in last


def test_cli_clean_writes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    srt = tmp_path / "in.srt"
    srt.write_text(to_srt(parse_script(SEED_002).captions), encoding="utf-8")
    out = tmp_path / "out.vtt"
    assert main(["clean", str(srt), "--script", str(SEED_002), "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["captions", "changes"]
    assert any("beach shared" in c["before"] and "beachhead" in c["after"] for c in doc["changes"])
    written, _issues = read_captions(out)
    assert [c.text for c in written] == [c["text"] for c in doc["captions"]]
    assert main(["qa", str(srt), "--script", str(SEED_002), "--json"]) == 0
    assert "script_mismatch" in capsys.readouterr().out
    assert main(["clean", str(srt), "--json"]) == 0  # without a script: generic rules only
    assert "script_words" not in capsys.readouterr().out


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.srt"
    bad.write_text("just some text\n", encoding="utf-8")
    assert main(["qa", str(bad), "--json"]) == 2
    assert f"{bad}:1: not a caption file" in capsys.readouterr().err
    assert main(["clean", str(tmp_path / "missing.srt")]) == 2
    assert "missing.srt: cannot read captions" in capsys.readouterr().err
    assert main(["qa", str(SEED_001), "--profile", "nope"]) == 2
    assert main(["clean", str(SEED_001), "-o", str(tmp_path / "x.txt")]) == 2


def test_fixable_tells_whether_clean_can_fix_it() -> None:
    bbc = get_profile("bbc")
    fits = Caption(1, 0, 6000, "A line that is rather longer than thirty-seven chars.")
    too_much = Caption(2, 7000, 13000, " ".join(["wordy"] * 20))
    result = check_captions([fits, too_much], bbc)
    fixable = {f.index: f.fixable for f in result.findings if f.rule == "line_length"}
    assert fixable == {1: True, 2: False}
    cleaned = clean_captions([fits], profile=bbc).captions
    assert "line_length" not in {f.rule for f in check_captions(cleaned, bbc).findings}


REALSUBS = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata" / "subs"


def test_clean_and_qa_survive_every_real_file(realdata: Path) -> None:
    checked = 0
    for path in sorted(REALSUBS.iterdir()):
        try:
            caps, issues = read_captions(path)
        except CaptionError:
            continue
        for profile in PROFILES.values():
            cleaned = clean_captions(caps, profile=profile)
            assert_timing_kept(caps, cleaned.captions, profile)
            result = check_captions(caps, profile, issues=issues)
            assert len([f for f in result.findings if f.rule == "read"]) == len(issues)
            assert "<script" not in report_html(result, caps, cleaned, path.name, str(path)).lower()
        checked += 1
    assert checked >= 130
