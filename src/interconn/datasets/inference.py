"""Streaming CSV profiling: column types, distributions, row count and size.

A dataset is registered from a CSV file, but the node keeps only *metadata*: for each
column a SQL-like ``data_type`` and a ``distribution``, plus the row count and the size
of the file. Nothing here keeps the data: the file is read once, record by record, and
each column holds only a type-lattice state, a few counters and a bounded set of value
hashes, so a 5 GB file is profiled in constant memory.

Reading
-------
* The file is opened with ``newline=''`` and parsed by :mod:`csv` (``strict=True``), so
  quoted fields may contain the delimiter, quotes (``""``) and line breaks; line endings
  may be LF, CRLF or CR.
* With the default ``encoding='utf-8'`` a UTF-8 byte-order mark is accepted and dropped
  (the profile then reports ``encoding='utf-8-sig'``).
* ``delimiter=None`` sniffs the delimiter from the first 64 KiB among ``,`` ``\\t`` ``;``
  ``|`` (see :func:`sniff_delimiter`).
* The first line starts the header record (a blank first line is an error). Names are
  stripped of surrounding whitespace; an empty name or a name repeated (compared
  case-insensitively, as SQL does) is an error.
* Blank lines are skipped (``csv.writer`` writes a lone empty field as ``""``, so a blank
  line is never a record). Every other record must have exactly as many fields as the
  header.
* Bounds that keep memory constant: a field may hold at most ``csv.field_size_limit()``
  characters (131072 by default) and a physical line at most :data:`MAX_LINE_CHARS`.

Errors are :class:`CsvFormatError` whose ``line`` is the 1-based *physical* line of the
file where the offending record starts (counting the lines inside quoted fields of
earlier records), e.g. ``CSV line 7: expected 3 fields as in the header, found 4``.

Values
------
Each value is stripped of surrounding whitespace. Empty values and the tokens in
:data:`NULL_TOKENS` (``NULL``, ``NA``, ``N/A``, ``\\N``, compared case-insensitively) are
nulls: they are counted and do not affect the type. ``NaN`` and ``inf`` are *not* null
tokens; they make a column ``varchar``.

Type lattice (widening only)::

    boolean                       true / false / yes / no (case-insensitive); 0/1 are integers
    tinyint < int < bigint        integers in the 8 / 32 / 64-bit signed ranges
          < decimal               decimal literals without exponent; the column must fit
                                  one DECIMAL(p, s) with p <= 18 (max integer digits of any
                                  value + max fraction digits of any value <= 18)
          < double                any other finite number, including exponent notation
    datetime < timestamp          ``YYYY-MM-DD``, ``YYYY-MM-DD[T ]HH:MM:SS[.fraction]``;
                                  timestamp when a value carries ``Z`` or a ``+HH:MM`` offset
    varchar                       anything else, and the join of different families

The join of two types of the same family is the wider one; the join across families
(boolean, numeric, temporal) is ``varchar``. A column with no non-null value is
``varchar``. Integers written with superfluous leading zeros (``007``, ``00.5``) are
``varchar``: they are identifiers (postal codes, account numbers) whose zeros a numeric
type would lose.

``float`` is never emitted: a CSV does not say how precise its numbers are, and a
32-bit float silently keeps only about 7 significant digits, so non-decimal numbers are
``double``.

Distribution
------------
Numeric columns (tinyint..double) are ``CONTINUOUS`` when they have *many* distinct
values: more than ``min(20, max(2, non_null // 2))`` where ``non_null`` is the number of
non-null values. Everything else is ``DISCRETE``: booleans, strings, datetimes and
numeric columns with few distinct values (codes, ratings, small enumerations).
Distinct values are counted on the stripped text (``1.0`` and ``1.00`` are distinct) by
64-bit hashes, up to ``max_distinct``; ``distinct_capped`` is ``min(distinct,
max_distinct)``.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TextIO

from interconn.errors import OperatorError

__all__ = [
    "BOOLEAN_TOKENS",
    "CONTINUOUS",
    "DATA_TYPES",
    "DISCRETE",
    "MAX_LINE_CHARS",
    "NULL_TOKENS",
    "SNIFF_BYTES",
    "ColumnProfile",
    "CsvFormatError",
    "CsvProfile",
    "human_size",
    "profile_csv",
    "profile_stream",
    "sniff_delimiter",
]

DISCRETE: Final = "DISCRETE"
CONTINUOUS: Final = "CONTINUOUS"

#: Every ``data_type`` a profile may name (``float`` is part of the vocabulary of the
#: protocol, but inference never produces it; see the module docstring).
DATA_TYPES: Final = (
    "tinyint",
    "int",
    "bigint",
    "float",
    "double",
    "decimal",
    "varchar",
    "datetime",
    "timestamp",
    "boolean",
)

#: Lower-cased values (after stripping) that count as null besides the empty string.
NULL_TOKENS: Final = frozenset({"null", "na", "n/a", "\\n"})
#: Lower-cased values that make a boolean.
BOOLEAN_TOKENS: Final = frozenset({"true", "false", "yes", "no"})

#: How much of the file the delimiter sniffer reads.
SNIFF_BYTES: Final = 64 * 1024
#: Longest physical line accepted (characters), so one huge line cannot exhaust memory.
MAX_LINE_CHARS: Final = 4 * 1024 * 1024
#: Candidate delimiters, in order of preference when the sniffer finds a tie.
SNIFF_CANDIDATES: Final = (",", "\t", ";", "|")

#: Numeric columns with at most this many distinct values are always DISCRETE.
DISCRETE_MAX_DISTINCT: Final = 20
#: Largest DECIMAL precision inferred; wider literals are double.
DECIMAL_MAX_PRECISION: Final = 18


class CsvFormatError(OperatorError):
    """The CSV file cannot be profiled; ``line`` is the 1-based physical line at fault."""

    def __init__(self, problem: str, *, line: int) -> None:
        super().__init__(f"CSV line {line}: {problem}", data={"line": line})
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    data_type: str
    distribution: str
    nulls: int
    distinct_capped: int


@dataclass(frozen=True)
class CsvProfile:
    columns: list[ColumnProfile]
    row_count: int
    size_bytes: int
    encoding: str
    delimiter: str


# --------------------------------------------------------------------------- lattice

_NULL: Final = 0  # no non-null value seen yet (bottom)
_BOOLEAN: Final = 1
_TINYINT: Final = 2
_INT: Final = 3
_BIGINT: Final = 4
_DECIMAL: Final = 5
_DOUBLE: Final = 6
_DATETIME: Final = 7
_TIMESTAMP: Final = 8
_VARCHAR: Final = 9  # top

_TYPE_NAMES: Final = {
    _NULL: "varchar",
    _BOOLEAN: "boolean",
    _TINYINT: "tinyint",
    _INT: "int",
    _BIGINT: "bigint",
    _DECIMAL: "decimal",
    _DOUBLE: "double",
    _DATETIME: "datetime",
    _TIMESTAMP: "timestamp",
    _VARCHAR: "varchar",
}
_NUMERIC_TYPES: Final = frozenset({"tinyint", "int", "bigint", "decimal", "double", "float"})


def _join(a: int, b: int) -> int:
    """Least upper bound of two lattice states."""
    if a == b or b == _NULL:
        return a
    if a == _NULL:
        return b
    if _TINYINT <= a <= _DOUBLE and _TINYINT <= b <= _DOUBLE:
        return max(a, b)
    if _DATETIME <= a <= _TIMESTAMP and _DATETIME <= b <= _TIMESTAMP:
        return max(a, b)
    return _VARCHAR


_NUMBER_RE: Final = re.compile(
    r"[+-]?(?P<int>[0-9]*)(?P<dot>\.(?P<frac>[0-9]*))?(?P<exp>[eE][+-]?[0-9]+)?"
)
_TEMPORAL_RE: Final = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[T ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(?:\.[0-9]{1,9})?"
    r"(?P<tz>Z|[+-](?P<tzh>[0-9]{2}):?(?P<tzm>[0-9]{2}))?)?"
)
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_TINYINT_MIN, _TINYINT_MAX = -(2**7), 2**7 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


def _classify_temporal(v: str) -> int:
    m = _TEMPORAL_RE.fullmatch(v)
    if m is None:
        return _VARCHAR
    year, month, day = int(m["y"]), int(m["mo"]), int(m["d"])
    if year < 1 or not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return _VARCHAR
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return _VARCHAR
    if m["h"] is None:
        return _DATETIME
    if int(m["h"]) > 23 or int(m["mi"]) > 59 or int(m["s"]) > 59:
        return _VARCHAR
    if m["tz"] is None:
        return _DATETIME
    if m["tzh"] is not None and (int(m["tzh"]) > 23 or int(m["tzm"]) > 59):
        return _VARCHAR
    return _TIMESTAMP


def _classify(v: str) -> tuple[int, int, int]:
    """Type of one stripped, non-null value: ``(state, integer_digits, scale)``.

    The digit counts are meaningful for integers and decimals only (0 otherwise).
    """
    first = v[0]
    if first.isascii() and (first.isdigit() or first in "+-."):
        if len(v) >= 10 and v[4] == "-" and first.isdigit():
            return _classify_temporal(v), 0, 0
        m = _NUMBER_RE.fullmatch(v)
        if m is None:
            return _VARCHAR, 0, 0
        int_part, frac = m["int"], m["frac"] or ""
        if not int_part and not frac:
            return _VARCHAR, 0, 0  # "+", ".", "-.e5"
        if len(int_part) > 1 and int_part[0] == "0":
            return _VARCHAR, 0, 0  # leading zeros: an identifier
        if m["exp"] is not None:
            return (_DOUBLE if math.isfinite(float(v)) else _VARCHAR), 0, 0
        digits = len(int_part.lstrip("0"))
        if m["dot"] is None:
            n = int(v)
            if _TINYINT_MIN <= n <= _TINYINT_MAX:
                return _TINYINT, digits, 0
            if _INT_MIN <= n <= _INT_MAX:
                return _INT, digits, 0
            if _BIGINT_MIN <= n <= _BIGINT_MAX:
                return _BIGINT, digits, 0
            # Out of 64-bit range means at least 19 digits: wider than any decimal.
            return (_DOUBLE if math.isfinite(float(v)) else _VARCHAR), 0, 0
        if digits + len(frac) > DECIMAL_MAX_PRECISION:
            return (_DOUBLE if math.isfinite(float(v)) else _VARCHAR), 0, 0
        return _DECIMAL, digits, len(frac)
    if v.lower() in BOOLEAN_TOKENS:
        return _BOOLEAN, 0, 0
    return _VARCHAR, 0, 0


class _ColumnState:
    """Everything kept for one column: lattice state, counters, bounded distinct hashes."""

    __slots__ = ("distinct", "distinct_cap", "int_digits", "name", "nulls", "scale", "state")

    def __init__(self, name: str, distinct_cap: int) -> None:
        self.name = name
        self.state = _NULL
        self.nulls = 0
        self.int_digits = 0
        self.scale = 0
        self.distinct: set[int] = set()
        self.distinct_cap = distinct_cap

    def add(self, raw: str) -> None:
        v = raw.strip()
        if not v or (len(v) <= 4 and v.lower() in NULL_TOKENS):
            self.nulls += 1
            return
        if len(self.distinct) < self.distinct_cap:
            self.distinct.add(hash(v))
        if self.state == _VARCHAR:
            return
        state, digits, scale = _classify(v)
        joined = _join(self.state, state)
        if _TINYINT <= state <= _DECIMAL:
            if digits > self.int_digits:
                self.int_digits = digits
            if scale > self.scale:
                self.scale = scale
        if joined == _DECIMAL and self.int_digits + self.scale > DECIMAL_MAX_PRECISION:
            joined = _DOUBLE
        self.state = joined

    def profile(self, row_count: int, max_distinct: int) -> ColumnProfile:
        data_type = _TYPE_NAMES[self.state]
        distinct = len(self.distinct)
        return ColumnProfile(
            name=self.name,
            data_type=data_type,
            distribution=_distribution(data_type, distinct, row_count - self.nulls),
            nulls=self.nulls,
            distinct_capped=min(distinct, max_distinct),
        )


def _distribution(data_type: str, distinct: int, non_null: int) -> str:
    if data_type not in _NUMERIC_TYPES:
        return DISCRETE
    threshold = min(DISCRETE_MAX_DISTINCT, max(2, non_null // 2))
    return CONTINUOUS if distinct > threshold else DISCRETE


# --------------------------------------------------------------------------- parsing


def _check_delimiter(delimiter: str) -> None:
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise OperatorError(
            f"delimiter must be one character other than quote or newline, got {delimiter!r}"
        )


def _header(row: list[str]) -> list[str]:
    names = [name.strip() for name in row]
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if not name:
            raise CsvFormatError(f"header column {i} has an empty name", line=1)
        key = name.casefold()
        if key in seen:
            raise CsvFormatError(
                f"duplicate column name {name!r} in the header (columns {seen[key]} and {i})",
                line=1,
            )
        seen[key] = i
    return names


def profile_stream(
    lines: Iterable[str],
    *,
    size_bytes: int,
    delimiter: str = ",",
    max_distinct: int = 1000,
) -> CsvProfile:
    """Profile CSV text given as physical lines *with* their line endings.

    ``lines`` is what iterating a file opened with ``newline=''`` yields (or
    ``text.splitlines(keepends=True)``). The result reports ``encoding='utf-8'``;
    :func:`profile_csv` replaces it with the encoding it actually read.
    """
    _check_delimiter(delimiter)
    if max_distinct < 1:
        raise OperatorError(f"max_distinct must be at least 1, got {max_distinct}")
    distinct_cap = max(max_distinct, DISCRETE_MAX_DISTINCT + 1)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    columns: list[_ColumnState] | None = None
    row_count = 0
    consumed = 0  # physical lines consumed by the records read so far
    try:
        for row in reader:
            start = consumed + 1
            consumed = reader.line_num
            if not row:
                continue  # blank line
            if columns is None:
                if start != 1:
                    raise CsvFormatError("line is blank; the header must be the first line", line=1)
                columns = [_ColumnState(name, distinct_cap) for name in _header(row)]
                continue
            if len(row) != len(columns):
                span = f" (record spans lines {start}-{consumed})" if consumed > start else ""
                raise CsvFormatError(
                    f"expected {len(columns)} fields as in the header, found {len(row)}{span}",
                    line=start,
                )
            row_count += 1
            for column, value in zip(columns, row, strict=True):
                column.add(value)
    except csv.Error as exc:
        start = consumed + 1
        if "unexpected end of data" in str(exc):
            raise CsvFormatError(
                "quoted field is never closed (unexpected end of file)", line=start
            ) from exc
        raise CsvFormatError(f"malformed record: {exc}", line=max(start, reader.line_num)) from exc
    if columns is None:
        raise CsvFormatError("the file is empty; a header row is required", line=1)
    return CsvProfile(
        columns=[c.profile(row_count, max_distinct) for c in columns],
        row_count=row_count,
        size_bytes=size_bytes,
        encoding="utf-8",
        delimiter=delimiter,
    )


def sniff_delimiter(sample: str, *, truncated: bool = False) -> str:
    """Pick the delimiter among ``, TAB ; |`` that best explains ``sample``.

    Each candidate parses the sample with :mod:`csv` (so quoted delimiters are ignored).
    Candidates whose header has a single field are out; among the rest the winner has
    the largest share of records with as many fields as the header, then the most
    fields, then comes first in ``, TAB ; |``. With no candidate left the file has one
    column and the answer is ``,``. ``truncated`` says the sample stops mid-file, so its
    last record may be partial and is ignored.
    """
    best: tuple[float, int, int] | None = None
    best_delimiter = ","
    for preference, candidate in enumerate(SNIFF_CANDIDATES):
        try:
            rows = [
                r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=candidate) if r
            ]
        except csv.Error:
            continue
        if truncated and len(rows) > 1:
            rows.pop()
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        score = (consistent, width, -preference)
        if best is None or score > best:
            best, best_delimiter = score, candidate
    return best_delimiter


_UNDECODABLE_RE: Final = re.compile("[\udc80-\udcff]")


def _physical_lines(stream: TextIO, encoding: str) -> Iterator[str]:
    """Yield the lines of ``stream`` (opened with ``errors='surrogateescape'``), checking
    that each decoded cleanly and is not longer than :data:`MAX_LINE_CHARS`."""
    number = 0
    while True:
        try:
            line = stream.readline(MAX_LINE_CHARS)
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                f"bytes not decodable as {encoding}: {exc.reason}", line=number + 1
            ) from exc
        if not line:
            return
        number += 1
        # A full-length line without terminator is too long unless the file ends there;
        # the probe consumes a character, which only matters when we fail anyway.
        if len(line) >= MAX_LINE_CHARS and line[-1] not in "\r\n" and stream.read(1):
            raise CsvFormatError(f"line is longer than {MAX_LINE_CHARS} characters", line=number)
        if not line.isascii() and _UNDECODABLE_RE.search(line):
            raise CsvFormatError(f"bytes not decodable as {encoding}", line=number)
        yield line


def profile_csv(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    max_distinct: int = 1000,
) -> CsvProfile:
    """Profile the CSV file at ``path`` in one streaming pass (see the module docstring)."""
    if delimiter is not None:
        _check_delimiter(delimiter)
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        raise OperatorError(f"unknown encoding {encoding!r}") from exc
    try:
        size_bytes = os.stat(path).st_size
        with open(path, "rb") as raw:
            head = raw.read(SNIFF_BYTES)
            truncated = bool(raw.read(1))
    except OSError as exc:
        raise OperatorError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    if codec in ("utf-8", "utf-8-sig"):
        codec = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if delimiter is None:
        delimiter = sniff_delimiter(head.decode(codec, errors="replace"), truncated=truncated)
    try:
        # utf-8-sig decodes BOM-less UTF-8 too.
        read_codec = "utf-8-sig" if codec == "utf-8" else codec
        with open(path, encoding=read_codec, errors="surrogateescape", newline="") as stream:
            profile = profile_stream(
                _physical_lines(stream, codec),
                size_bytes=size_bytes,
                delimiter=delimiter,
                max_distinct=max_distinct,
            )
    except OSError as exc:
        raise OperatorError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    return dataclasses.replace(profile, encoding=codec)


_UNITS: Final = ("B", "KB", "MB", "GB", "TB", "PB", "EB")


def human_size(n: int) -> str:
    """``n`` bytes for people, in binary units with one decimal: ``'1.5 MB'``.

    Below 1 KiB the exact count is shown (``'512 B'``); a value that would round to
    1024 of a unit is shown in the next unit (``'1.0 MB'``, never ``'1024.0 KB'``).
    """
    if n < 0:
        raise OperatorError(f"a size cannot be negative, got {n}")
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS[1:]:
        value /= 1024
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover
