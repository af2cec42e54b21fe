"""The Evaluation view: how a finished classification run does on the test split.

The confusion matrix (counts with a shade for each cell's share of its row, diagonal and
mistakes in their own colours), the per-class table, and the misclassified test images drawn in
the terminal with their true and predicted class (``n`` / ``p`` page through them).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from nnexplorer.core.diagnostics import Evaluation, read_misclassified
from nnexplorer.tui.inside_render import (
    confusion_table,
    evaluation_line,
    image_tiles,
    per_class_table,
    tiles_per_line,
)

WAITING = "The test-split evaluation of a classification run appears here when it finishes."
IMAGE_LINES = 2  # lines of images per page


class EvaluationView(VerticalScroll):
    """Confusion matrix, per-class scores and misclassified images of one run."""

    DEFAULT_CSS = """
    EvaluationView { height: 1fr; padding: 0 1; }
    EvaluationView > Static { width: 1fr; margin-bottom: 1; }
    """
    can_focus = True
    BINDINGS = [
        Binding("n", "page(1)", "More images", show=False),
        Binding("p", "page(-1)", "Previous images", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.evaluation: Evaluation | None = None
        self.misclassified: dict[str, Any] | None = None
        self.page = 0
        self._note = WAITING

    def compose(self) -> ComposeResult:
        yield Static(WAITING, id="eval-head")
        yield Static("", id="eval-matrix")
        yield Static("", id="eval-classes")
        yield Static("", id="eval-images")

    def on_mount(self) -> None:
        self._redraw()

    # ------------------------------------------------------------------ verbs

    def reset(self, note: str = WAITING) -> None:
        """Show ``note`` instead of an evaluation (a run started, or one without classes)."""
        self.evaluation, self.misclassified, self.page, self._note = None, None, 0, note
        self._redraw()

    def show_summary(self, summary: Mapping[str, Any] | None, run_dir: str | Path | None) -> None:
        """The evaluation in ``summary`` and the misclassified rows recorded in ``run_dir``."""
        missed = read_misclassified(run_dir) if run_dir else None
        self.show_record(summary, missed)

    def show_record(self, summary: Mapping[str, Any] | None, missed: dict[str, Any] | None) -> None:
        """The evaluation in ``summary`` with the content of a misclassified.json."""
        self.evaluation = Evaluation.from_summary(summary)
        self.misclassified = missed
        self.page = 0
        if self.evaluation is None:
            status = (summary or {}).get("status")
            self._note = (
                "No evaluation: this run did not complete."
                if status and status != "completed"
                else "No evaluation: only classification train runs are evaluated class by class."
            )
        self._redraw()

    def action_page(self, delta: int) -> None:
        """The next (or previous) page of misclassified images."""
        pages = self._pages()
        if pages:
            self.page = (self.page + delta) % pages
            self._draw_images()

    # ------------------------------------------------------------------ drawing

    def _width(self) -> int:
        return max(30, self.size.width - 2) if self.size.width else 78

    def _per_page(self) -> int:
        missed = self.misclassified or {}
        return tiles_per_line(missed, self._width()) * IMAGE_LINES

    def _image_rows(self) -> list[dict[str, Any]]:
        rows = (self.misclassified or {}).get("rows") or []
        return [row for row in rows if "pixels" in row]

    def _pages(self) -> int:
        rows = self._image_rows()
        return -(-len(rows) // self._per_page()) if rows else 0

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        head = self.query_one("#eval-head", Static)
        matrix = self.query_one("#eval-matrix", Static)
        classes = self.query_one("#eval-classes", Static)
        evaluation = self.evaluation
        if evaluation is None:
            head.update(self._note)
            for part in (matrix, classes):
                part.update("")
                part.display = False
            self._draw_images()
            return
        head.update(evaluation_line(evaluation))
        matrix.display = classes.display = True
        matrix.update(confusion_table(evaluation, self._width()))
        classes.update(per_class_table(evaluation))
        self._draw_images()

    def _draw_images(self) -> None:
        images = self.query_one("#eval-images", Static)
        rows = self._image_rows()
        if self.evaluation is None or not rows:
            listed = self._listed_rows()
            images.update(listed)
            images.display = bool(listed)
            return
        images.display = True
        per_page = self._per_page()
        start = self.page * per_page
        count = (self.misclassified or {}).get("count", len(rows))
        shown = f"{start + 1}-{min(start + per_page, len(rows))} of {count}"
        title = Text(f"Misclassified test images {shown}", style="bold")
        if self._pages() > 1:
            title.append("  (n / p: more)", style="dim")
        tiles = image_tiles(self.misclassified or {}, self._width(), per_page, start)
        images.update(Group(title, tiles) if tiles is not None else title)

    def _listed_rows(self, limit: int = 24) -> str:
        """Misclassified rows without images: ``#12 3->8`` (test index, true -> predicted)."""
        missed = self.misclassified or {}
        rows = missed.get("rows") or []
        if self.evaluation is None or not rows:
            return ""
        classes = self.evaluation.classes

        def name(i: int) -> str:
            return classes[i] if 0 <= i < len(classes) else str(i)

        shown = "  ".join(
            f"#{r['index']} {name(r['true'])}->{name(r['predicted'])}" for r in rows[:limit]
        )
        more = f" (first {limit} of {missed.get('count', len(rows))})" if len(rows) > limit else ""
        return f"Misclassified test rows, index true->predicted{more}:\n{shown}"

    def on_resize(self) -> None:
        self._redraw()
