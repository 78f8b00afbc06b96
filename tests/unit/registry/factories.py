"""Small builders of registry rows and files for the registry tests (unit and integration)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from edl.domain import make_id_number
from edl.registry.formats import COLUMNS

TODAY = date(2026, 11, 25)


def number(sequence: int = 123, birth: date = date(1990, 5, 3), area: str = "510104") -> str:
    """A valid 18-character ID number (odd sequence = male)."""
    return str(make_id_number(area, birth, sequence))


def row(n: int = 0, **overrides: str) -> dict[str, str]:
    """A valid row; `n` varies the licence number and file number (n < 500), `overrides` change any field."""
    base = {
        "number": number(2 * n + 1),
        "file_number": f"5101{n:08d}",
        "name": "张伟",
        "sex": "1",
        "nationality": "CHN",
        "birth_date": "1990-05-03",
        "address": "成都市武侯区人民南路四段1号",
        "classes": "C1",
        "first_issue": "2012-06-01",
        "validity_term": "10",
        "valid_from": "2018-06-01",
        "valid_until": "2028-06-01",
        "authority_code": "510100",
        "authority_name": "成都市公安局交通管理局",
        "authority_city": "成都",
        "statuses": "A",
        "points": "3",
        "points_cycle_start": "2026-06-01",
        "photo_sha256": "",
        "photo_compliant": "false",
    }
    base.update(overrides)
    return base


def write_csv(path: Path, rows: Iterable[Mapping[str, str]], columns: Iterable[str] = COLUMNS) -> Path:
    cols = list(columns)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(cols)
        for r in rows:
            out.writerow([r.get(c, "") for c in cols])
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def rows(count: int) -> list[dict[str, str]]:
    return [row(i) for i in range(count)]
