"""Save the explorer's own SVG screenshot (Textual's export) for the README.

By default it trains the bundled digits preset twice for real (the second run with a larger
learning rate, so the first one shows faintly on the charts) and saves the main screen at
120x40 to docs/screenshot.svg. ``--grid`` runs the preset's grid search instead and shows the
heatmap.

    python scripts/screenshot.py [--output docs/screenshot.svg] [--size 120x40] [--epochs 15]
    python scripts/screenshot.py --grid --output docs/screenshot-grid.svg
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from nnexplorer.core.spec import load_preset
from nnexplorer.tui.app import make_app

ROOT = Path(__file__).resolve().parents[1]


async def _wait_idle(pilot, app, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    await pilot.pause(0.2)
    while app.busy:
        if time.monotonic() > deadline:
            raise SystemExit("the run did not finish in time")
        await pilot.pause(0.2)


async def take(args: argparse.Namespace) -> Path:
    columns, rows = (int(part) for part in args.size.lower().split("x"))
    overrides = [f"fit.epochs={args.epochs}"]
    if args.grid:
        overrides += ["grid.cv=2", "fit.epochs=5"]
    spec = load_preset("digits", overrides)
    with tempfile.TemporaryDirectory() as runs:
        app = make_app(spec, ROOT / "presets" / "digits.toml", runs_root=runs)
        async with app.run_test(size=(columns, rows)) as pilot:
            if args.grid:
                await pilot.press("f6")
                await _wait_idle(pilot, app, args.timeout)
                await pilot.press("alt+7")
            else:
                await pilot.press("f5")
                await _wait_idle(pilot, app, args.timeout)
                app.draft.apply("compile.learning_rate", 0.01)
                app.reload_editors()
                await pilot.press("f5")
                await _wait_idle(pilot, app, args.timeout)
            app.clear_notifications()
            await pilot.pause(0.5)
            output = Path(args.output).resolve()
            output.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=output.name, path=str(output.parent))
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "docs" / "screenshot.svg"))
    parser.add_argument("--size", default="120x40", help="terminal size (default 120x40)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs per run (default 15)")
    parser.add_argument("--grid", action="store_true", help="run the grid search instead")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    args = parser.parse_args(argv)
    print(f"saved {asyncio.run(take(args))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
