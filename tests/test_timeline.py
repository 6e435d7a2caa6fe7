"""Caption timeline -> output timeline across trimmed, joined takes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Caption
from pipeline.timeline import captions_to_output, join, span_to_output, trim_point

A, B = Path("a.webm"), Path("b.webm")


def test_single_take_shifts_by_offset_minus_trim() -> None:
    # clap at 1.0 s, speech (caption 0) at 2.5 s: offset 2500, trim 1500
    takes = join([(A, 60_000, 2500, trim_point(1000, 500, 2500))])
    assert takes[0].trim == 1500
    assert span_to_output(takes, 0, 1000) == (1000, 2000)
    caps = captions_to_output(takes, [Caption(7, 0, 1000, "hi"), Caption(8, 1200, 2000, "yo")])
    assert [(c.index, c.start, c.end) for c in caps] == [(1, 1000, 2000), (2, 2200, 3000)]


def test_trim_never_cuts_the_first_word() -> None:
    assert trim_point(1000, 500, 1300) == 1150  # clap + 150 at the earliest
    assert trim_point(1000, 500, 1600) == 1400
    assert trim_point(None, 500, 1600) == 0


def test_two_takes_join_in_order() -> None:
    # take A shows captions -0.5..10 s (offset +2 s), take B shows captions 8.5..20 s
    takes = join([(A, 12_000, 2000, 1500), (B, 13_000, -7000, 1500)])
    assert [t.out_start for t in takes] == [0, 10_500]
    assert span_to_output(takes, 1000, 2000) == (1500, 2500)  # in A
    assert span_to_output(takes, 9000, 9500) == (9500, 10_000)  # both show it: the first wins
    assert span_to_output(takes, 10_000, 11_000) == (10_500 + 1500, 10_500 + 2500)  # in B
    assert span_to_output(takes, 50_000, 51_000) is None  # nobody recorded that


@given(st.integers(0, 10_000), st.integers(-5000, 5000), st.integers(0, 3000),
       st.integers(0, 20_000), st.integers(1, 5000))
def test_span_mapping_is_a_pure_shift_inside_a_take(
    duration_extra: int, offset: int, trim: int, start: int, length: int
) -> None:
    duration = trim + 30_000 + duration_extra
    takes = join([(A, duration, offset, trim)])
    span = span_to_output(takes, start, start + length)
    rec_start = start + offset
    if trim <= rec_start and rec_start + length <= duration:
        assert span == (rec_start - trim, rec_start - trim + length)
    if span is not None:
        assert 0 <= span[0] < span[1] <= duration - trim
