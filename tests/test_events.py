"""Events round-trip through JSON lines, NaN included."""

from __future__ import annotations

import json
import math

import pytest

from nnexplorer.core import events as ev


@pytest.mark.parametrize("cls", list(ev.EVENT_TYPES.values()))
def test_every_event_round_trips(cls):
    event = cls(run_id="r1")
    line = event.to_json()
    assert "\n" not in line
    again = ev.from_json(line)
    assert again == event and type(again) is cls


def test_non_finite_metrics_survive():
    event = ev.EpochEnded(run_id="r", epoch=3, epochs=5, metrics={"loss": math.nan, "x": math.inf})
    data = json.loads(event.to_json())
    assert data["metrics"] == {"loss": "nan", "x": "inf"}
    again = ev.from_json(event.to_json())
    assert math.isnan(again.metrics["loss"]) and again.metrics["x"] == math.inf


def test_numpy_values_become_plain():
    np = pytest.importorskip("numpy")
    event = ev.EpochEnded(metrics={"loss": np.float32(0.5)}, epoch=np.int64(2))
    assert json.loads(event.to_json())["metrics"]["loss"] == 0.5


def test_unknown_type_is_rejected():
    with pytest.raises(ValueError):
        ev.from_dict({"type": "nope"})


def test_type_comes_first_and_fields_are_extensible():
    data = ev.from_dict({"type": "log", "message": "hi", "future_field": 1}).to_dict()
    assert next(iter(data)) == "type" and data["message"] == "hi"


def test_one_exit_code_table():
    assert ev.EXIT_CODE == {
        "completed": 0,
        "diverged": 1,
        "failed": 1,
        "cancelled": 130,
        "interrupted": 1,  # a followed run whose worker died without recording an end
    }
    assert set(ev.EXIT_CODE) == set(ev.STATUSES)
    assert [ev.exit_code(s) for s in ev.STATUSES] == [ev.EXIT_CODE[s] for s in ev.STATUSES]
    assert ev.exit_code("unfinished") == 1


def test_cancel_flags_are_cancels(tmp_path):
    import threading

    from nnexplorer.core.search._journal import StopFlag, request_stop

    event = threading.Event()
    flag = StopFlag(tmp_path / "fits", interval=0)
    assert isinstance(event, ev.Cancel) and isinstance(flag, ev.Cancel)
    assert not flag.is_set()
    request_stop(tmp_path)
    assert flag.is_set()


def test_run_summary_documents_the_status_and_mode_literals():
    hints = ev.RunSummary.__annotations__
    assert {"status", "mode", "test_metrics", "best_params"} <= set(hints)
    assert ev.RunSummary.__required_keys__ == frozenset()
