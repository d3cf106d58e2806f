"""Reading a CSV file as records, resumable at any record: UTF-8 (with or without BOM), `,` or `;`, quoted fields.

Invariants:
    * Constant memory: the file is read piece by piece, one line at a time.
    * Every record comes with the byte offset just after it, so a job can
      commit "resume here" with the rows it wrote and a restart reads on from
      exactly there (a quoted field may span lines: the offset is the end of
      the whole record).
    * A record that is not UTF-8 is reported as such, never guessed at.
"""

from __future__ import annotations

import csv
import typing as t
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t")
PIECE = 1 << 20
MAX_LINE = 4 << 20  # no CSV line is this long; a file without line breaks is not read into memory


class NotCsv(ValueError):
    """The bytes cannot be a CSV file (a line longer than `MAX_LINE`)."""
csv.field_size_limit(1 << 20)


@dataclass(frozen=True)
class Header:
    """The file's column names (made unique), its delimiter, and where the data starts."""

    columns: tuple[str, ...]
    delimiter: str
    data_offset: int


@dataclass(frozen=True)
class Record:
    """One record: its spreadsheet row number, its cells, the offset after it, what is wrong with it."""

    row: int
    cells: list[str]
    end: int
    error: str | None = None


class _Lines:
    """Decoded lines of a byte stream, counting the bytes consumed."""

    def __init__(self, pieces: Iterable[bytes], offset: int) -> None:
        self.pieces = iter(pieces)
        self.position = offset
        self.at_start = offset == 0
        self.bad = False

    def __iter__(self) -> Iterator[str]:
        buffer = b""
        for piece in self.pieces:
            buffer += piece
            start = 0
            while True:
                end = buffer.find(b"\n", start)
                if end < 0:
                    break
                yield self._decode(buffer[start:end + 1])
                start = end + 1
            buffer = buffer[start:]
            if len(buffer) > MAX_LINE:
                raise NotCsv(f"a line is longer than {max(1, MAX_LINE >> 20)} MB: this does not look like a CSV file")
        if buffer:
            yield self._decode(buffer)

    def _decode(self, line: bytes) -> str:
        self.position += len(line)
        if self.at_start:
            self.at_start = False
            if line.startswith(BOM):
                line = line[len(BOM):]
        text = line.decode("utf-8", errors="surrogateescape")
        if not text.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                self.bad = True
        return text


def records(pieces: Iterable[bytes], offset: int, delimiter: str, first_row: int) -> Iterator[Record]:
    """The records from byte `offset` on; `first_row` is the spreadsheet row number of the first one."""
    lines = _Lines(pieces, offset)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    row = first_row
    while True:
        lines.bad = False
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field larger than the limit
            yield Record(row, [], lines.position, f"the row cannot be read as CSV ({exc})")
            row += 1
            continue
        if lines.bad:
            yield Record(row, [], lines.position, "the row is not UTF-8 text (save the file as CSV UTF-8)")
        else:
            yield Record(row, cells, lines.position)
        row += 1


def read_header(pieces: Iterable[bytes]) -> Header | None:
    """The header of a file (None when the file is empty or has only blank lines)."""
    lines = _Lines(pieces, 0)
    first = ""
    for line in lines:
        if line.strip():
            first = line
            break
    if not first:
        return None
    delimiter = max(DELIMITERS, key=lambda d: len(next(csv.reader([first], delimiter=d))))
    names = next(csv.reader([first], delimiter=delimiter))
    columns: list[str] = []
    for index, name in enumerate(names, start=1):
        name = name.strip() or f"Column {index}"
        unique, n = name, 2
        while unique in columns:
            unique, n = f"{name} ({n})", n + 1
        columns.append(unique)
    return Header(tuple(columns), delimiter, lines.position)


def file_pieces(path: str | Path, offset: int = 0) -> Iterator[bytes]:
    """A local file's bytes from an offset, a megabyte at a time."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        while True:
            piece = handle.read(PIECE)
            if not piece:
                return
            yield piece


def count_records(pieces: Iterable[bytes], offset: int, delimiter: str) -> int:
    """How many non-blank records follow `offset` (a fast pass over the file)."""
    reader = csv.reader(_Lines(pieces, offset), delimiter=delimiter, quotechar='"', strict=False)
    count = 0
    for cells in reader:
        if cells and any(c.strip() for c in cells):
            count += 1
    return count


def is_blank(cells: t.Sequence[str]) -> bool:
    """A record with no text at all (skipped, not counted)."""
    return not any(cell.strip() for cell in cells)
