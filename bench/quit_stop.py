"""Quitting the explorer mid-run with Stop: how soon "Stopping..." shows, and how soon the
terminal comes back after the worker has stopped.

The explorer (``python -m nnexplorer PRESET``, a long iris run) is started in a pseudo-terminal as
a user would start it; F5 starts the run (a detached worker), and once an epoch is recorded
ctrl+q then ``s`` quits with Stop. Measured: seconds from ``s`` to "Stopping..." on the terminal
(against the seconds from ctrl+q to the quit dialog on the terminal: a repaint that waits for
nothing), and seconds from the worker's recorded end (its ``run_finished`` event) to the
explorer's exit. Targets: "Stopping..." at once (no slower than the dialog's own repaint, ratio
<= 1.5), the terminal back within 2 s of the worker's stop (ratio <= 1).

    python bench/quit_stop.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

SHOWN_TARGET, EXIT_TARGET = 1.5, 2.0
PRESET = """\
[experiment]
name = "quit-bench"
seed = 1

[data]
source = "sklearn:iris"

[[layers]]
units = 8

[fit]
epochs = 100000
batch_size = 4
"""


class Terminal:
    """The explorer in a pseudo-terminal; everything it writes is kept in ``seen``."""

    def __init__(self, preset: Path, runs: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40",
               "NNEXPLORER_HEARTBEAT": "0.5", "NNEXPLORER_THREADS": "1"}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nnexplorer", str(preset), "--runs", str(runs)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.fd = master
        self.seen = b""

    def pump(self, seconds: float = 0.05) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            with contextlib.suppress(OSError):
                self.seen += os.read(self.fd, 65536)

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait_for(self, condition, timeout: float, what: str) -> float:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            self.pump()
        return time.time()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.fd)


def _events(runs: Path) -> list[dict]:
    out = []
    for path in runs.glob("*/events.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def once(folder: Path) -> tuple[float, float, float]:
    """One quit with Stop: seconds to the dialog, to "Stopping...", from the worker's end to
    the exit."""
    preset, runs = folder / "quit-bench.toml", folder / "runs"
    preset.write_text(PRESET, encoding="utf-8")
    term = Terminal(preset, runs)
    try:
        term.wait_for(lambda: b"Train" in term.seen, 60, "the first frame")
        term.send(b"\x1b[15~")  # F5
        term.wait_for(
            lambda: any(e["type"] == "epoch_ended" for e in _events(runs)), 180, "an epoch"
        )
        mark = len(term.seen)
        asked = time.time()
        term.send(b"\x11")  # ctrl+q
        dialog = term.wait_for(lambda: b"Leave running" in term.seen[mark:], 30, "the dialog")
        mark = len(term.seen)
        pressed = time.time()
        term.send(b"s")
        shown = term.wait_for(lambda: b"Stopping..." in term.seen[mark:], 30, "Stopping...")
        exited = term.wait_for(lambda: term.process.poll() is not None, 60, "the exit")
        ends = [e["time"] for e in _events(runs) if e["type"] == "run_finished"]
        if not ends:
            raise SystemExit("the worker recorded no end")
        return dialog - asked, shown - pressed, exited - ends[0]
    finally:
        term.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dialogs, shown, back = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            d, s, b = once(Path(folder))
        dialogs.append(d)
        shown.append(s)
        back.append(b)
        print(
            f"quit dialog after {d:.2f} s; Stopping... after {s:.2f} s; "
            f"terminal back {b:.2f} s after the worker's stop"
        )
    d, s, b = (statistics.median(x) for x in (dialogs, shown, back))
    print(
        f"median: Stopping... {s:.2f} s against the dialog's {d:.2f} s: ratio {s / d:.2f} "
        f"(target <= {SHOWN_TARGET})"
    )
    print(f"median: terminal back {b:.2f} s: ratio to {EXIT_TARGET} s {b / EXIT_TARGET:.2f} (<= 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
