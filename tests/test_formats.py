"""Import/export formats: round trips, bad rows with their line numbers, streaming."""

from __future__ import annotations

import io
import itertools
import json
import tracemalloc
from collections.abc import Iterable, Iterator

import pytest

from bastion.banks.formats import FORMATS, detect_format, get_format, reader_for, writer_for
from bastion.banks.formats.base import (
    MAX_LINE_LENGTH,
    NOT_UTF8,
    ExportRow,
    ImportRow,
    RowError,
    escape_formula,
    unescape_formula,
)
from bastion.banks.labels import EntryLabels
from bastion.errors import InvalidInput

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def read(name: str, text: str) -> list[ImportRow | RowError]:
    """Everything a format's reader yields for the text."""
    return list(FORMATS[name].read(io.StringIO(text, newline="")))


def errors(items: Iterable[ImportRow | RowError]) -> list[tuple[int, str]]:
    """(line, message) of each error."""
    return [(i.line, i.message) for i in items if isinstance(i, RowError)]


def only_rows(items: Iterable[ImportRow | RowError]) -> list[ImportRow]:
    """The rows, failing on any error."""
    items = list(items)
    assert errors(items) == []
    return [i for i in items if isinstance(i, ImportRow)]


def export(rows: list[ExportRow], name: str) -> str:
    """The rows written in the format."""
    buffer = io.StringIO(newline="")
    FORMATS[name].write(rows, buffer)
    return buffer.getvalue()


FULL_LABELS = EntryLabels(
    category="d",
    behaviours=["instructional", "weapons"],
    entities=["islamic_state", "ideology:islamist"],
    source="gifct",
    note='Manual, page 3: "assembly", see \r\nline two, ünïcode, 100% sure',
)
SAMPLE = [
    ExportRow(1, "pdq", PDQ, FULL_LABELS, "gifct-123"),
    ExportRow(2, "md5", MD5, EntryLabels(category="a", source="moderator"), None),
    ExportRow(3, "sha256", SHA256, EntryLabels(entities=["atomwaffen_division"]), "7"),
    ExportRow(4, "url", "https://example.com/v/1?a=1&b=2", EntryLabels(note="=HYPERLINK()"), "-1"),
    ExportRow(5, "url_md5", MD5, EntryLabels(), "@x"),
    ExportRow(6, "url_sha256", SHA256, EntryLabels(behaviours=["threat"]), "'=y"),
]


def as_import(row: ExportRow) -> tuple[str, str, EntryLabels, str | None]:
    return row.signal_type, row.value, row.labels, row.external_id


def imported(row: ImportRow) -> tuple[str, str, EntryLabels, str | None]:
    return row.signal_type, row.value, row.labels, row.external_id


# Round trips


@pytest.mark.parametrize("name", ["csv", "jsonl"])
def test_native_formats_round_trip_everything(name: str) -> None:
    rows = only_rows(read(name, export(SAMPLE, name)))
    assert [imported(r) for r in rows] == [as_import(r) for r in SAMPLE]


def test_threatexchange_round_trip_keeps_types_and_values() -> None:
    text = export(SAMPLE, "threatexchange")
    assert text.splitlines() == [
        f"pdq {PDQ}",
        f"video_md5 {MD5}",
        f"video_sha256 {SHA256}",
        "url https://example.com/v/1?a=1&b=2",
        f"url_md5 {MD5}",
    ]  # url_sha256 has no ThreatExchange name
    rows = only_rows(read("threatexchange", text))
    assert [(r.signal_type, r.value) for r in rows] == [
        (r.signal_type, r.value) for r in SAMPLE[:5]
    ]
    assert all(r.labels == EntryLabels() and r.external_id is None for r in rows)


def test_tcap_round_trip_keeps_groups_ideology_and_ids() -> None:
    text = export(SAMPLE, "tcap")
    rows = only_rows(read("tcap", text))
    assert [(r.signal_type, r.value, r.external_id) for r in rows] == [
        (r.signal_type, r.value, r.external_id) for r in SAMPLE[:4]
    ]  # URL digests have no TCAP form
    assert rows[0].labels == EntryLabels(
        entities=["islamic_state", "ideology:islamist"], source="tcap"
    )
    assert rows[2].labels.entities == ["atomwaffen_division"]


@pytest.mark.parametrize("name", list(FORMATS))
def test_writers_count_rows_and_batches_concatenate(name: str) -> None:
    write = writer_for(name)
    buffer = io.StringIO(newline="")
    first = write(SAMPLE[:2], buffer, header=True)
    second = write(SAMPLE[2:4], buffer, header=False)
    assert (first, second) == (2, 2)
    rows = only_rows(read(name, buffer.getvalue()))
    assert [r.value for r in rows] == [r.value for r in SAMPLE[:4]]


@pytest.mark.parametrize("name", list(FORMATS))
def test_empty_export_reads_back_as_nothing(name: str) -> None:
    assert only_rows(read(name, export([], name))) == []


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "'=x", "''+x", "'", "'x", "plain", ""]
)
def test_formula_escaping_is_reversible(text: str) -> None:
    escaped = escape_formula(text)
    assert escaped[:1] not in ("=", "+", "-", "@", "\t")
    assert unescape_formula(escaped) == text


# Native CSV


def test_csv_handles_bom_crlf_quoted_newlines_and_blank_lines() -> None:
    text = (
        "\ufeffSignal_Type,Value,Note,Behaviours\r\n"
        f'pdq,{PDQ},"first line\r\nsecond, with comma\r\nthird ""quoted""",a|b\r\n'
        "\r\n"
        ",,,\r\n"
        f"md5,{MD5.upper()},,\r\n"
        f'"video_md5"," {MD5} ",,\r\n'
    )
    rows = only_rows(read("csv", text))
    assert [r.line for r in rows] == [2, 7, 8]
    assert rows[0].labels.note == 'first line\r\nsecond, with comma\r\nthird "quoted"'
    assert rows[0].labels.behaviours == ["a", "b"]
    assert [(r.signal_type, r.value) for r in rows[1:]] == [("md5", MD5), ("md5", MD5)]


def test_csv_reads_lf_text_from_a_universal_newline_stream() -> None:
    text = f'signal_type,value,note\npdq,{PDQ},"a\nb"\nmd5,{MD5},\n'
    rows = only_rows(FORMATS["csv"].read(io.StringIO(text)))
    assert [r.line for r in rows] == [2, 4]


def test_csv_bad_rows_report_the_line_they_start_on() -> None:
    text = "\n".join(
        [
            "signal_type,value,category,behaviours,entities,source,note,external_id",
            f'pdq,{PDQ},a,,,,"a note\nover\nthree lines",',  # 2-4: fine
            f"pdq,{PDQ[:-1]},,,,,,",  # 5: malformed hash
            f"pdq,{PDQ},z,,,,,",  # 6: unknown category
            f"tmk,{PDQ},,,,,,",  # 7: unknown signal type
            ",,a,,,,,",  # 8: missing signal type
            "md5,,,,,,,",  # 9: missing value
            f"md5,{MD5},,bad tag,,,,",  # 10: bad tag
            f"md5,{MD5}",  # 11: missing columns
            f"md5,{MD5},,,,,,,extra",  # 12: too many columns
            f"md5,{MD5},,,,,{'x' * 2001},",  # 13: note too long
            f'md5,"{MD5}"x,,,,,,',  # 14: malformed quoting
            "url,javascript:alert(1),,,,,,",  # 15: not a web link
            f"md5,{MD5},,,,,,{'i' * 257}",  # 16: external id too long
            f"sha256,{SHA256},E,,,,,",  # 17: fine
        ]
    )
    items = read("csv", text)
    assert [i.line for i in items if isinstance(i, ImportRow)] == [2, 17]
    found = errors(items)
    assert [line for line, _ in found] == list(range(5, 17))
    messages = dict(found)
    assert messages[5].startswith("value: A PDQ hash is 64 hexadecimal digits")
    assert messages[6].startswith("category: Unknown category 'z'")
    assert messages[7].startswith("signal_type: Unknown signal type 'tmk'")
    assert messages[8] == "signal_type: missing"
    assert messages[9] == "value: missing"
    assert messages[10].startswith("behaviours: tag 'bad tag'")
    assert messages[11].startswith("expected 8 fields like the header, found 2")
    assert messages[12].startswith("expected 8 fields like the header, found 9")
    assert messages[13].startswith("note: String should have at most 2000 characters")
    assert messages[14].startswith("malformed CSV")
    assert "web links" in messages[15]
    assert messages[16].startswith("external_id: longer than 256")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("signal_type,value,categroy", "unknown column(s) 'categroy'"),
        ("signal_type,value,", "unknown column(s) (unnamed)"),
        ("signal_type,note", "missing required column(s) value"),
        ("type,hash", "unknown column(s) 'type', 'hash'"),
        ("signal_type,value,note,Note", "column(s) 'note' appear twice"),
    ],
)
def test_csv_header_problems_stop_the_read(header: str, message: str) -> None:
    items = read("csv", f"{header}\npdq,{PDQ},x\n")
    assert len(items) == 1
    assert isinstance(items[0], RowError)
    assert items[0].line == 1
    assert items[0].message.startswith(message)


def test_csv_broken_quoting_and_huge_fields_are_reported() -> None:
    unterminated = f'signal_type,value,note\nmd5,{MD5},"never closed\nmore\n'
    assert errors(read("csv", unterminated)) == [(2, "malformed CSV: unexpected end of data")]
    huge = f'signal_type,value,note\nmd5,{MD5},"{"x" * 200_000}"\nmd5,{MD5},\n'
    items = read("csv", huge)
    assert errors(items)[0][0] == 2
    assert errors(items)[0][1].startswith("malformed CSV: field larger than field limit")
    assert [i.line for i in items if isinstance(i, ImportRow)] == [3]
    overlong = f"signal_type,value,note\nmd5,{MD5},{'x' * MAX_LINE_LENGTH}\nmd5,{MD5},\n"
    assert errors(read("csv", overlong)) == [(2, f"line longer than {MAX_LINE_LENGTH} characters")]


def test_csv_own_columns_and_entry_id_are_ignored() -> None:
    text = f"entry_id,x_reviewer,signal_type,value,x_ticket\n99,alice,pdq,{PDQ},T-1\n"
    (row,) = only_rows(read("csv", text))
    assert (row.signal_type, row.value, row.labels) == ("pdq", PDQ, EntryLabels())


def test_csv_empty_file_is_an_error_but_a_header_alone_is_not() -> None:
    assert errors(read("csv", "")) == [(1, errors(read("csv", ""))[0][1])]
    assert "header" in errors(read("csv", "\n\n"))[0][1]
    assert read("csv", "signal_type,value\r\n") == []


def test_csv_labels_parse_from_cells() -> None:
    text = (
        "signal_type,value,category,behaviours,entities,source,note,external_id\n"
        f"pdq,{PDQ},Art. 2(7)(b),Recruitment| Glorification ||,IS|is,TCAP,  hi ,'=id\n"
    )
    (row,) = only_rows(read("csv", text))
    assert row.labels == EntryLabels(
        category="b",
        behaviours=["recruitment", "glorification"],
        entities=["is"],
        source="tcap",
        note="hi",
    )
    assert row.external_id == "=id"


# JSON Lines


def test_jsonl_bad_rows_report_their_line() -> None:
    good = {"signal_type": "pdq", "value": PDQ}
    lines = [
        json.dumps(good),  # 1
        "",  # 2: blank, skipped
        "{not json",  # 3
        "[1, 2]",  # 4
        json.dumps({**good, "category": "q"}),  # 5
        json.dumps({**good, "behaviours": "a|b"}),  # 6
        json.dumps({**good, "value": 12}),  # 7
        json.dumps({**good, "colour": "red"}),  # 8
        json.dumps({"value": PDQ}),  # 9
        json.dumps({**good, "value": PDQ[1:]}),  # 10
        json.dumps({**good, "entities": ["ok", 3]}),  # 11
        json.dumps({**good, "x_mine": {"a": 1}, "entry_id": 5, "external_id": 42}),  # 12
        "   ",  # 13: blank
        json.dumps({**good, "note": None, "behaviours": None}),  # 14
    ]
    items = read("jsonl", "\r\n".join(lines))
    assert [i.line for i in items if isinstance(i, ImportRow)] == [1, 12, 14]
    found = dict(errors(items))
    assert list(found) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert found[3].startswith("malformed JSON")
    assert found[4] == "expected a JSON object, found list"
    assert found[5].startswith("category: Unknown category 'q'")
    assert found[6] == "behaviours: expected an array of strings"
    assert found[7] == "value: expected a string, found a number"
    assert found[8].startswith("unknown key(s) 'colour'")
    assert found[9] == "signal_type: missing"
    assert found[10].startswith("value: A PDQ hash")
    assert found[11] == "entities: expected an array of strings"
    assert [i for i in items if isinstance(i, ImportRow)][1].external_id == "42"


def test_jsonl_overlong_line_is_reported_and_reading_goes_on() -> None:
    long_line = json.dumps({"signal_type": "pdq", "value": PDQ, "note": "x" * MAX_LINE_LENGTH})
    text = f"{long_line}\n" + json.dumps({"signal_type": "md5", "value": MD5}) + "\n"
    items = read("jsonl", text)
    assert errors(items) == [(1, f"line longer than {MAX_LINE_LENGTH} characters")]
    assert [i.line for i in items if isinstance(i, ImportRow)] == [2]


def test_jsonl_bom_is_ignored() -> None:
    (row,) = only_rows(read("jsonl", "\ufeff" + json.dumps({"signal_type": "md5", "value": MD5})))
    assert row.value == MD5


# ThreatExchange signal files


def test_threatexchange_lines() -> None:
    text = (
        f"pdq {PDQ}\n"  # 1
        "\n"  # 2: skipped, as ThreatExchange does
        f"photo_md5 {MD5.upper()}\n"  # 3
        f"  video_sha256   {SHA256}  \n"  # 4
        f"{PDQ}\n"  # 5: no type
        "raw_text some words\n"  # 6: unsupported type
        f"url http://www.example.com/a/\n"  # 7
        f"video_md5 {MD5[:-2]}\n"  # 8
    )
    items = read("threatexchange", text)
    assert [(i.line, i.signal_type, i.value) for i in items if isinstance(i, ImportRow)] == [
        (1, "pdq", PDQ),
        (3, "md5", MD5),
        (4, "sha256", SHA256),
        (7, "url", "https://example.com/a"),
    ]
    found = dict(errors(items))
    assert list(found) == [5, 6, 8]
    assert found[5].startswith("expected '<signal_type> <value>'")
    assert found[6].startswith("signal_type: Unknown signal type 'raw_text'")
    assert found[8].startswith("value: A md5 digest is 32 hexadecimal digits")


# TCAP


def test_tcap_hash_list_rows() -> None:
    text = (
        "ID,Hash Digest,Algorithim,Ideology,File Type,Deleted,Updated On,Terrorist Group\n"
        f"2819,{PDQ},PDQ,islamist,png,False,1704901040.2,Islamic State\n"  # 2
        f"2820,{MD5},MD5,far-right,mp4,false,1704901040.2,Atomwaffen Division|The Base\n"  # 3
        f"2821,{MD5},MD5,islamist,gif,True,1704901040.2,\n"  # 4: deleted, skipped
        f"2822,{'a' * 128},SHA512,islamist,pdf,false,1,\n"  # 5: unsupported, skipped
        f"2823,{SHA256},SHA256,,jpg,,1,\n"  # 6
        f"2824,{PDQ},ImagePDQ,,jpg,,1,\n"  # 7: the v1 list's name
        f"2825,{PDQ},CLIP,,jpg,,1,\n"  # 8: unknown algorithm
        f"2826,{PDQ},,,jpg,,1,\n"  # 9: no algorithm
        f"2827,{PDQ[:-1]},PDQ,,jpg,,1,\n"  # 10: malformed hash
        f"2828,{PDQ},PDQ,,jpg,maybe,1,\n"  # 11: bad deleted flag
    )
    items = read("tcap", text)
    rows = [i for i in items if isinstance(i, ImportRow)]
    assert [(r.line, r.signal_type, r.external_id) for r in rows] == [
        (2, "pdq", "2819"),
        (3, "md5", "2820"),
        (6, "sha256", "2823"),
        (7, "pdq", "2824"),
    ]
    assert rows[0].labels == EntryLabels(
        entities=["islamic_state", "ideology:islamist"], source="tcap"
    )
    assert rows[1].labels.entities == ["atomwaffen_division", "the_base", "ideology:far-right"]
    found = dict(errors(items))
    assert list(found) == [8, 9, 10, 11]
    assert found[8].startswith("algorithm: unknown 'CLIP'")
    assert found[9] == "algorithm: missing for the hash_digest"
    assert found[10].startswith("value: A PDQ hash")
    assert found[11].startswith("deleted: expected true or false")


def test_tcap_url_alert_rows() -> None:
    text = (
        "id,url,terrorist_group,url_status,created_on,hash_digest,algorithm\n"
        "1,http://www.example.com/video/1/?utm_source=tg,Islamic State,ACT,2023-01-01,,\n"
        f"2,https://example.org/f,,INA,2023-01-02,{MD5},MD5\n"
        "3,,,ACT,2023-01-03,,\n"
    )
    items = read("tcap", text)
    rows = [i for i in items if isinstance(i, ImportRow)]
    assert [(r.line, r.signal_type, r.value) for r in rows] == [
        (2, "url", "https://example.com/video/1"),
        (3, "md5", MD5),
        (3, "url", "https://example.org/f"),
    ]
    assert errors(items) == [(4, "neither hash_digest nor url has a value")]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("id,ideology", "a TCAP file needs a hash_digest (with algorithm) or a url column"),
        ("id,hash_digest", "a TCAP file with hash_digest needs an algorithm column"),
        ("url,URL", "column(s) 'url' appear twice"),
    ],
)
def test_tcap_header_problems(header: str, message: str) -> None:
    assert errors(read("tcap", f"{header}\n1,2\n")) == [(1, message)]


# Choosing a format


@pytest.mark.parametrize(
    ("filename", "first_line", "name"),
    [
        ("bank.csv", "signal_type,value,category", "csv"),
        ("export.txt", "\ufeffSignal_Type,Value", "csv"),
        ("bank.jsonl", '{"signal_type": "pdq"}', "jsonl"),
        (None, '  {"signal_type": "pdq"}', "jsonl"),
        ("signals.txt", f"pdq {PDQ}", "threatexchange"),
        ("list", f"video_md5 {MD5}", "threatexchange"),
        ("tcap.csv", "id,hash_digest,algorithm,ideology", "tcap"),
        ("alerts.csv", "ID,URL,Terrorist Group", "tcap"),
        ("empty.csv", "", "csv"),
        ("empty.ndjson", "", "jsonl"),
        ("empty.TXT", "", "threatexchange"),
    ],
)
def test_detect_format(filename: str | None, first_line: str, name: str) -> None:
    assert detect_format(filename, first_line).name == name


def test_undetectable_format_is_an_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        detect_format("notes.docx", "hello world")
    assert caught.value.code == "unknown_format"
    with pytest.raises(InvalidInput):
        get_format("xml")


def test_auto_reader_rewinds_seekable_streams() -> None:
    stream = io.StringIO(f"signal_type,value\npdq,{PDQ}\n")
    (row,) = only_rows(reader_for("auto", "upload", stream))
    assert row.line == 2


def test_auto_reader_keeps_the_first_line_of_unseekable_streams() -> None:
    stream = _generated_text([f"video_md5 {MD5}\n".encode(), f"pdq {PDQ}\n".encode()])
    rows = only_rows(reader_for("auto", None, stream))
    assert [(r.line, r.signal_type) for r in rows] == [(1, "md5"), (2, "pdq")]


@pytest.mark.parametrize("name", list(FORMATS))
def test_invalid_utf8_is_reported_not_raised(name: str) -> None:
    good = {"csv": f"signal_type,value\nmd5,{MD5}\n", "tcap": "id,url\n1,example.com\n"}.get(
        name, ""
    )
    data = good.encode() + b"x" * 20_000 + b"\xff\xfe\n"
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    found = errors(reader_for(name.upper(), "x", stream))
    assert [message for _, message in found][-1] == NOT_UTF8


# Streaming


class _GeneratedBytes(io.RawIOBase):
    """A read-only byte stream produced on demand by a generator, never held whole."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _generated_text(chunks: Iterable[bytes]) -> io.TextIOWrapper:
    raw = _GeneratedBytes(iter(chunks))
    return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", newline="")


def test_a_200k_row_stream_is_read_in_constant_memory() -> None:
    count = 200_000

    def lines() -> Iterator[bytes]:
        yield b"signal_type,value,category,entities\r\n"
        for start in range(0, count, 1000):  # in chunks, so the test's own cost stays small
            rows = (f"pdq,{i:064x},a,islamic_state\r\n" for i in range(start, start + 1000))
            yield "".join(rows).encode()

    stream = _generated_text(lines())
    tracemalloc.start()
    try:
        seen = bad = 0
        for item in reader_for("auto", "big.csv", stream):
            seen += 1
            bad += isinstance(item, RowError)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (seen, bad) == (count, 0)
    # Holding the rows would take well over 100 MB; a streaming reader needs a few KB.
    assert peak < 2 * 1024 * 1024, f"peak {peak:,} bytes"


def _endless(name: str) -> Iterator[bytes]:
    header = {"csv": b"signal_type,value\n", "tcap": b"id,hash_digest,algorithm\n"}
    yield header.get(name, b"")
    for i in itertools.count():
        yield {
            "csv": f"md5,{i:032x}\n",
            "jsonl": json.dumps({"signal_type": "md5", "value": f"{i:032x}"}) + "\n",
            "threatexchange": f"video_md5 {i:032x}\n",
            "tcap": f"{i},{i:032x},MD5\n",
        }[name].encode()


@pytest.mark.parametrize("name", list(FORMATS))
def test_readers_are_lazy_on_an_endless_stream(name: str) -> None:
    rows = FORMATS[name].read(_generated_text(_endless(name)))
    first = list(itertools.islice(rows, 1000))
    assert len(first) == 1000
    assert all(isinstance(r, ImportRow) for r in first)
