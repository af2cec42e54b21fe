"""A sweep, start to end: plan the variants, train them in this process, record the results.

:func:`run_sweep` is the one entry point, used in-process by ``nnexplorer run PRESET --sweep``
(or ``--grid`` on a preset whose ``[grid] search = "sweep"``) and in a child process by
:mod:`nnexplorer.core.worker`. TensorFlow is imported once, here; the variants train one after
the other, or in ``grid.n_jobs`` threads at once when the machine has cores to spare (the same
rule as a grid's worker processes). Variants running in parallel share the process's TensorFlow
thread pools, so they are not repeatable to the last digit; one after the other they are, and
each gives the numbers a separate run of its preset gives.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nnexplorer.core.errors import describe_error
from nnexplorer.core.events import (
    Cancel,
    Emit,
    Event,
    LogEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    RunSummary,
    exit_code,
    tee,
)
from nnexplorer.core.formatting import count
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.runs import MODEL_FILE, RunRecorder
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.core.sweep._plan import Variant, is_better, plan_variants, scoring_name
from nnexplorer.core.sweep._records import ranks, write_sweep_csv
from nnexplorer.core.sweep._variant import VariantResult, VariantTrainer

THREADS_ENV = "NNEXPLORER_THREADS"


@dataclass(frozen=True)
class SweepResult:
    """How a sweep ended, with its summary (the content of summary.json) and its variants."""

    status: RunStatus
    summary: RunSummary
    run_dir: Path
    message: str = ""
    variants: list[VariantResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 completed, 1 failed or diverged, 130 cancelled."""
        return exit_code(self.status)


class _Stop:
    """Set by the caller's ``cancel`` or by this process (an interrupt while waiting)."""

    def __init__(self, cancel: Cancel | None):
        self.cancel = cancel
        self.event = threading.Event()

    def is_set(self) -> bool:
        return self.event.is_set() or (self.cancel is not None and self.cancel.is_set())


def _serialised(emit: Emit) -> Emit:
    lock = threading.Lock()

    def out(event: Event) -> None:
        with lock:
            emit(event)

    return out


@dataclass
class _Session:
    spec: ExperimentSpec
    run_dir: Path
    out: Emit
    stop: _Stop
    n_jobs_override: int | None = None
    started: float = field(default_factory=time.perf_counter)
    variants: list[Variant] = field(default_factory=list)
    results: dict[int, VariantResult] = field(default_factory=dict)
    scoring: str = ""
    n_jobs: int = 1
    device: str = "CPU"
    versions: dict[str, str] = field(default_factory=dict)
    best: VariantResult | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def keys(self) -> list[str]:
        grid = self.spec.grid
        return list(grid.params) if grid is not None else []

    def log(self, message: str, level: str = "info") -> None:
        self.out(LogEvent(run_id=self.run_id, level=level, message=message))

    # ------------------------------------------------------------------ running

    def run(self) -> tuple[RunStatus, str]:
        self.variants = plan_variants(self.spec)
        if not self.variants:
            return "failed", "the sweep has no variants: give [grid.params] at least one key"
        self.log(f"Loading {self.spec.data.source}")
        self._plan_threads()
        self._configure()
        trainer = VariantTrainer(self.run_dir, self.out, self.stop, "")
        trainer.n_variants = len(self.variants)
        first = self.variants[0].spec
        data = trainer.data_for(first)
        head = resolve_head(first, data.task, data.n_classes)
        self.scoring = trainer.scoring = scoring_name(head.monitor_metric, data.x_val is not None)
        self.log(
            f"{data.task}: {len(data.x_train)} train, "
            f"{0 if data.x_val is None else len(data.x_val)} validation, "
            f"{len(data.x_test)} test samples, {data.n_features} features"
        )
        if "target_mean" in data.meta:
            self.log(
                f"regression targets standardised on the training split (mean "
                f"{data.meta['target_mean']:.4g}, std {data.meta['target_std']:.4g}): the curves "
                "show standardised units, the test metrics the target's units"
            )
        self.out(
            RunStarted(
                run_id=self.run_id,
                mode="sweep",
                spec=self.spec.summary(),
                device=self.device,
                versions=self.versions,
                run_dir=str(self.run_dir),
                n_candidates=len(self.variants),
                n_folds=0,
                scoring=self.scoring,
            )
        )
        how = "one after the other" if self.n_jobs == 1 else f"{self.n_jobs} at a time"
        self.log(
            f"sweep: {len(self.variants)} variants of {', '.join(self.keys)}, each trained "
            f"once ({how}), ranked by {self.scoring}"
        )
        if self.stop.is_set():
            return "cancelled", "stopped before the sweep started"
        self._train_all(trainer)
        return self._outcome()

    def _plan_threads(self) -> None:
        from nnexplorer.core.search._space import other_load, plan_workers

        grid = self.spec.grid
        requested = self.n_jobs_override or (grid.n_jobs if grid is not None else 1)
        self.n_jobs = plan_workers(requested, len(self.variants), 0, busy=other_load()).n_jobs

    def _configure(self) -> None:
        from nnexplorer import __version__
        from nnexplorer.core import devices

        value = os.environ.get(THREADS_ENV, "").strip()
        threads = int(value) if value.isdigit() and int(value) > 0 else None
        if self.n_jobs > 1:  # variants training at once each need a thread to run their steps
            devices.configure_threads(intra=threads, inter=max(2, self.n_jobs))
        elif threads:
            devices.configure_threads(intra=threads, inter=min(threads, 2))
        self.device = devices.configure_devices()
        self.versions = {**devices.versions(), "nnexplorer": __version__}

    def _train_all(self, trainer: VariantTrainer) -> None:
        if self.n_jobs == 1:
            for variant in self.variants:
                self._one(trainer, variant)
            return
        pool = ThreadPoolExecutor(self.n_jobs, thread_name_prefix="nnx-variant")
        try:
            futures = [pool.submit(self._one, trainer, v) for v in self.variants]
            for future in futures:
                future.result()
        except BaseException:
            self.stop.event.set()  # an interrupt while waiting: the variants stop within a batch
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, trainer: VariantTrainer, variant: Variant) -> None:
        result = trainer.train(variant)
        with self._lock:
            self.results[variant.index] = result
            if result.status == "completed" and is_better(
                result.score, self.best.score if self.best else None
            ):
                self._save(result)
                self.best = result
            result.model = None  # the thread's next variant reuses the network
            self._write_table()

    def _save(self, result: VariantResult) -> None:
        """Keep the best variant so far as model.keras (replaced atomically)."""
        target = self.run_dir / MODEL_FILE
        tmp = target.with_name(f".variant-{result.number}.tmp.keras")
        try:
            result.model.save(tmp)
            os.replace(tmp, target)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            self.log(f"model of variant {result.number} not saved: {exc}", "warning")

    def _write_table(self) -> None:
        try:
            write_sweep_csv(self.run_dir, self.keys, self.all_results())
        except OSError as exc:
            self.log(f"grid.csv not written: {exc}", "warning")

    def all_results(self) -> list[VariantResult]:
        """Every variant's result, a pending one for each variant that has none."""
        return [
            self.results.get(v.index) or VariantResult(v.index, dict(v.params))
            for v in self.variants
        ]

    def _outcome(self) -> tuple[RunStatus, str]:
        results = self.all_results()
        done = [r for r in results if r.status == "completed"]
        bad = [r for r in results if r.status in ("failed", "diverged")]
        if any(r.status in ("cancelled", "pending") for r in results):
            return "cancelled", f"stopped; {len(done)} of {count(len(results), 'variant')} finished"
        if done:
            if not bad:
                return "completed", ""
            which = ", ".join(f"#{r.number} {r.status}" for r in bad)
            unfinished = f"{len(bad)} of {count(len(results), 'variant')} did not finish"
            return "completed", f"{unfinished}: {which}"
        status: RunStatus = "diverged" if all(r.status == "diverged" for r in bad) else "failed"
        reasons = "; ".join(f"#{r.number}: {r.reason}" for r in bad[:3])
        return status, f"every variant failed or diverged: {reasons}"

    # ------------------------------------------------------------------ records

    def summary(self, status: RunStatus, message: str) -> RunSummary:
        results = self.all_results()
        ranked = ranks(results)
        best = self.best
        return {
            "status": status,
            "mode": "sweep",
            "run_id": self.run_id,
            "name": self.spec.experiment.name,
            "search": "sweep",
            "scoring": self.scoring,
            "n_candidates": len(results),
            "grid_size": len(results),
            "n_jobs": self.n_jobs,
            "epochs_completed": best.epochs_completed if best else 0,
            "test_metrics": dict(best.test_metrics) if best else {},
            "best_params": dict(best.params) if best else {},
            "best_score": best.score if best else None,
            "best_variant": best.number if best else None,
            "n_failed_candidates": sum(r.status in ("failed", "diverged") for r in results),
            "n_pending_candidates": sum(r.status == "pending" for r in results),
            "wall_seconds": round(time.perf_counter() - self.started, 3),
            "train_seconds": round(sum(r.train_seconds for r in results), 3),
            "n_params": best.n_params if best else 0,
            "device": self.device,
            "versions": self.versions,
            "message": message,
            "variants": [{**r.record(), "rank": ranked.get(r.index)} for r in results],
        }


def run_sweep(
    spec: ExperimentSpec,
    run_dir: str | Path,
    emit: Emit | None,
    cancel: Cancel | None = None,
    *,
    n_jobs: int | None = None,
) -> SweepResult:
    """Train every variant of ``spec``'s sweep and record them in ``run_dir``; never raises.

    Status ``completed`` when at least one variant completed (the others are rows with their
    reason); ``cancelled`` when ``cancel`` was set (or on KeyboardInterrupt): running variants
    stop within a batch and finished ones stay recorded; ``diverged`` or ``failed`` when no
    variant completed. ``n_jobs`` overrides ``grid.n_jobs``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    recorder = RunRecorder(run_dir, variant_column=True)
    out = _serialised(tee(recorder, emit))
    session = _Session(spec, run_dir, out, _Stop(cancel), n_jobs)
    status: RunStatus
    try:
        status, message = session.run()
    except KeyboardInterrupt:
        session.stop.event.set()
        status, message = "cancelled", "interrupted"
    except Exception as exc:
        status, message = "failed", describe_error(exc)
        session.log(traceback.format_exc(), "debug")
    if session.variants:
        session._write_table()
    summary = session.summary(status, message)
    out(RunFinished(run_id=run_dir.name, status=status, summary=summary, message=message))
    recorder.close()
    return SweepResult(status, summary, run_dir, message, session.all_results())


__all__ = ["SweepResult", "run_sweep"]
