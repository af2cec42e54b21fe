"""The code checks that CI runs with the tests: ruff, mypy and the import contracts.

They run here (not only in .ci/run) so that README's test command checks the same things; each
uses the tool installed in this environment by the ``test`` extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_ruff_is_clean():
    from ruff.__main__ import find_ruff_bin

    done = _run([find_ruff_bin(), "check", "--quiet", "."])
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean():
    from ruff.__main__ import find_ruff_bin

    done = _run([find_ruff_bin(), "format", "--check", "--quiet", "."])
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean():
    done = _run([sys.executable, "-m", "mypy", "nnexplorer"])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_import_contracts_hold():
    done = _run([str(BIN / "lint-imports")])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
