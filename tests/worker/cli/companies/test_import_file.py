"""The import file's parser: JSON lines and CSV, every problem by line and field, never a token's value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from worker.cli.companies.import_file import Format, ImportFileError, ImportRow, format_of, parse

TOKEN = "rt.ZmFrZS1yZWZyZXNoLXRva2VuLWZvci10ZXN0cw~9f8e7d6c"
"""A refresh token no message may contain (its ``.`` and ``~`` also make it an invalid ref)."""
COMPANY = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
USER = "0b9d2c4e-1f3a-4b5c-8d7e-6f5a4b3c2d1e"


def problems(text: str, fmt: Format) -> list[str]:
    with pytest.raises(ImportFileError) as err:
        parse(text, fmt)
    return err.value.problems


def jsonl(*records: dict[str, object]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def test_json_lines_with_every_field() -> None:
    """Each object is a row; optional fields may be absent or null; blank lines are skipped."""
    text = (
        jsonl(
            {
                "ref": "acme",
                "refresh_token": TOKEN,
                "company_id": COMPANY.upper(),
                "user_id": USER,
                "scope": "company:read  employment:write",
                "expires_at": "2026-11-29T18:00:00+01:00",
                "meta": {"tenant": "t-1", "owner": "ops@example.com"},
            }
        )
        + "\n"
        + jsonl({"ref": "beta", "refresh_token": "rt-2", "scope": None})
    )
    assert parse(text, Format.JSONL) == [
        ImportRow(
            line=1,
            ref="acme",
            refresh_token=TOKEN,
            company_id=COMPANY,
            user_id=USER,
            scope="company:read employment:write",
            expires_at=datetime(2026, 11, 29, 18, tzinfo=timezone(timedelta(hours=1))),
            meta={"tenant": "t-1", "owner": "ops@example.com"},
        ),
        ImportRow(line=3, ref="beta", refresh_token="rt-2"),
    ]


def test_csv_with_a_header_and_meta_pairs() -> None:
    """A header row names the columns (any order); empty cells are absent; meta is ``k=v;k=v``."""
    text = (
        "refresh_token,ref,company_id,expires_at,meta\r\n"
        f"{TOKEN},acme,{COMPANY},2026-11-29T17:00:00Z,tenant=t-1; owner=ops@example.com\r\n"
        "\r\n"
        '"rt-2",beta,,,\r\n'
    )
    assert parse(text, Format.CSV) == [
        ImportRow(
            line=2,
            ref="acme",
            refresh_token=TOKEN,
            company_id=COMPANY,
            expires_at=datetime(2026, 11, 29, 17, tzinfo=UTC),
            meta={"tenant": "t-1", "owner": "ops@example.com"},
        ),
        ImportRow(line=4, ref="beta", refresh_token="rt-2"),
    ]


def test_every_problem_is_listed_by_line_and_field() -> None:
    """One pass finds every bad row, so a migration file is fixed in one go."""
    text = (
        jsonl(
            {"ref": "acme", "refresh_token": TOKEN},
            {"ref": "beta"},
            {"ref": "gamma", "refresh_token": TOKEN, "company_id": "42", "user_id": "x"},
            {"ref": "delta", "refresh_token": TOKEN, "scope": 'a "b"', "expires_at": "2026-11-29T18:00:00"},
            {"ref": "acme", "refresh_token": TOKEN},
            {"ref": "eps", "refresh_token": TOKEN, "refresh": "x"},
            {"ref": "zeta", "refresh_token": 42, "meta": {"k": 1}},
        )
        + "[1]\n{not json\n"
    )
    assert problems(text, Format.JSONL) == [
        "line 2: refresh_token is missing",
        f"line 3: company_id must be a UUID like {COMPANY}",
        f"line 3: user_id must be a UUID like {COMPANY}",
        "line 4: scope must be scope tokens separated by spaces, like 'company:read employment:write'",
        "line 4: expires_at must be an ISO 8601 time with an offset, like 2026-11-29T18:00:00+00:00",
        "line 5: ref repeats the ref of line 1 (one row a company)",
        "line 6: unknown field(s) 'refresh'; the fields are ref, refresh_token, company_id, user_id, scope, "
        "expires_at, meta",
        "line 7: refresh_token must be a string",
        "line 7: meta must be a JSON object of strings",
        "line 8: not a JSON object (one object a line)",
        "line 9: not JSON (Expecting property name enclosed in double quotes at column 2)",
    ]


def test_csv_shape_problems() -> None:
    """A header without the required fields, a row with too many cells, bad meta, an empty file."""
    assert problems("ref,scope\nacme,company:read\n", Format.CSV) == [
        "line 1: the header must name refresh_token"
    ]
    assert problems("ref,refresh_token\nacme,rt,extra\nbeta,rt,\n", Format.CSV) == [
        "line 2: 3 fields where the header has 2",
        "line 3: 3 fields where the header has 2",
    ]
    assert problems("ref,refresh_token,meta\nacme,rt,novalue\n", Format.CSV) == [
        "line 2: meta must be key=value pairs separated by ;"
    ]
    assert problems("ref,refresh_token,meta\nacme,rt,Tenant=x\n", Format.CSV) == [
        "line 2: meta: invalid metadata key 'Tenant': use 1-64 lower-case letters, digits or . _ - "
        "(starting with a letter)"
    ]
    assert problems("ref,refresh_token,ref\n", Format.CSV) == ["line 1: header column(s) 3 repeat a field"]
    assert problems("\n\n", Format.CSV) == [
        "no company in the file (one row a company, and a header row in CSV)"
    ]
    assert problems('ref,refresh_token\n"acme,rt\n', Format.CSV) == [
        "line 2: not valid CSV (an unclosed quote or a NUL character?)"
    ]


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (f"acme,{TOKEN}\nbeta,rt-2\n", Format.CSV),  # no header row: the token is a column name
        (f"ref,refresh_token\n{TOKEN},acme\n", Format.CSV),  # swapped columns: the token is a ref
        (f"ref,refresh_token\nacme,{TOKEN} {TOKEN}\n", Format.CSV),
        (f"ref,refresh_token\nacme,{TOKEN}\nacme,{TOKEN}\n", Format.CSV),
        (f"ref,refresh_token\nacme,{TOKEN}\x00\n", Format.CSV),
        (f'ref,refresh_token\nacme,"{TOKEN}\n', Format.CSV),
        (f'{{"ref": "acme", "refresh_token": "{TOKEN}",}}\n', Format.JSONL),
        (f'{{"ref": "acme", "{TOKEN}": "x"}}\n', Format.JSONL),
        (jsonl({"ref": TOKEN, "refresh_token": "acme"}), Format.JSONL),
        (jsonl({"ref": "acme", "refresh_token": TOKEN + "\nx"}), Format.JSONL),
        (jsonl({"ref": "acme", "refresh_token": TOKEN * 100}), Format.JSONL),
        (jsonl({"ref": "acme", "refresh_token": TOKEN, "scope": TOKEN + '"'}), Format.JSONL),
        (jsonl({"ref": "acme", "refresh_token": TOKEN, "expires_at": TOKEN}), Format.JSONL),
        (jsonl({"ref": "acme", "refresh_token": TOKEN, "company_id": TOKEN}), Format.JSONL),
        (jsonl({"ref": "acme", "refresh_token": TOKEN, "meta": TOKEN}), Format.JSONL),
        (f'["{TOKEN}"]\n', Format.JSONL),
    ],
)
def test_no_problem_repeats_a_token(text: str, fmt: Format) -> None:
    """Whatever is wrong and wherever the token sits, messages name lines and fields only."""
    found = problems(text, fmt)
    assert found
    for shown in [*found, str(ImportFileError(found))]:
        assert TOKEN[:12] not in shown
        assert "ZmFrZS1yZWZy" not in shown


def test_a_row_repr_hides_the_token() -> None:
    """A row in a traceback or a log shows the ref, not the token."""
    (row,) = parse(jsonl({"ref": "acme", "refresh_token": TOKEN}), Format.JSONL)
    assert "acme" in repr(row)
    assert TOKEN not in repr(row)


def test_the_format_from_the_name_or_the_flag() -> None:
    """By extension, or --format; stdin and other names must say."""
    assert format_of("companies.JSONL", None) is Format.JSONL
    assert format_of("companies.json", None) is Format.JSONL
    assert format_of("companies.csv", None) is Format.CSV
    assert format_of("companies.txt", Format.CSV) is Format.CSV
    assert format_of("-", Format.JSONL) is Format.JSONL
    for source, expected in [
        ("-", "stdin has no file name to tell its format: add --format jsonl or --format csv"),
        ("companies.txt", "companies.txt: name it .jsonl, .json or .csv, or add --format jsonl|csv"),
    ]:
        with pytest.raises(ImportFileError) as err:
            format_of(source, None)
        assert err.value.problems == [expected]
