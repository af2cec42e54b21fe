"""The main screen: editors on the left, charts and results on the right, status at the bottom.

Wide terminals (>= 120 columns) show both sides; narrower ones show one side at a time (F2
switches). Below 80x24 a message replaces the layout. The editor panes are built when first
shown (the Layers pane right after the first frame), which keeps the first frame quick.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.dom import DOMNode
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane

from nnexplorer.tui.protocols import EditorPane
from nnexplorer.tui.widgets.data_form import DataForm
from nnexplorer.tui.widgets.grid_editor import GridEditor
from nnexplorer.tui.widgets.heatmap import Heatmap
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


class MainScreen(Screen[None]):
    """Composes the panes and knows where each one is; the app drives the content."""

    BINDINGS = [Binding("f4", "next_view", "Views", show=False)]
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (MIN_SIZE[0], "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny-h"), (MIN_SIZE[1], "-short"), (36, "-tall")]

    def compose(self) -> ComposeResult:
        with Container(id="body"):
            with TabbedContent(id="editors", initial=FIRST_EDITOR):
                for pane in EDITOR_PANES:
                    yield TabPane(PANE_TITLES[pane], id=pane)
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
        yield Footer(compact=True, show_command_palette=False)

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
        self._loss_chart = MetricChart("loss", id="loss-chart")
        self._metric_chart = MetricChart("metric", id="metric-chart")
        self._results = ResultsTable(id="results-table")
        self._heatmap = Heatmap(id="heatmap-view")
        self._inside = InsideView(id="inside-view")
        self._evaluation = EvaluationView(id="evaluation-view")
        self._boundary = BoundaryView(id="boundary-view")
        self._log_panel = LogPanel(id="log-panel")
        self._status_bar = StatusBar(id="status-bar")

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
        self.post_message(self.Ready())
        self.call_after_refresh(self.ensure_editor, FIRST_EDITOR)

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
        await self.query_one(f"#{pane}", TabPane).mount(editor)
        self._ready.append(editor)
        self.post_message(self.EditorMounted(editor))
        if self._focus_wanted == pane:
            self.call_after_refresh(self._focus_in, editor)

    def on_resize(self, event: Resize) -> None:
        width, height = event.size
        self.query_one("#too-small", Static).update(
            f"The terminal is {width}x{height}.\n\nnnexplorer needs at least "
            f"{MIN_SIZE[0]}x{MIN_SIZE[1]}: enlarge the window (or zoom out).\n\nctrl+q quits."
        )

    # ------------------------------------------------------------------ panes

    def editors(self) -> list[EditorPane]:
        """The editor panes built so far."""
        return list(self._ready)

    @property
    def editors_ready(self) -> bool:
        """True once the first editor pane is built and loaded."""
        return FIRST_EDITOR in self._editors and self._editors[FIRST_EDITOR] in self._ready

    @property
    def side(self) -> str:
        """``editors`` or ``views``: the side shown on a narrow terminal."""
        return "views" if self.has_class("-side-views") else "editors"

    def show_side(self, side: str) -> None:
        """Show the editors or the views (both stay visible on a wide terminal)."""
        if side != self.side:
            self.set_class(side == "views", "-side-views")

    def show_pane(self, pane: str) -> None:
        """Bring ``pane`` into view and focus its first control."""
        self._focus_wanted = pane
        if pane in EDITOR_PANES:
            self.show_side("editors")
            self.query_one("#editors", TabbedContent).active = pane
            self.ensure_editor(pane)
            target: Widget = self.query_one(f"#{pane}", TabPane)
        else:
            self.show_side("views")
            if pane == "charts":
                if self.has_class("-full-view"):
                    self.query_one("#view-tabs", TabbedContent).active = "results"
                target = self.query_one("#loss-chart")
            else:
                self.query_one("#view-tabs", TabbedContent).active = pane
                target = self.query_one(f"#{pane}", TabPane)
        self.call_after_refresh(self._focus_pane, pane, target)

    def _focus_pane(self, pane: str, target: Widget) -> None:
        # a pane shown meanwhile wins: focusing this one would switch its tabs back to it
        if self._focus_wanted == pane:
            self._focus_in(target)

    def action_next_view(self) -> None:
        """Show the next tab of the views (F4): Results, Heatmap, Inside, ..., Log."""
        tabs = self.query_one("#view-tabs", TabbedContent)
        shown = self.side == "views" or self.has_class("-wide")  # wide: both sides show
        current = str(tabs.active) if shown else ""
        position = VIEW_TABS.index(current) + 1 if current in VIEW_TABS else 0
        self.show_pane(VIEW_TABS[position % len(VIEW_TABS)])

    def _focus_in(self, target: Widget) -> None:
        if target.focusable:
            target.focus()
            return
        for widget in target.query("*"):
            if widget.focusable:
                widget.focus()
                return

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
