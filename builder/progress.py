"""A text progress bar for long command-line work (redrawn in place on a terminal, a line per 10 % otherwise)."""

from __future__ import annotations

import time
import typing as t


class ProgressBar:
    """``[##########----------]  50%  500,000 / 1,000,000 rows  25,000 rows/s``."""

    WIDTH = 30

    def __init__(self, out: t.TextIO, unit: str = "items") -> None:
        self.out = out
        self.unit = unit
        self.tty = out.isatty()
        self.started = time.monotonic()
        self.last_tenth = -1
        self.drawn = False

    def update(self, done: int, total: int | None) -> None:
        """Show `done` of `total` (total None: still counting)."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{done / elapsed:,.0f} {self.unit}/s"
        if not total:
            line = f"counting… {done:,} {self.unit}"
            fraction = 0.0
        else:
            fraction = min(1.0, done / total)
            filled = int(self.WIDTH * fraction)
            line = (f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {fraction:4.0%}  {done:,} / {total:,} "
                    f"{self.unit}  {rate}")
        if self.tty:
            self.out.write("\r" + line)
            self.out.flush()
            self.drawn = True
        elif total and int(fraction * 10) != self.last_tenth:
            self.last_tenth = int(fraction * 10)
            self.out.write(line + "\n")
            self.out.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
