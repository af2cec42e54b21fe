"""Engine events reach the views as messages: queued batch-progress messages coalesce, and
every other event (epochs above all) is delivered."""

from __future__ import annotations

from tui_fakes import FakeRunner, train_script, wait_for

from nnexplorer.core.events import BatchProgress, EpochEnded, Event
from nnexplorer.tui.app import make_app
from nnexplorer.tui.messages import EngineEvent

SIZE = (120, 40)


def test_queued_batch_progress_coalesces_but_no_other_event_does():
    batch = EngineEvent(BatchProgress(epoch=1, batch=1, batches=9))
    later = EngineEvent(BatchProgress(epoch=1, batch=2, batches=9))
    epoch = EngineEvent(EpochEnded(epoch=1, epochs=2, metrics={"loss": 1.0}))
    assert batch.can_replace(later)
    assert not batch.can_replace(epoch)
    assert not epoch.can_replace(batch)
    assert not epoch.can_replace(EngineEvent(EpochEnded(epoch=2, epochs=2, metrics={})))


async def test_a_flood_of_queued_batch_progress_reaches_the_views_as_its_latest(tiny_spec):
    runner = FakeRunner(train_script(epochs=4, hold_after=1))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.busy and app.runs["run1"].history)
        handled: list[Event] = []
        follow = app.run_control.handle_event

        def counting(event: Event) -> None:
            handled.append(event)
            follow(event)

        app.run_control.handle_event = counting  # type: ignore[method-assign]
        epoch = EpochEnded(epoch=2, epochs=4, metrics={"loss": 0.9}, seconds=0.5)
        floods = [[BatchProgress(epoch=e, batch=b, batches=50) for b in range(50)] for e in (2, 3)]
        for event in [*floods[0], epoch, *floods[1]]:
            app.post_message(EngineEvent(event))  # queued all at once, as a busy UI would
        await wait_for(pilot, lambda: handled and handled[-1] is floods[1][-1])
        assert handled == [floods[0][-1], epoch, floods[1][-1]]
        assert [row["loss"] for row in app.runs["run1"].history] == [2.0, 0.9]
        runner.handles[0].stop()
        await wait_for(pilot, lambda: not app.busy)
