"""An injectable failure for crash-consistency tests: raises at the N-th step it is called."""

from __future__ import annotations

from dataclasses import dataclass


class Crash(Exception):
    pass


@dataclass
class CrashAt:
    at: int
    seen: int = 0

    async def __call__(self, label: str) -> None:
        self.seen += 1
        if self.seen == self.at:
            raise Crash(label)
