"""A few sample images of the data set, shown in the Data pane when the data are images.

The source is read in a thread worker (scikit-learn's digits, keras' cache or an NPZ/IDX file;
never TensorFlow), so the pane stays responsive; a newer source cancels the older read.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from nnexplorer.core import pictures
from nnexplorer.tui.inside_render import tiles

COUNT = 8
BAR = "▁▂▃▄▅▆▇█"


def balance_lines(classes: list[tuple[str, int]], width: int) -> list[Text]:
    """The class balance: a title, then ``class bar rows`` items wrapped to ``width``.

    Each bar's height is the class's share of the largest class, so equal bars mean a
    balanced set.
    """
    if not classes:
        return []
    most = max(n for _, n in classes) or 1
    total = sum(n for _, n in classes)
    lines = [Text(f"Class balance ({total:,} rows)", style="bold")]
    line = Text()
    for name, n in classes:
        item = f"{name} {BAR[min(len(BAR) - 1, n * len(BAR) // (most + 1))]} {n:,}"
        if line.cell_len and line.cell_len + 3 + len(item) > width:
            lines.append(line)
            line = Text()
        line.append(("   " if line.cell_len else "") + item)
    lines.append(line)
    return lines


def _samples_of(data: dict[str, Any]) -> Any:
    """The sample images of ``data`` (a ``[data]`` table), or None (runs in a thread)."""
    from nnexplorer.core.datasets import sample_images
    from nnexplorer.core.spec import DataSpec

    return sample_images(DataSpec.model_validate(data), COUNT)


def _may_have_images(data: dict[str, Any]) -> bool:
    from pydantic import ValidationError

    from nnexplorer.core.datasets import may_have_images
    from nnexplorer.core.spec import DataSpec

    try:
        return may_have_images(DataSpec.model_validate(data))
    except (ValidationError, ValueError, OSError):
        return False


class DataSamples(Static):
    """Sample images of the loaded data set with their class, or nothing for tabular data."""

    DEFAULT_CSS = "DataSamples { height: auto; width: 1fr; margin-top: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.samples: Any = None
        self._key: str | None = None
        self.display = False

    def show_data(self, data: dict[str, Any]) -> None:
        """Show samples of the ``[data]`` table ``data`` (read again only when it changed)."""
        key = repr(sorted((k, str(v)) for k, v in data.items()))
        if key == self._key:
            return
        self._key = key
        self.samples = None
        if not _may_have_images(data):
            self.update("")
            self.display = False
            return
        self.display = True
        self.update(Text("Reading sample images ...", style="dim"))
        self.run_worker(
            partial(self._read, dict(data), key),
            thread=True,
            exclusive=True,
            group="data-samples",
            exit_on_error=False,
        )

    def _read(self, data: dict[str, Any], key: str) -> None:
        try:
            samples = _samples_of(data)
        except Exception as exc:  # a missing file or cache: say so where the images would be
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.app.call_from_thread(self._failed, key, message)
            return
        self.app.call_from_thread(self._loaded, key, samples)

    def _failed(self, key: str, message: str) -> None:
        if key == self._key:
            self.update(Text(f"No sample images: {message}", style="dim"))

    def _loaded(self, key: str, samples: Any) -> None:
        if key != self._key:
            return  # the source changed meanwhile
        self.samples = samples
        self._draw()

    def _draw(self) -> None:
        samples = self.samples
        if samples is None:
            self.update("")
            self.display = False
            return
        self.display = True
        width = max(20, self.size.width or 40)
        items = [(p, label, "") for p, label in zip(samples.pixels, samples.labels, strict=True)]
        tile_width, _ = pictures.image_size(samples.shape)
        items = items[: 2 * max(1, (width + 2) // (tile_width + 2))]  # two lines of images
        shape = "x".join(str(s) for s in samples.shape)
        title = Text(f"Sample images ({shape}, with their class)", style="bold")
        picture = tiles(items, samples.shape, samples.value_range, width)
        self.update(Group(title, picture, *balance_lines(samples.classes, width)))

    def on_resize(self) -> None:
        if self.samples is not None:
            self._draw()
