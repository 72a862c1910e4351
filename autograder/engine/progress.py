"""A plain-text progress bar with ETA on stderr (redrawn in place on a terminal, else one line per step)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """``update(label)`` after each finished item; ``close()`` at the end."""

    def __init__(self, total: int, title: str, stream: TextIO | None = None, width: int = 28,
                 enabled: bool = True) -> None:
        self.total, self.title, self.width = total, title, width
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.start = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._draw("")

    def line(self, label: str = "") -> str:
        elapsed = time.monotonic() - self.start
        fraction = self.done / self.total if self.total else 1.0
        filled = round(self.width * fraction)
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        eta_text = _clock(eta) if self.done else "?"
        bar = "#" * filled + "." * (self.width - filled)
        return (f"{self.title} [{bar}] {self.done}/{self.total} {100 * fraction:3.0f}% "
                f"elapsed {_clock(elapsed)} ETA {eta_text}" + (f"  {label}" if label else ""))

    def _draw(self, label: str) -> None:
        if not self.enabled:
            return
        text = self.line(label)
        if self.tty:
            self.stream.write("\r\x1b[K" + text[:200])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, label: str = "") -> None:
        self.done += 1
        self._draw(label)

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
