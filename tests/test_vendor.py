"""Vendored browser libraries match the table in canvas_static/vendor/VENDOR.md."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VENDOR_DIR = Path(__file__).resolve().parent.parent / "canvas_static" / "vendor"
VENDOR_MD = VENDOR_DIR / "VENDOR.md"
NOT_VENDORED = {"VENDOR.md", "licenses"}


def _cells(line: str) -> list[str]:
    """Split one markdown table row into stripped cells."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table() -> dict[str, dict[str, str]]:
    """Parse VENDOR.md's file table into {file name: {column: value}}."""
    lines = VENDOR_MD.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| File |"))
    header = _cells(lines[start])
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        row = dict(zip(header, (c.strip("`") for c in _cells(line)), strict=True))
        assert row["File"] not in rows, f"duplicate row for {row['File']}"
        rows[row["File"]] = row
    return rows


TABLE = _table()


def test_table_is_not_empty() -> None:
    """The table lists at least the Vue build."""
    assert "vue-3.5.45.global.prod.js" in TABLE


@pytest.mark.parametrize("name", sorted(TABLE))
def test_listed_file_exists_with_matching_sha256(name: str) -> None:
    """Each listed file exists and its SHA-256 matches the table."""
    path = VENDOR_DIR / name
    assert path.is_file(), f"{name} is listed in VENDOR.md but missing"
    expected = TABLE[name]["SHA-256"]
    assert re.fullmatch(r"[0-9a-f]{64}", expected), f"bad SHA-256 cell for {name}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected


@pytest.mark.parametrize("name", sorted(TABLE))
def test_listed_file_name_carries_its_version(name: str) -> None:
    """Each file name contains the version given in the table."""
    assert TABLE[name]["Version"] in name


def test_every_vendored_file_is_listed() -> None:
    """Every file in the vendor directory (except VENDOR.md and licenses/) is in the table."""
    present = {p.name for p in VENDOR_DIR.iterdir() if p.name not in NOT_VENDORED}
    assert present - set(TABLE) == set()
    assert all((VENDOR_DIR / n).is_file() for n in present)
