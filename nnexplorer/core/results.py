"""What the engine's entry points return: how a run ended, with its summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import RunStatus, RunSummary, exit_code


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``status`` (completed, diverged, cancelled, failed) and its summary."""

    status: RunStatus
    summary: RunSummary
    run_dir: Path
    message: str = ""
    error: NnxError | None = None  # the error that failed the run, when it was a known one

    @property
    def exit_code(self) -> int:
        """0 completed, 1 failed or diverged, 130 cancelled (:data:`~.events.EXIT_CODE`);
        2 when bad input failed the run (unreadable data, a network too big for the machine,
        a resume of changed data)."""
        if self.status == "failed" and self.error is not None:
            return self.error.exit_code
        return exit_code(self.status)
