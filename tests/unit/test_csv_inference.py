"""CSV profiling: type lattice, distributions, streaming, errors and sizes."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interconn.datasets.inference import (
    CONTINUOUS,
    DISCRETE,
    ColumnProfile,
    CsvFormatError,
    CsvProfile,
    human_size,
    profile_csv,
    profile_stream,
    sniff_delimiter,
)
from interconn.errors import OperatorError


def _write(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _stream(text: str, *, max_distinct: int = 1000) -> CsvProfile:
    lines = text.splitlines(keepends=True)
    return profile_stream(lines, size_bytes=len(text.encode()), max_distinct=max_distinct)


def _col(profile: CsvProfile, name: str) -> ColumnProfile:
    (col,) = [c for c in profile.columns if c.name == name]
    return col


def _types(profile: CsvProfile) -> dict[str, str]:
    return {c.name: c.data_type for c in profile.columns}


# ------------------------------------------------------------------ the property model

NUMERIC = ["tinyint", "int", "bigint", "decimal", "double"]
TEMPORAL = ["datetime", "timestamp"]
NULL_SPELLINGS = ["", "NULL", "null", "NA", "n/a", "N/A", "\\N", "   "]


@dataclass(frozen=True)
class Value:
    """One generated cell: its text and what the spec says about it."""

    text: str
    kind: str  # lattice type of the value alone, or "null"
    int_digits: int = 0  # integer/decimal values: digits before the point (no leading zeros)
    scale: int = 0  # decimal values: digits after the point


def _int_type(n: int) -> str:
    if -(2**7) <= n < 2**7:
        return "tinyint"
    if -(2**31) <= n < 2**31:
        return "int"
    return "bigint"


def _int_value(n: int) -> Value:
    return Value(str(n), _int_type(n), int_digits=len(str(abs(n))) if n else 0)


@st.composite
def _decimal_value(draw: st.DrawFn) -> Value:
    whole = draw(st.integers(0, 10**9 - 1))
    scale = draw(st.integers(1, 6))
    frac = draw(st.integers(0, 10**scale - 1))
    sign = draw(st.sampled_from(["", "-", "+"]))
    return Value(
        f"{sign}{whole}.{frac:0{scale}d}",
        "decimal",
        int_digits=len(str(whole)) if whole else 0,
        scale=scale,
    )


@st.composite
def _double_value(draw: st.DrawFn) -> Value:
    x = draw(st.floats(-1e300, 1e300))  # rounding to fewer digits stays finite
    digits = draw(st.integers(0, 16))
    return Value(f"{x:.{digits}e}", "double")


_ALPHABET = st.characters(codec="utf-8", exclude_characters="\x00") | st.sampled_from(
    [",", '"', "\n", "\r", ";", "\t", "|", "é", "中", "🙂", " "]
)


@st.composite
def _string_value(draw: st.DrawFn) -> Value:
    # The leading letter keeps it from being a number, boolean, date or null token.
    text = "s" + draw(st.text(_ALPHABET, max_size=12))
    # A lone CR is a line break to a newline='' reader, but Python 3.11's csv.writer does
    # not quote it when lineterminator='\n'; pairing it with LF makes the writer quote it.
    return Value(text.replace("\r", "\r\n"), "varchar")


_DATETIMES = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31))


@st.composite
def _datetime_value(draw: st.DrawFn) -> Value:
    dt = draw(_DATETIMES)
    form = draw(st.sampled_from(["date", "T", " ", "frac"]))
    if form == "date":
        return Value(dt.date().isoformat(), "datetime")
    if form == "frac":
        return Value(dt.isoformat(sep="T", timespec="microseconds"), "datetime")
    return Value(dt.isoformat(sep=form, timespec="seconds"), "datetime")


@st.composite
def _timestamp_value(draw: st.DrawFn) -> Value:
    minutes = draw(st.integers(-14 * 60, 14 * 60).map(lambda m: m - m % 15))
    dt = draw(_DATETIMES).replace(tzinfo=timezone(timedelta(minutes=minutes)))
    text = dt.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds"])))
    if minutes == 0 and draw(st.booleans()):
        text = text[: -len("+00:00")] + "Z"
    return Value(text, "timestamp")


KINDS: dict[str, st.SearchStrategy[Value]] = {
    "tinyint": st.integers(-(2**7), 2**7 - 1).map(_int_value),
    "int": st.integers(-(2**31), 2**31 - 1).map(_int_value),
    "bigint": st.integers(-(2**63), 2**63 - 1).map(_int_value),
    "decimal": _decimal_value(),
    "double": _double_value(),
    "boolean": st.sampled_from(["true", "false", "yes", "no", "TRUE", "No", "Yes", "fAlSe"]).map(
        lambda s: Value(s, "boolean")
    ),
    "varchar": _string_value(),
    "datetime": _datetime_value(),
    "timestamp": _timestamp_value(),
}
NULLS = st.sampled_from(NULL_SPELLINGS).map(lambda s: Value(s, "null"))


def expected_type(values: list[Value]) -> str:
    """The lattice join, stated as the spec states it (on the set of value types)."""
    kinds = {v.kind for v in values if v.kind != "null"}
    if not kinds:
        return "varchar"
    if kinds <= set(NUMERIC):
        top = max(kinds, key=NUMERIC.index)
        if top == "decimal":  # the column must fit one DECIMAL(p, s) with p <= 18
            numbers = [v for v in values if v.kind != "null"]
            if max(v.int_digits for v in numbers) + max(v.scale for v in numbers) > 18:
                return "double"
        return top
    if kinds <= set(TEMPORAL):
        return max(kinds, key=TEMPORAL.index)
    if kinds == {"boolean"}:
        return "boolean"
    return "varchar"


def expected_distribution(data_type: str, values: list[Value]) -> str:
    non_null = [v.text.strip() for v in values if v.kind != "null"]
    if data_type in NUMERIC and len(set(non_null)) > min(20, max(2, len(non_null) // 2)):
        return CONTINUOUS
    return DISCRETE


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[Value]]]:
    ncols = draw(st.integers(1, 5))
    column_kinds = [
        draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=2, unique=True))
        for _ in range(ncols)
    ]
    null_rate = draw(st.sampled_from([0.0, 0.2, 0.6]))
    nrows = draw(st.integers(0, 30))
    rows: list[list[Value]] = []
    for _ in range(nrows):
        row = []
        for kinds in column_kinds:
            if null_rate and draw(st.floats(0, 1)) < null_rate:
                row.append(draw(NULLS))
            else:
                row.append(draw(KINDS[draw(st.sampled_from(kinds))]))
        rows.append(row)
    names = [f"col_{i}_{'é' if i % 2 else 'x'}" for i in range(ncols)]
    return names, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
    lineterminator=st.sampled_from(["\r\n", "\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    bom=st.booleans(),
    max_distinct=st.sampled_from([5, 1000]),
)
def test_inferred_types_are_the_lattice_join(
    table: tuple[list[str], list[list[Value]]],
    delimiter: str,
    lineterminator: str,
    quoting: Literal[0, 1, 2, 3],
    bom: bool,
    max_distinct: int,
) -> None:
    names, rows = table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
            writer = csv.writer(
                f, delimiter=delimiter, lineterminator=lineterminator, quoting=quoting
            )
            writer.writerow(names)
            writer.writerows([[v.text for v in row] for row in rows])
        sniff = len(names) >= 2  # one column: nothing to sniff, so pass it
        profile = profile_csv(
            path, delimiter=None if sniff else delimiter, max_distinct=max_distinct
        )
        size = os.stat(path).st_size

    assert profile.row_count == len(rows)
    assert profile.size_bytes == size
    assert profile.delimiter == delimiter
    assert profile.encoding == ("utf-8-sig" if bom else "utf-8")
    assert [c.name for c in profile.columns] == names
    for i, col in enumerate(profile.columns):
        values = [row[i] for row in rows]
        assert col.data_type == expected_type(values), [v.text for v in values]
        assert col.data_type != "float"
        assert col.nulls == sum(v.kind == "null" for v in values)
        distinct = len({v.text.strip() for v in values if v.kind != "null"})
        assert col.distinct_capped == min(distinct, max_distinct)
        assert col.distribution == expected_distribution(col.data_type, values)


@settings(max_examples=100, deadline=None)
@given(
    fields=st.lists(
        st.lists(st.text(_ALPHABET, max_size=8), min_size=2, max_size=2), min_size=1, max_size=10
    )
)
def test_round_trips_awkward_strings_and_counts_records_not_lines(
    fields: list[list[str]],
) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["a", "b"])
    writer.writerows(fields)
    text = buf.getvalue()
    profile = profile_stream(io.StringIO(text, newline=""), size_bytes=len(text))
    assert profile.row_count == len(fields)
    for i, col in enumerate(profile.columns):
        spellings = {"", "null", "na", "n/a", "\\n"}
        nulls = sum(1 for row in fields if row[i].strip().lower() in spellings)
        assert col.nulls == nulls


# ------------------------------------------------------------------ examples: reading


def test_quoted_delimiter_quote_and_newline_inside_fields(tmp_path: Path) -> None:
    text = 'id,comment,score\r\n1,"hello, world",1.5\r\n2,"say ""hi""\r\nover two lines",2.5\r\n'
    profile = profile_csv(_write(tmp_path / "q.csv", text))
    assert profile.row_count == 2
    assert _types(profile) == {"id": "tinyint", "comment": "varchar", "score": "decimal"}
    assert profile.delimiter == ","


def test_empty_values_and_null_tokens_are_counted_and_ignored() -> None:
    text = "a,b,c\n1,,NULL\n,NA,\n3,n/a,\\N\n  ,true,\n"
    profile = _stream(text)
    assert profile.row_count == 4
    assert [(c.data_type, c.nulls) for c in profile.columns] == [
        ("tinyint", 2),
        ("boolean", 3),
        ("varchar", 4),  # all null
    ]


def test_utf8_bom_is_dropped_from_the_first_header_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.csv", "名前,年齢\n太郎,30\n", encoding="utf-8-sig")
    profile = profile_csv(path)
    assert [c.name for c in profile.columns] == ["名前", "年齢"]
    assert profile.encoding == "utf-8-sig"
    assert _types(profile) == {"名前": "varchar", "年齢": "tinyint"}
    assert profile.size_bytes == len("名前,年齢\n太郎,30\n".encode()) + 3


def test_header_only_file(tmp_path: Path) -> None:
    profile = profile_csv(_write(tmp_path / "h.csv", "x,y,z\r\n"))
    assert profile.row_count == 0
    assert [(c.data_type, c.distribution, c.nulls) for c in profile.columns] == [
        ("varchar", DISCRETE, 0)
    ] * 3


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    profile = profile_csv(_write(tmp_path / "b.csv", "a,b\n1,2\n\n3,4\n\n"))
    assert profile.row_count == 2


def test_other_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.csv", "name;price\ncafé;1,5\nthé;2\n", encoding="latin-1")
    profile = profile_csv(path, encoding="latin-1")
    assert profile.delimiter == ";"
    assert profile.encoding == "iso8859-1"
    assert _types(profile) == {"name": "varchar", "price": "varchar"}


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a\tb\tc\n1\t2,5\t3\n4\t5\t6\n", "\t"),
        ("a;b\n1,5;2\n", ";"),
        ("a|b|c\n1|2|3\n", "|"),
        ('a,b\n"x;y|z\tw",2\n', ","),
        ("single\nx;y|z\n", ","),  # one column: nothing else fits, comma by default
    ],
)
def test_delimiter_sniffing(tmp_path: Path, text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter
    assert profile_csv(_write(tmp_path / "s.csv", text)).delimiter == delimiter


def test_tab_delimited_file_is_sniffed(tmp_path: Path) -> None:
    rows = [["id", "note", "amount"]] + [[str(i), f"n, {i}", f"{i}.25"] for i in range(50)]
    path = tmp_path / "t.tsv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter="\t").writerows(rows)
    profile = profile_csv(path)
    assert profile.delimiter == "\t"
    assert profile.row_count == 50
    assert _types(profile) == {"id": "tinyint", "note": "varchar", "amount": "decimal"}


def test_sniffing_ignores_a_truncated_last_record() -> None:
    sample = "a,b\n1,2\n3,4\n5"  # cut mid-record by the 64 KiB window
    assert sniff_delimiter(sample, truncated=True) == ","


# ------------------------------------------------------------------ examples: errors


def test_malformed_row_after_embedded_newline_names_its_physical_line(tmp_path: Path) -> None:
    text = 'a,b,c\r\n1,"two\r\nlines\r\nhere",3\r\n4,5,6\r\n7,8,9,10\r\n'
    with pytest.raises(CsvFormatError) as info:
        profile_csv(_write(tmp_path / "bad.csv", text))
    assert info.value.line == 6
    assert "line 6" in str(info.value)
    assert "expected 3" in str(info.value) and "found 4" in str(info.value)
    assert isinstance(info.value, OperatorError)


def test_too_few_fields_and_multi_line_bad_record_report_the_start_line() -> None:
    with pytest.raises(CsvFormatError) as info:
        _stream('a,b\n1,2\n"x\ny"\n')
    assert info.value.line == 3
    assert "found 1" in str(info.value) and "3-4" in str(info.value)


@pytest.mark.parametrize(
    ("header", "problem"),
    [("a,b,a\n", "duplicate"), ("id,ID\n", "duplicate"), ("a,,c\n", "empty name")],
)
def test_bad_header_is_line_1(tmp_path: Path, header: str, problem: str) -> None:
    with pytest.raises(CsvFormatError) as info:
        profile_csv(_write(tmp_path / "h.csv", header + "1,2,3\n"))
    assert info.value.line == 1
    assert problem in str(info.value)


def test_empty_file_has_no_header(tmp_path: Path) -> None:
    with pytest.raises(CsvFormatError) as info:
        profile_csv(_write(tmp_path / "e.csv", ""))
    assert info.value.line == 1


def test_undecodable_bytes_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b\n"multi\nline",1\nok,\xff\xfe\n')
    with pytest.raises(CsvFormatError) as info:
        profile_csv(path)
    assert info.value.line == 4
    assert "utf-8" in str(info.value)


def test_unclosed_quote_names_the_line_where_it_opens() -> None:
    with pytest.raises(CsvFormatError) as info:
        _stream('a,b\n1,2\n3,"never closed\n4,5\n')
    assert info.value.line == 3


def test_garbage_after_closing_quote(tmp_path: Path) -> None:
    with pytest.raises(CsvFormatError) as info:
        profile_csv(_write(tmp_path / "g.csv", 'a,b\n1,2\n"x"y,3\n'))
    assert info.value.line == 3


def test_missing_file_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(OperatorError):
        profile_csv(tmp_path / "missing.csv")
    path = _write(tmp_path / "ok.csv", "a\n1\n")
    with pytest.raises(OperatorError):
        profile_csv(path, encoding="no-such-codec")
    with pytest.raises(OperatorError):
        profile_csv(path, delimiter='"')
    with pytest.raises(OperatorError):
        profile_csv(path, max_distinct=0)


# ------------------------------------------------------------------ examples: the lattice


@pytest.mark.parametrize(
    ("values", "data_type"),
    [
        (["0", "1", "1", "0"], "tinyint"),  # 0/1 are integers, not booleans
        (["true", "FALSE", "Yes", "no"], "boolean"),
        (["true", "1"], "varchar"),  # boolean and numeric do not join
        (["127", "-128"], "tinyint"),
        (["128"], "int"),
        (["-129"], "int"),
        (["2147483647", "-2147483648"], "int"),
        (["2147483648"], "bigint"),
        (["9223372036854775807", "-9223372036854775808"], "bigint"),
        (["9223372036854775808"], "double"),  # beyond 64 bits
        (["1", "2.5"], "decimal"),
        (["1.5", "-.5", "+2.", "0.001"], "decimal"),
        (["123456789012.123456"], "decimal"),  # 18 digits
        (["1234567890123.123456"], "double"),  # 19 digits
        (["123456789012", "0.1234567"], "double"),  # 12 + 7 > 18 as a column
        (["1e5", "2"], "double"),
        (["1.5E-3", "7"], "double"),
        (["nan", "1.5"], "varchar"),
        (["inf"], "varchar"),
        (["1e999"], "varchar"),  # not a finite double
        (["007", "12"], "varchar"),  # leading zeros: identifiers
        (["1,5"], "varchar"),
        (["1_000"], "varchar"),
        (["١٢٣"], "varchar"),  # non-ASCII digits
        (["2024-02-29", "2024-03-01 12:00:00"], "datetime"),
        (["2024-03-01T12:00:00.123456789"], "datetime"),
        (["2024-03-01T12:00:00Z", "2024-03-01 12:00:00+05:30"], "timestamp"),
        (["2024-03-01", "2024-03-01T12:00:00-0800"], "timestamp"),
        (["2023-02-29"], "varchar"),  # not a date
        (["2024-13-01"], "varchar"),
        (["2024-01-01 24:00:00"], "varchar"),
        (["2024-01-01+02:00"], "varchar"),  # an offset needs a time
        (["2024-01-01 12:00"], "varchar"),  # seconds required
        (["2024-01-01", "5"], "varchar"),
        (["x", "1"], "varchar"),
        (["", "NULL"], "varchar"),  # all null
        ([" 42 ", "7"], "tinyint"),  # surrounding whitespace is ignored
    ],
)
def test_lattice_examples(values: list[str], data_type: str) -> None:
    text = "v\n" + "".join(f'"{v}"\n' for v in values)
    assert _stream(text).columns[0].data_type == data_type


def test_distribution_rule() -> None:
    def profile_of(values: list[str]) -> ColumnProfile:
        return _stream("v\n" + "\n".join(values) + "\n").columns[0]

    continuous = profile_of([str(i) for i in range(100)])
    assert (continuous.data_type, continuous.distribution) == ("tinyint", CONTINUOUS)
    codes = profile_of([str(i % 5) for i in range(100)])
    assert codes.distribution == DISCRETE
    small = profile_of(["1.5", "2.5", "3.5"])  # 3 distinct > max(2, 3 // 2)
    assert small.distribution == CONTINUOUS
    pair = profile_of(["1.5", "2.5"])
    assert pair.distribution == DISCRETE
    twenty = profile_of([str(i % 20) for i in range(1000)])
    assert twenty.distribution == DISCRETE
    twenty_one = profile_of([str(i % 21) for i in range(1000)])
    assert twenty_one.distribution == CONTINUOUS
    assert profile_of([f"s{i}" for i in range(100)]).distribution == DISCRETE
    assert profile_of(["true", "false"] * 50).distribution == DISCRETE
    dates = profile_of([f"2024-01-{d:02d}" for d in range(1, 29)])
    assert (dates.data_type, dates.distribution) == ("datetime", DISCRETE)


def test_distinct_count_is_capped_but_distribution_still_decided() -> None:
    text = "v\n" + "".join(f"{i}\n" for i in range(500))
    col = _stream(text, max_distinct=3).columns[0]
    assert col.distinct_capped == 3
    assert col.distribution == CONTINUOUS
    col = _stream(text).columns[0]
    assert col.distinct_capped == 500


# ------------------------------------------------------------------ constant memory


def _write_large(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "amount", "ratio", "flag", "label", "when"])
        for i in range(rows):
            writer.writerow(
                [
                    i,
                    f"{i % 100000}.{i % 100:02d}",
                    f"{i / 7:.6e}",
                    "true" if i % 3 else "false",
                    f"label {i}, with comma" if i % 11 else f"multi\nline {i}",
                    f"2024-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
                ]
            )


def test_large_file_is_profiled_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    rows = 200_000
    _write_large(path, rows)
    size = os.stat(path).st_size
    assert size > 10 * 1024 * 1024

    tracemalloc.start()
    try:
        profile = profile_csv(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 3 * 1024 * 1024, human_size(peak)
    assert peak < size / 5
    assert profile.row_count == rows
    assert profile.size_bytes == size
    assert _types(profile) == {
        "id": "int",
        "amount": "decimal",
        "ratio": "double",
        "flag": "boolean",
        "label": "varchar",
        "when": "datetime",
    }
    assert [c.distribution for c in profile.columns] == [
        CONTINUOUS,
        CONTINUOUS,
        CONTINUOUS,
        DISCRETE,
        DISCRETE,
        DISCRETE,
    ]
    assert [c.distinct_capped for c in profile.columns] == [1000, 1000, 1000, 2, 1000, 420]


# ------------------------------------------------------------------ human_size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (1024 * 1024 - 1, "1.0 MB"),  # never "1024.0 KB"
        (int(1.5 * 1024**2), "1.5 MB"),
        (5 * 1024**3, "5.0 GB"),
        (1024**4 * 3 // 2, "1.5 TB"),
        (1024**7, "1024.0 EB"),
    ],
)
def test_human_size(n: int, text: str) -> None:
    assert human_size(n) == text


def test_human_size_rejects_negative() -> None:
    with pytest.raises(OperatorError):
        human_size(-1)
