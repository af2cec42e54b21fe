"""The import boundaries of DESIGN.md: a UI-free core, and no TensorFlow where speed matters.

Each check runs in a fresh interpreter, because this test process may already hold the modules.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import nnexplorer.core

CORE_MODULES = sorted(
    info.name for info in pkgutil.walk_packages(nnexplorer.core.__path__, "nnexplorer.core.")
)
UI_MODULES = ("textual", "rich", "plotext")
OUR_FRONT_ENDS = ("nnexplorer.tui", "nnexplorer.cli")
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


def test_core_modules_are_found_in_sub_packages():
    expected = {
        "nnexplorer.core.events",
        "nnexplorer.core.spec.model",
        "nnexplorer.core.search._session",
        "nnexplorer.core.datasets._files",
        "nnexplorer.core.codegen.grid",
        "nnexplorer.core.progress",
        "nnexplorer.core.progress._run",
        "nnexplorer.core.progress._fits",
        "nnexplorer.core.formatting",
        "nnexplorer.core.help._pages",
    }
    assert expected <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_ui_and_defers_tensorflow(module):
    assert _loaded_after(f"import {module}", UI_MODULES + OUR_FRONT_ENDS + HEAVY_MODULES) == []


def test_tui_app_does_not_import_tensorflow():
    assert _loaded_after("import nnexplorer.tui.app", HEAVY_MODULES) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["presets"],
        ["validate", "digits"],
        ["--version"],
        ["help"],
        ["help", "init", "--lang", "es"],
    ],
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
