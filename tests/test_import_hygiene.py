"""The import boundaries of DESIGN.md: a UI-free core, and no TensorFlow where speed matters.

Each check runs in a fresh interpreter, because this test process may already hold the modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nnexplorer

PACKAGE = Path(nnexplorer.__file__).parent
CORE_MODULES = sorted(
    f"nnexplorer.core.{p.stem}" for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__"
)
UI_MODULES = ("textual", "rich", "plotext")
HEAVY_MODULES = ("tensorflow", "keras")


def _loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """Run ``code`` in a fresh interpreter; return which of ``watched`` it left in sys.modules."""
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {watched!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return [m for m in line.split(",") if m]


def test_core_modules_are_found():
    assert {"nnexplorer.core.spec", "nnexplorer.core.events"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_ui(module):
    assert _loaded_after(f"import {module}", UI_MODULES) == []


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_defers_tensorflow(module):
    assert _loaded_after(f"import {module}", HEAVY_MODULES) == []


@pytest.mark.skipif(
    not (PACKAGE / "tui" / "app.py").is_file(),
    reason="nnexplorer/tui/app.py is not in this tree yet",
)
def test_tui_app_does_not_import_tensorflow():
    assert _loaded_after("import nnexplorer.tui.app", HEAVY_MODULES) == []


@pytest.mark.parametrize(
    "argv", [["--help"], ["run", "--help"], ["presets"], ["validate", "digits"], ["--version"]]
)
def test_fast_commands_do_not_import_tensorflow(argv):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nnexplorer", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "nnexplorer" in imported  # the probe works
    assert not imported & set(HEAVY_MODULES)
