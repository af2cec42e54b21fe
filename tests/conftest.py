"""Shared fixtures: quiet TensorFlow, a private runs folder, tiny experiments."""

from __future__ import annotations

import contextlib
import os
import sys
import time

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(autouse=True)
def _private_runs(tmp_path, monkeypatch):
    """Every test writes runs under its own temporary folder, never ./runs."""
    monkeypatch.setenv("NNEXPLORER_RUNS", str(tmp_path / "runs"))


@pytest.fixture(autouse=True)
def _lasting_notifications(monkeypatch):
    """The explorer's toasts last 5 s; on a loaded machine a test may read them later than that."""
    explorer = sys.modules.get("nnexplorer.tui.app")
    if explorer is not None:
        monkeypatch.setattr(explorer.NNExplorerApp, "NOTIFICATION_TIMEOUT", 600)


@pytest.fixture(autouse=True)
def _editors_built_before_exit(monkeypatch):
    """The explorer builds its editor panes right after the first frame. A test that is done
    sooner would shut the app down mid-build (widgets mounting while the screen is pruned):
    wait for them first, as a user who quits is in no such hurry."""
    explorer = sys.modules.get("nnexplorer.tui.app")
    if explorer is None:
        return
    run_test = explorer.NNExplorerApp.run_test

    @contextlib.asynccontextmanager
    async def built_then_run(self, *args, **kwargs):
        async with run_test(self, *args, **kwargs) as pilot:
            yield pilot
            deadline = time.monotonic() + 30
            while self.is_running and time.monotonic() < deadline:
                main = getattr(self, "_main", None)
                if main is None or not main.is_attached or main.editors_built:
                    break
                await pilot.pause(0.05)

    monkeypatch.setattr(explorer.NNExplorerApp, "run_test", built_then_run)


@pytest.fixture
def tiny_spec_data() -> dict:
    """A preset dict that trains in well under a second: iris, one small layer, 2 epochs."""
    return {
        "experiment": {"name": "tiny", "seed": 1},
        "data": {"source": "sklearn:iris", "test_size": 0.3, "validation_split": 0.2},
        "layers": [{"type": "dense", "units": 8, "activation": "relu"}],
        "compile": {"optimizer": "adam", "learning_rate": 0.01},
        "fit": {"epochs": 2, "batch_size": 16},
    }


@pytest.fixture
def tiny_spec(tiny_spec_data):
    from nnexplorer.core.spec import validate_spec

    return validate_spec(tiny_spec_data)
