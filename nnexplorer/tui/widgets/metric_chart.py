"""Live line charts of a run: loss and val_loss, or the metric and its validation twin.

A sweep draws every variant's validation curve, each in its own colour and marker (so that the
lines stay apart without colour, NO_COLOR); :meth:`MetricChart.show_series` overlays any lines
(the comparison screen's runs) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.app import RenderResult
from textual.binding import Binding
from textual.reactive import reactive
from textual_plotext import PlotextPlot

from nnexplorer.core.formatting import epoch_ticks, finite
from nnexplorer.core.progress import REFIT, CandidateProgress, RunProgress
from nnexplorer.tui.widgets.chart_axes import y_ticks

ChartKind = Literal["loss", "metric"]
TRAIN_COLOR = "cyan"
VAL_COLOR = "orange"
FAINT_COLOR = "gray"
TRAIN_MARKER = "braille"  # a solid line
VAL_MARKER = "dot"  # a dotted line: the two read apart without colour (NO_COLOR) too
SWATCHES = {TRAIN_MARKER: "━━", VAL_MARKER: "••"}
CANDIDATE_COLORS = ("cyan", "orange", "green", "magenta", "blue", "red", "cyan+", "green+")
MAX_CANDIDATE_LINES = 8
# one character per overlaid line (a variant, a compared run): a line drawn with it reads
# without colour; the legend shows the same character
OVERLAY_MARKERS = ("•", "x", "+", "o", "*", "#", "%", "@", "=", "~", "^", "&")
MAX_OVERLAY_LINES = len(OVERLAY_MARKERS)
# plotext colours are ANSI colours: the same ones name the legend's swatches
ANSI_NAMES = {
    "red": "ansi_red",
    "green": "ansi_green",
    "orange": "ansi_yellow",
    "blue": "ansi_blue",
    "magenta": "ansi_magenta",
    "cyan": "ansi_cyan",
    "gray": "ansi_bright_black",
    "green+": "ansi_bright_green",
    "cyan+": "ansi_bright_cyan",
}


@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    label: str
    xs: list[int]
    ys: list[float]
    color: str
    faint: bool = False
    marker: str = TRAIN_MARKER


def _series(
    history: list[dict[str, float]], name: str, label: str, color: str, faint: bool = False
) -> Series | None:
    points = [
        (i, v) for i, row in enumerate(history, 1) if (v := finite(row.get(name))) is not None
    ]
    if not points:
        return None
    marker = VAL_MARKER if name.startswith("val_") else TRAIN_MARKER
    return Series(label, [p[0] for p in points], [p[1] for p in points], color, faint, marker)


def has_penalty(history: list[dict[str, float]]) -> bool:
    """Whether the epochs report a regularisation ``penalty`` (the model has regularisers)."""
    return any(finite(row.get("penalty")) is not None for row in history)


def data_loss_rows(history: list[dict[str, float]]) -> list[dict[str, float]]:
    """The epochs with ``loss`` and ``val_loss`` less the penalty: the data loss.

    Keras adds the regularisation penalty to both losses, so comparing them across models
    with different regularisers compares the penalties too; the data loss does not.
    """
    rows = []
    for row in history:
        penalty = finite(row.get("penalty"))
        out = dict(row)
        for name in ("loss", "val_loss"):
            value = finite(row.get(name))
            if value is not None and penalty is not None:
                out[name] = value - penalty
        rows.append(out)
    return rows


def _names(kind: ChartKind, run: RunProgress) -> tuple[str, str] | None:
    if kind == "loss":
        return "loss", "val_loss"
    metric = run.metric()
    return (metric, f"val_{metric}") if metric else None


def run_series(
    kind: ChartKind,
    run: RunProgress | None,
    previous: RunProgress | None,
    candidate: int | None = None,
    data_loss: bool = False,
) -> list[Series]:
    """The lines to draw for ``run`` (and ``previous``, faint), or one grid candidate's folds.

    With ``data_loss`` the loss lines of a train run leave out the regularisation penalty.
    """
    if run is None:
        return []
    names = _names(kind, run)
    if names is None:
        return []
    train, val = names
    if run.mode == "sweep" and run.candidates:
        if candidate is not None and candidate in run.candidates:
            history = run.candidates[candidate].history
            lines = [_series(history, train, "train", TRAIN_COLOR)]
            lines.append(_series(history, val, "val", VAL_COLOR))
            return [s for s in lines if s is not None]
        return _variants(run, train, val)
    if run.mode == "grid" and run.candidates:
        if candidate is not None and candidate in run.candidates:
            return _candidate_folds(run.candidates[candidate], train, val)
        return _candidates(run, train, val)

    def rows(history: list[dict[str, float]]) -> list[dict[str, float]]:
        return data_loss_rows(history) if data_loss and kind == "loss" else history

    out = []
    if previous is not None and previous.mode == "train" and _names(kind, previous) == names:
        # drawn first, so that the current run's lines lie on top
        out.append(_series(rows(previous.history), train, "prev", FAINT_COLOR, True))
        out.append(_series(rows(previous.history), val, "", FAINT_COLOR, True))
    out.append(_series(rows(run.history), train, "train", TRAIN_COLOR))
    out.append(_series(rows(run.history), val, "val", VAL_COLOR))
    return [s for s in out if s is not None]


def _candidates(run: RunProgress, train: str, val: str) -> list[Series]:
    """Each candidate's latest fold (validation curve when there is one).

    While the search runs, the candidates training now are coloured and the finished ones
    faint; once it is over, the best candidate is the coloured one.
    """
    out = []
    shown = sorted(run.candidates)[-MAX_CANDIDATE_LINES:]
    if run.running:
        bright = {index for index in shown if not run.candidates[index].finished}
    else:
        ranked = run.ranked()
        bright = {ranked[0].index} if ranked else set()
    for pos, index in enumerate(shown):
        cand = run.candidates[index]
        history = cand.latest_history()
        name = val if any(val in row for row in history) else train
        faint = index not in bright
        color = FAINT_COLOR if faint else CANDIDATE_COLORS[pos % len(CANDIDATE_COLORS)]
        label = "" if faint else f"#{index + 1}" + ("" if run.running else " best")
        line = _series(history, name, label, color, faint)
        if line is not None:
            out.append(line)
    # faint lines first, so the coloured ones are drawn on top
    return sorted(out, key=lambda s: not s.faint)


def overlay_series(lines: list[tuple[str, list[int], list[float]]]) -> list[Series]:
    """Lines (label, epochs, values) in overlay colours and markers, one of each per line."""
    return [
        Series(
            label,
            xs,
            ys,
            CANDIDATE_COLORS[pos % len(CANDIDATE_COLORS)],
            marker=OVERLAY_MARKERS[pos % len(OVERLAY_MARKERS)],
        )
        for pos, (label, xs, ys) in enumerate(lines[:MAX_OVERLAY_LINES])
    ]


def _variants(run: RunProgress, train: str, val: str) -> list[Series]:
    """Every variant's curve (validation when there is one), labelled ``#n``, best marked.

    Beyond :data:`MAX_OVERLAY_LINES` variants, the latest ones while the sweep runs and the
    best ones once it ended.
    """
    ranked = run.ranked()
    shown = sorted(run.candidates)
    if len(shown) > MAX_OVERLAY_LINES:
        if run.running:
            shown = shown[-MAX_OVERLAY_LINES:]
        else:
            shown = sorted(c.index for c in ranked[:MAX_OVERLAY_LINES])
    best = ranked[0].index if ranked and not run.running else None
    lines = []
    for index in shown:
        history = run.candidates[index].history
        name = val if any(val in row for row in history) else train
        points = [
            (i, v) for i, row in enumerate(history, 1) if (v := finite(row.get(name))) is not None
        ]
        label = f"#{index + 1}" + (" best" if index == best else "")
        lines.append((label, [p[0] for p in points], [p[1] for p in points]))
    return [s for s in overlay_series(lines) if s.xs]


def _candidate_folds(cand: CandidateProgress, train: str, val: str) -> list[Series]:
    out = []
    for fold, history in sorted(cand.histories.items()):
        color = CANDIDATE_COLORS[fold % len(CANDIDATE_COLORS)]
        label = "refit" if fold == REFIT else f"fold {fold + 1}"
        out.append(_series(history, train, label, color))
        out.append(_series(history, val, "", color, True))
    return [s for s in out if s is not None]


def legend_markup(title: str, series: list[Series]) -> str:
    """The title and a colour swatch per named line, as Textual markup (faint lines dotted)."""
    parts = [f"[b]{title}[/b]"]
    for line in sorted(series, key=lambda s: s.faint):
        if line.label:
            swatch = SWATCHES.get(line.marker, line.marker * 2)
            swatch = "┄┄" if line.faint and line.marker == TRAIN_MARKER else swatch
            parts.append(f"[{ANSI_NAMES.get(line.color, line.color)}]{swatch}[/] {line.label}")
    return "  ".join(parts)


class MetricChart(PlotextPlot):
    """A plotext chart of one quantity over the epochs; ``l`` toggles a log scale (loss).

    The title and the legend sit in the border above the plot, so they never hide a curve.
    """

    DEFAULT_CSS = """
    MetricChart { border-top: blank; border-title-align: left; }
    """

    can_focus = True
    BINDINGS = [
        Binding("l", "toggle_log", "Log scale", show=False),
        Binding("d", "toggle_data_loss", "Data loss", show=False),
    ]
    log_scale: reactive[bool] = reactive(False)
    data_loss: reactive[bool] = reactive(False)

    def __init__(self, kind: ChartKind, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind: ChartKind = kind
        self._title = "Loss" if kind == "loss" else "Metric"
        self._series: list[Series] = []
        self._empty_hint = "F5 trains"  # short: it fits the narrowest chart
        self._legend = True
        self._shown: tuple[RunProgress | None, RunProgress | None, int | None] = (None, None, None)
        self._penalty = False

    def on_mount(self) -> None:
        super().on_mount()
        self._redraw()

    def show_run(
        self,
        run: RunProgress | None,
        previous: RunProgress | None = None,
        candidate: int | None = None,
    ) -> None:
        """Draw ``run`` (and ``previous`` faintly); for a grid, its candidates' curves."""
        self._shown = (run, previous, candidate)
        self._penalty = run is not None and run.mode == "train" and has_penalty(run.history)
        data_loss = self.data_loss and self._penalty
        self._series = run_series(self.kind, run, previous, candidate, data_loss)
        if run is None:
            self._title = "Loss" if self.kind == "loss" else "Metric"
        elif self.kind == "loss":
            what = "variant" if run.mode == "sweep" else "candidate"
            # short: the legend shares the chart's top border, 37 columns at 80x24
            name = "Data loss (d)" if data_loss else "Loss"
            if self._penalty and not data_loss:
                name += "+penalty (d)"
            self._title = name + (f" - {what} #{candidate + 1}" if candidate is not None else "")
        else:
            self._title = (run.metric() or "metric").replace("_", " ").capitalize()
        self._empty_hint = "waiting for the first epoch" if run else "F5 trains"
        self._legend = True
        self._redraw()

    def show_series(
        self, title: str, series: list[Series], empty: str = "no values", legend: bool = False
    ) -> None:
        """Draw ``series`` as given (an overlay of runs) under ``title``.

        Their legend goes in the border with ``legend``; else the caller shows it (the lines
        of a comparison are more than a chart's border holds).
        """
        self._series = list(series)
        self._title = title
        self._empty_hint = empty
        self._legend = legend
        self._redraw()

    @property
    def series(self) -> list[Series]:
        """The lines currently drawn."""
        return list(self._series)

    def action_toggle_log(self) -> None:
        """Switch the y axis between linear and logarithmic (loss chart only)."""
        if self.kind == "loss":
            self.log_scale = not self.log_scale

    def watch_log_scale(self) -> None:
        self._redraw()

    def action_toggle_data_loss(self) -> None:
        """Switch the loss chart between the total loss and the data loss (loss - penalty)."""
        if self.kind != "loss":
            return
        if not self._penalty:
            self.notify("This run has no regulariser: its loss is the data loss.")
            return
        self.data_loss = not self.data_loss

    def watch_data_loss(self) -> None:
        if self.is_mounted:
            self.show_run(*self._shown)

    def _redraw(self) -> None:
        log = self.log_scale and self.kind == "loss"
        title = self._title + (" (log)" if log else "")
        self.border_title = legend_markup(title, self._series if self._legend else [])
        self.refresh()

    def _plot_rows(self) -> int:
        """Rows of the plot itself (the widget less the x axis and its labels)."""
        return max(2, self.size.height - 4)

    def render(self) -> RenderResult:
        # plotext scales its stored data in place when it builds a log plot: plot afresh
        # before every build, so that a second render does not take the log twice
        self._plot_series()
        return super().render()

    def _plot_series(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        log = self.log_scale and self.kind == "loss"
        plt.xlabel("epoch")
        lines = []
        for line in self._series:
            points = [(x, y) for x, y in zip(line.xs, line.ys, strict=True) if not log or y > 0]
            if points:
                lines.append((line, [p[0] for p in points], [p[1] for p in points]))
        plt.yscale("log" if log and lines else "linear")
        last_epoch = 0
        for line, xs, ys in lines:
            plt.plot(xs, ys, color=line.color, marker=line.marker)
            last_epoch = max(last_epoch, xs[-1])
        if lines and not log:  # round, evenly spaced ticks with short labels
            levels, labels = y_ticks([y for _, _, ys in lines for y in ys], self._plot_rows())
            plt.yticks(levels, labels)
            plt.ylim(levels[0], levels[-1])
        if last_epoch:
            ticks = epoch_ticks(last_epoch)
            plt.xticks([float(t) for t in ticks], [str(t) for t in ticks])
        if not lines:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            levels, labels = y_ticks([0.0, 1.0], self._plot_rows())
            plt.yticks(levels, labels)
            plt.text(self._empty_hint, 0.5, 0.5, alignment="center")
