"""The progress bar of a corpus run: hours of audio done of the total, hours of audio per wall-clock hour, ETA."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h audio [{elapsed}<{remaining}, {postfix}]"


class HoursBar:
    """A tqdm bar counted in hours of audio; the postfix shows the speed in audio hours per wall hour."""

    def __init__(self, desc: str, total_seconds: float = 0.0, disable: bool = False):
        self.start = time.monotonic()
        interval = 0.1 if sys.stderr.isatty() else 30.0  # a job's log gets a line every 30 s, not a stream of them
        self.bar = tqdm(
            total=total_seconds / 3600, desc=desc, bar_format=BAR_FORMAT, disable=disable, postfix="",
            mininterval=interval, maxinterval=max(interval, 10.0),
        )  # fmt: skip

    def add_total(self, seconds: float) -> None:
        """More audio to do (a worker that reported its share)."""
        self.bar.total += seconds / 3600
        self.bar.refresh()

    def update(self, seconds: float) -> None:
        """`seconds` more of audio done."""
        hours = min(seconds / 3600, max(self.bar.total - self.bar.n, 0.0))  # float sums never pass the total
        wall = max(time.monotonic() - self.start, 1e-9) / 3600
        self.bar.set_postfix_str(f"{(self.bar.n + hours) / wall:.1f} h/h", refresh=False)
        self.bar.update(hours)

    @property
    def hours_per_hour(self) -> float:
        """Audio hours done per wall-clock hour so far."""
        return self.bar.n / max((time.monotonic() - self.start) / 3600, 1e-9)

    def close(self) -> None:
        self.bar.close()


class LazyBar:
    """A `HoursBar` shown from the first audio done (so an error while starting up is the only line printed); fed by
    ("total" | "done", seconds) events from one worker or many."""

    def __init__(self, desc: str):
        self.desc, self.total, self.bar = desc, 0.0, None

    def emit(self, event: str, seconds: float) -> None:
        """Record `seconds` more audio to do ("total") or done ("done")."""
        if event == "total":
            self.total += seconds
            if self.bar is not None:
                self.bar.add_total(seconds)
            return
        if self.bar is None:
            self.bar = HoursBar(self.desc, self.total)
        self.bar.update(seconds)

    def close(self, ok: bool = True) -> None:
        """Close the bar; after a failure it is erased, leaving the error as the last line."""
        if self.bar is not None:
            self.bar.bar.leave = ok
            self.bar.close()
