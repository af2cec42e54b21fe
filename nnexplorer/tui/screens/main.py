"""The main screen: editors on the left, charts and results on the right, status at the bottom.

Wide terminals (>= 120 columns) show both sides; narrower ones show one side at a time (F2
switches). Below 80x24 a message replaces the layout. The first frame is already the final
layout: the breakpoint classes and the side on show are set before it is drawn, and the Layers
pane is built with the screen (the other editor panes right after the first frame).

Focus moves synchronously (``Screen.set_focus``), never through the message queue, so that keys
typed ahead on a busy machine land where the keys before them sent the focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, ScrollableContainer, Vertical
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane

from nnexplorer.tui.protocols import EditorPane
from nnexplorer.tui.widgets.data_form import DataForm
from nnexplorer.tui.widgets.grid_editor import GridEditor
from nnexplorer.tui.widgets.heatmap import Heatmap
from nnexplorer.tui.widgets.key_footer import KeyFooter
from nnexplorer.tui.widgets.layer_stack import LayerStack
from nnexplorer.tui.widgets.log_panel import LogPanel
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.status_bar import StatusBar
from nnexplorer.tui.widgets.training_form import TrainingForm
from nnexplorer.tui.widgets.views import (
    INSIDE_VIEWS,
    BoundaryView,
    EvaluationView,
    InsideView,
)

MIN_SIZE = (80, 24)
WIDE = 120  # from this width both sides show
AFTER_FIRST_FRAME = 0.3  # seconds: what is built after the first frame waits until it is out
FIRST_EDITOR = "layers"
EditorWidget = DataForm | LayerStack | TrainingForm | GridEditor
EDITOR_WIDGETS: dict[str, tuple[type[EditorWidget], str]] = {
    "data": (DataForm, "data-form"),
    "layers": (LayerStack, "layer-stack"),
    "training": (TrainingForm, "training-form"),
    "grid": (GridEditor, "grid-editor"),
}
EDITOR_PANES = ("data", "layers", "training", "grid")
VIEW_PANES = ("charts", "results", "heatmap", "log", *INSIDE_VIEWS)
VIEW_TABS = ("results", "heatmap", *INSIDE_VIEWS, "log")  # the tabs below the charts, in order
PANE_TITLES = {
    "data": "Data",
    "layers": "Layers",
    "training": "Training",
    "grid": "Grid",
    "charts": "Charts",
    "results": "Results",
    "heatmap": "Heatmap",
    "log": "Log",
    "inside": "Inside",
    "evaluation": "Evaluation",
    "boundary": "Boundary",
}


def breakpoint_classes(size: Size) -> dict[str, bool]:
    """The main screen's breakpoint classes for a terminal of ``size`` (class -> on)."""
    out: dict[str, bool] = {}
    for value, points in (
        (size.width, MainScreen.HORIZONTAL_BREAKPOINTS),
        (size.height, MainScreen.VERTICAL_BREAKPOINTS),
    ):
        chosen = [name for start, name in points if value >= start][-1:]
        out.update({name: name in chosen for _, name in points})
    return out


def shown_within(widget: Widget, root: Widget) -> bool:
    """Whether ``widget`` and its containers up to ``root`` are displayed."""
    node: DOMNode | None = widget
    while node is not None and node is not root:
        if not node.display:
            return False
        node = node.parent
    return True


def _holds_controls(widget: Widget) -> bool:
    """Whether ``widget`` is a scrolling container with focusable controls inside."""
    return isinstance(widget, ScrollableContainer) and any(
        child.focusable for child in widget.query("*")
    )


class MainScreen(Screen[None]):
    """Composes the panes and knows where each one is; the app drives the content."""

    BINDINGS = [Binding("f4", "next_view", "Views", show=False)]
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (MIN_SIZE[0], "-narrow"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny-h"), (MIN_SIZE[1], "-short"), (36, "-tall")]
    AUTO_FOCUS = "LayerTable"  # the layer list: visible, and what the first keys act on

    def compose(self) -> ComposeResult:
        # the first frame already has the layout of this terminal's size
        self.update_classes(breakpoint_classes(self.app.size), animate=False)
        with Container(id="body"):
            with TabbedContent(id="editors", initial=FIRST_EDITOR):
                for pane in EDITOR_PANES:
                    with TabPane(PANE_TITLES[pane], id=pane):
                        if pane == FIRST_EDITOR:
                            yield self._editors[pane]
            with Vertical(id="views"):
                with Horizontal(id="charts"):
                    yield self._loss_chart
                    yield self._metric_chart
                with TabbedContent(id="view-tabs"):
                    with TabPane("Results", id="results"):
                        yield self._results
                    with TabPane("Heatmap", id="heatmap"):
                        yield self._heatmap
                    with TabPane("Inside", id="inside"):
                        yield self._inside
                    with TabPane("Evaluation", id="evaluation"):
                        yield self._evaluation
                    with TabPane("Boundary", id="boundary"):
                        yield self._boundary
                    with TabPane("Log", id="log"):
                        yield self._log_panel
        yield Static("", id="too-small")
        yield self._status_bar
        yield KeyFooter(id="footer")

    @dataclass
    class Ready(Message):
        """The screen is mounted: the app may load the experiment into the editors."""

    @dataclass
    class EditorMounted(Message):
        """An editor pane was built on first show: the app loads the experiment into it."""

        editor: EditorPane

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._editors: dict[str, EditorWidget] = {}
        self._ready: list[EditorWidget] = []
        self._focus_wanted: str | None = None
        self._field_wanted: tuple[str, str] | None = None  # (pane, key path) once it is built
        self._loss_chart = MetricChart("loss", id="loss-chart")
        self._metric_chart = MetricChart("metric", id="metric-chart")
        self._results = ResultsTable(id="results-table")
        self._heatmap = Heatmap(id="heatmap-view")
        self._inside = InsideView(id="inside-view")
        self._evaluation = EvaluationView(id="evaluation-view")
        self._boundary = BoundaryView(id="boundary-view")
        self._log_panel = LogPanel(id="log-panel")
        self._status_bar = StatusBar(id="status-bar")
        self._side = "editors"
        self._last_pane = {"editors": FIRST_EDITOR, "views": "charts"}  # per side, for F2
        self._ready.append(self._new_editor(FIRST_EDITOR))  # built with the screen

    def _new_editor(self, pane: str) -> EditorWidget:
        cls, widget_id = EDITOR_WIDGETS[pane]
        editor = self._editors[pane] = cls(id=widget_id)
        return editor

    # ------------------------------------------------------------------ views

    @property
    def loss_chart(self) -> MetricChart:
        """The chart of the loss and the validation loss."""
        return self._loss_chart

    @property
    def metric_chart(self) -> MetricChart:
        """The chart of the metric (accuracy, mae, ...) and its validation twin."""
        return self._metric_chart

    @property
    def charts(self) -> tuple[MetricChart, MetricChart]:
        """Both charts: loss, then metric."""
        return self._loss_chart, self._metric_chart

    @property
    def results(self) -> ResultsTable:
        """The session's runs and the candidates of the grid run on show."""
        return self._results

    @property
    def heatmap(self) -> Heatmap:
        """The grid-search heatmap."""
        return self._heatmap

    @property
    def inside(self) -> InsideView:
        """Per-layer gradient norms, weight histograms and unit fractions."""
        return self._inside

    @property
    def evaluation(self) -> EvaluationView:
        """The confusion matrix, per-class scores and misclassified test rows."""
        return self._evaluation

    @property
    def boundary(self) -> BoundaryView:
        """The decision regions of a 2-feature classifier."""
        return self._boundary

    @property
    def log_panel(self) -> LogPanel:
        """The log pane (``log`` is Textual's own logger on every node)."""
        return self._log_panel

    @property
    def status_bar(self) -> StatusBar:
        """The status line at the bottom."""
        return self._status_bar

    def on_mount(self) -> None:
        self._apply_side(self.app.size.width)
        # the layer list has the focus from the first frame (and the footer shows its keys)
        self._focus_in(self._editors[FIRST_EDITOR])
        self.post_message(self.Ready())
        # the other editors are built once the first frame is out (a refresh callback would
        # still run before the frame reaches the terminal), so that a pane key finds its pane
        # ready and the keys typed after it land there
        self.set_timer(AFTER_FIRST_FRAME, self._start_building)

    def _start_building(self) -> None:
        self.run_worker(self._build_editors(), group="editors")

    async def _build_editors(self) -> None:
        # one at a time, so that the frames between them stay quick
        for pane in EDITOR_PANES:
            if not self.is_attached:
                return
            if pane not in self._editors:
                await self._mount_editor(pane, self._new_editor(pane))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id
        if event.tabbed_content.id == "editors" and pane in EDITOR_PANES:
            self.ensure_editor(pane)
        if event.tabbed_content.id == "view-tabs":
            # the inside views take the whole column: the loss charts make way for them
            self.set_class(pane in INSIDE_VIEWS, "-full-view")

    def ensure_editor(self, pane: str) -> None:
        """Build the editor of ``pane`` if it has not been shown yet."""
        if pane not in self._editors:
            self.run_worker(self._mount_editor(pane, self._new_editor(pane)), group="editors")

    async def _mount_editor(self, pane: str, editor: EditorWidget) -> None:
        try:
            await self.query_one(f"#{pane}", TabPane).mount(editor)
        except NoMatches:
            return  # the screen is closing (the app quit while the pane was being built)
        self._ready.append(editor)
        self.post_message(self.EditorMounted(editor))
        if self._focus_wanted == pane:
            # its first control, even when a stale Hide of the pane left before moved the focus
            # somewhere into this one while it was being built
            self._focus_in(editor)
        self._focus_field(pane)

    def on_resize(self, event: Resize) -> None:
        width, height = event.size
        self._apply_side(width)
        self.query_one("#too-small", Static).update(
            f"The terminal is {width}x{height}.\n\nnnexplorer needs at least "
            f"{MIN_SIZE[0]}x{MIN_SIZE[1]}: enlarge the window (or zoom out).\n"
            "Runs wait until it is large enough to show them.\n\nctrl+q quits."
        )

    @property
    def too_small(self) -> bool:
        """True while the terminal is below the minimum size (the layout is replaced)."""
        width, height = self.app.size
        return width < MIN_SIZE[0] or height < MIN_SIZE[1]

    @property
    def wide(self) -> bool:
        """True when both sides are on show."""
        return self.app.size.width >= WIDE

    # ------------------------------------------------------------------ panes

    def editors(self) -> list[EditorPane]:
        """The editor panes built so far."""
        return list(self._ready)

    @property
    def editors_ready(self) -> bool:
        """True once the first editor pane is built and loaded."""
        return self._editors[FIRST_EDITOR].is_mounted

    @property
    def editors_built(self) -> bool:
        """True once every editor pane is built."""
        return all(pane in self._editors for pane in EDITOR_PANES) and all(
            editor in self._ready and editor.is_mounted for editor in self._editors.values()
        )

    @property
    def side(self) -> str:
        """``editors`` or ``views``: the side shown on a narrow terminal."""
        return self._side

    def show_side(self, side: str) -> None:
        """Show the editors or the views (both stay visible on a wide terminal)."""
        if side != self._side:
            self._side = side
            self._apply_side(self.app.size.width)

    def _apply_side(self, width: int) -> None:
        # inline display (no class on the screen): switching restyles nothing, so it is quick
        both = width >= WIDE
        self.query_one("#editors").display = both or self._side == "editors"
        self.query_one("#views").display = both or self._side == "views"

    def last_pane(self, side: str) -> str:
        """The pane last shown on ``side`` (``editors`` or ``views``)."""
        return self._last_pane[side]

    def show_pane(self, pane: str) -> None:
        """Bring ``pane`` into view and focus its first control (at once, before later keys)."""
        side = "editors" if pane in EDITOR_PANES else "views"
        self._last_pane[side] = pane
        self._focus_wanted = pane
        self.show_side(side)
        if pane in EDITOR_PANES:
            self.query_one("#editors", TabbedContent).active = pane
            self.ensure_editor(pane)
            target: Widget = self.query_one(f"#{pane}", TabPane)
        elif pane == "charts":
            if self.has_class("-full-view"):  # an inside view hid the charts: back to Results
                self.query_one("#view-tabs", TabbedContent).active = "results"
                self.remove_class("-full-view")
            target = self.query_one("#loss-chart")
        else:
            self.query_one("#view-tabs", TabbedContent).active = pane
            # now, not when the tab's message comes: the focus below must find the pane shown
            self.set_class(pane in INSIDE_VIEWS, "-full-view")
            target = self.query_one(f"#{pane}", TabPane)
        self._focus_in(target)

    def focus_widget(self, widget: Widget) -> None:
        """Focus ``widget`` (at once once it is mounted); a pane shown before and still being
        built then no longer takes the focus when it is ready."""
        self._focus_wanted = None
        self._field_wanted = None
        if widget.is_mounted:
            self.set_focus(widget)
        else:
            self.call_after_refresh(widget.focus)

    def show_field(self, pane: str, path: str) -> None:
        """Show ``pane`` and focus the field of the key path ``path`` (a problem's path)."""
        self.show_pane(pane)
        self._field_wanted = (pane, path)
        editor = self._editors.get(pane)
        if editor is not None and editor in self._ready and editor.is_mounted:
            self._focus_field(pane)

    def _focus_field(self, pane: str) -> None:
        wanted, self._field_wanted = self._field_wanted, None
        if wanted is not None and wanted[0] == pane:
            self._editors[pane].focus_field(wanted[1])

    def action_next_view(self) -> None:
        """Show the next tab of the views (F4): Results, Heatmap, Inside, ..., Log."""
        tabs = self.query_one("#view-tabs", TabbedContent)
        shown = self.side == "views" or self.wide  # wide: both sides show
        current = str(tabs.active) if shown else ""
        position = VIEW_TABS.index(current) + 1 if current in VIEW_TABS else 0
        self.show_pane(VIEW_TABS[position % len(VIEW_TABS)])

    def _focus_in(self, target: Widget) -> None:
        """Focus ``target`` or its first shown control (not a scrolling container of controls)."""
        candidates = [target, *target.query("*")]
        shown = [w for w in candidates if w.focusable and shown_within(w, target)]
        control = next((w for w in shown if not _holds_controls(w)), shown[0] if shown else None)
        if control is not None:
            self.set_focus(control)

    def focused_pane(self) -> str:
        """The pane holding the focus (or the visible editor tab when nothing is focused)."""
        node: DOMNode | None = self.focused
        while node is not None and node is not self:
            if node.id in ("loss-chart", "metric-chart", "charts"):
                return "charts"
            if isinstance(node, TabPane) and node.id in PANE_TITLES:
                return str(node.id)
            node = node.parent
        if self.side == "views":
            return str(self.query_one("#view-tabs", TabbedContent).active or "charts")
        return str(self.query_one("#editors", TabbedContent).active or "data")
