"""CSV text that a spreadsheet opens as data, never as formulas.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a cue would become a link
that runs when clicked). Following OWASP's advice on CSV injection, such a text cell gets a
leading single quote, which spreadsheets show as text; numbers (``-1.5``) stay numbers.
Every CSV the pipeline writes goes through :func:`csv_text`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def cell(value: object) -> object:
    """``value`` as a CSV cell: text that would start a formula is quoted with ``'``."""
    if (isinstance(value, str) and value.startswith(FORMULA_START)
            and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows (the header first) as CSV text, every cell through :func:`cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()
