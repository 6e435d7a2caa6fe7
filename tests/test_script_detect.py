"""Scripts are told from caption files by their content, never by their extension."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REALDATA, SCRIPTS

from pipeline.audio.sync import load_captions
from pipeline.cli import main
from pipeline.script.parse import is_script

SEEDS = REALDATA.parent / "seeds"


def seeds() -> list[tuple[Path, Path]]:
    """(seed .txt, its copy in scripts/ .md): the authors' files under both names."""
    if not SEEDS.is_dir():
        return []
    pairs = []
    for seed in sorted(SEEDS.glob("*.txt")):
        [copy] = SCRIPTS.glob(seed.name[:3] + "-*.md")
        pairs.append((seed, copy))
    return pairs


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", ["clean", "qa"])
def test_a_seed_gives_the_same_result_as_its_md_copy(command: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pairs = seeds()
    if not pairs:
        pytest.skip("../shared/seeds is not beside this checkout")
    with_captions = 0
    for seed, copy in pairs:
        assert seed.read_bytes() == copy.read_bytes()
        code, out, err = run(capsys, command, str(seed), "--json")
        code_md, out_md, err_md = run(capsys, command, str(copy), "--json")
        assert code == code_md, seed
        assert out == out_md, seed
        assert err.replace(str(seed), "SCRIPT") == err_md.replace(str(copy), "SCRIPT"), seed
        if code == 0:
            with_captions += 1
            doc = json.loads(out)
            if command == "clean":  # script-aware rules ran: the script's words won somewhere
                assert any(c["rule"].startswith("script_") for c in doc["changes"]), seed
    assert with_captions == 2  # 001 and 002 carry an SRT block; the others have none


def test_sync_reads_a_txt_script_as_a_script() -> None:
    pairs = [p for p in seeds() if p[0].name.startswith(("001", "002"))]
    if not pairs:
        pytest.skip("../shared/seeds is not beside this checkout")
    for seed, copy in pairs:
        assert load_captions(seed) == load_captions(copy)


def test_every_real_caption_file_is_captions(realdata: Path) -> None:
    files = sorted((realdata / "subs").iterdir())
    assert len(files) > 100
    assert [f.name for f in files if is_script(f)] == []


@pytest.mark.parametrize(("name", "text", "script"), [
    ("a.txt", "1\n00:00:01,000 --> 00:00:02,000\nHello.\n", False),  # SRT saved as .txt
    ("a.md", "WEBVTT\n\n00:01.000 --> 00:02.000\nHello.\n", False),
    ("a.srt", "---\ntitle: T\n---\nHello.\n", True),  # frontmatter, whatever the name
    ("a.srt", "Hello there.\n\n**CLAP**\n1\n00:00:01,000 --> 00:00:02,000\nHello.\n", True),
    ("a.vtt", "1\n00:00:01,000 --> 00:00:02,000\nHi\n\n`[VISUAL TEXT: a | b]`\n", True),
    ("a.txt", "# A pasted transcript\n\nSome narration.\n", True),
    ("a.srt", "garbage before\n\n00:00:01,000 --> 00:00:02,000\nHi\n", False),  # broken SRT
    ("a.txt", "", False),  # empty: the caption reader says so
])
def test_is_script_by_content(tmp_path: Path, name: str, text: str, script: bool) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert is_script(path) is script


def test_unreadable_input_goes_to_the_reader_its_name_suggests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert is_script(tmp_path / "missing.txt") and not is_script(tmp_path / "missing.srt")
    for name in ("missing.txt", "missing.srt"):
        code, _, err = run(capsys, "clean", str(tmp_path / name))
        assert code == 2 and f"{tmp_path / name}: " in err and "Traceback" not in err
