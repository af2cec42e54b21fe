"""Time to the explorer's first frame, against the time to ``import tensorflow``.

The explorer (``python -m nnexplorer``, the bundled digits preset) is started in a
pseudo-terminal, as a user would start it, and timed until the terminal receives its first
full frame (the footer's key list); then it is sent ctrl+q. TensorFlow is timed as
``python -c "import tensorflow"``. Each is run ``--repeat`` times after one warm-up run, and the
medians are compared. Target: ratio <= 0.3.

    python bench/startup.py [--repeat 5] [--size 120x40] [--check]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import termios
import time

TARGET = 0.3
FIRST_FRAME_MARK = b"Train"  # the footer's "f5 Train": drawn with the first full frame


def first_frame_seconds(size: tuple[int, int], timeout: float = 60.0) -> float:
    """Start the explorer in a pty; seconds until its first frame reaches the terminal."""
    master, slave = pty.openpty()
    columns, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "nnexplorer"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    elapsed = None
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen = seen[-64:] + chunk
            if FIRST_FRAME_MARK in seen:
                elapsed = time.perf_counter() - start
                break
    finally:
        _quit(process, master)
    if elapsed is None:
        tail = seen[-400:].decode("utf-8", "replace")
        raise RuntimeError(f"no first frame within {timeout:.0f} s; last output: {tail!r}")
    return elapsed


def _quit(process: subprocess.Popen, master: int) -> None:
    try:
        os.write(master, b"\x11")  # ctrl+q
        deadline = time.monotonic() + 5
        while process.poll() is None and time.monotonic() < deadline:
            select.select([master], [], [], 0.05)
            try:
                os.read(master, 65536)
            except OSError:
                break
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(master)


def tensorflow_import_seconds() -> float:
    """Seconds for a fresh interpreter to import TensorFlow."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import tensorflow"], check=True, env=env, capture_output=True
    )
    return time.perf_counter() - start


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--size", default="120x40", help="terminal size (default 120x40)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above {TARGET}")
    args = parser.parse_args(argv)
    columns, rows = (int(part) for part in args.size.lower().split("x"))

    first_frame_seconds((columns, rows))  # warm-up: bytecode and disk caches
    tensorflow_import_seconds()
    frames = [first_frame_seconds((columns, rows)) for _ in range(args.repeat)]
    imports = [tensorflow_import_seconds() for _ in range(args.repeat)]
    frame, tf = statistics.median(frames), statistics.median(imports)
    ratio = frame / tf
    print(f"first frame ({args.size}):  median {frame:.2f} s  ({_list(frames)})")
    print(f"import tensorflow:     median {tf:.2f} s  ({_list(imports)})")
    verdict = "ok" if ratio <= TARGET else "above target"
    print(f"ratio: {ratio:.2f} (target <= {TARGET}: {verdict})")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
