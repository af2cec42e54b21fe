"""Sweeps: every combination of ``[grid.params]`` trained once, like a run each, in one process.

``[grid] search = "sweep"`` (or ``nnexplorer run PRESET --sweep KEY=VALUES``) trains each
combination, a **variant**, on the training split with validation curves and test metrics, as a
train run does, without cross-validation. :func:`run_sweep` (see :mod:`._session`) is the one
entry point; :mod:`._plan` lists the variants and judges them (score, best epoch),
:mod:`._variant` trains one, :mod:`._records` writes grid.csv.

Events: a variant is a candidate without folds: ``candidate_started`` / ``epoch_ended`` /
``candidate_finished`` carry its 0-based index as ``candidate`` and ``fold`` None; records and
screens number variants from 1.
"""

from nnexplorer.core.sweep._plan import Variant, best_epoch, plan_variants, scoring_name
from nnexplorer.core.sweep._records import sweep_rows, write_sweep_csv
from nnexplorer.core.sweep._session import SweepResult, run_sweep
from nnexplorer.core.sweep._variant import VariantResult

__all__ = [
    "SweepResult",
    "Variant",
    "VariantResult",
    "best_epoch",
    "plan_variants",
    "run_sweep",
    "scoring_name",
    "sweep_rows",
    "write_sweep_csv",
]
