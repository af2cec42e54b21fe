"""The whole exported script: docstring, imports, constants, functions, main block.

:func:`export_script` puts together the data code (:mod:`.data`), the training code
(:mod:`.train`) and, when the preset has a grid, the scikeras + GridSearchCV code (:mod:`.grid`).
"""

from __future__ import annotations

import textwrap

from nnexplorer.core.codegen.data import data_code
from nnexplorer.core.codegen.grid import grid_code
from nnexplorer.core.codegen.text import WIDTH, imports_block
from nnexplorer.core.codegen.train import build_function, target_units_function, train_function
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import ExperimentSpec


def _docstring(spec: ExperimentSpec, has_grid: bool, sweep: bool = False) -> str:
    title = spec.experiment.name
    if spec.experiment.description:
        title += f": {spec.experiment.description}"
    text = textwrap.fill(title.replace("\\", "/").replace('"""', "'''"), WIDTH)
    usage = [
        "",
        "A standalone version of an nnexplorer experiment: it loads and splits the data, builds",
        "the same Keras network, trains it and prints its test metrics.",
        "",
        "    python script.py           # train once, evaluate on the test split",
    ]
    if has_grid and sweep:
        usage.append("    python script.py --sweep   # train each combination once (scikeras)")
    elif has_grid:
        usage.append("    python script.py --grid    # search the grid (scikeras + GridSearchCV)")
    return '"""' + text + "\n" + "\n".join(usage) + '\n"""'


def export_script(spec: ExperimentSpec) -> str:
    """A runnable script that trains ``spec`` as a run does (and searches its grid with --grid)."""
    data = data_code(spec)
    head = resolve_head(spec, data.task, data.n_classes)
    imports = set(data.imports) | {"import keras"}
    functions = [*data.functions, build_function(spec, head, data.task)]
    if spec.data.standardize_target and data.task == "regression":
        functions.append(target_units_function(spec, head, data.task))
    functions.append(train_function(spec, head, data))
    has_grid = bool(spec.grid and spec.grid.params)
    sweep = bool(spec.grid and spec.grid.is_sweep)
    main = ['if __name__ == "__main__":', "    train()"]
    if has_grid:
        grid_imports, grid_functions = grid_code(spec, head, data)
        imports |= grid_imports | {"import sys"}
        functions += grid_functions
        flag, call = ("--sweep", "sweep()") if sweep else ("--grid", "grid_search()")
        main = [
            'if __name__ == "__main__":',
            f'    if "{flag}" in sys.argv[1:]:',
            f"        {call}",
            "    else:",
            "        train()",
        ]
    seed = spec.experiment.seed
    seed_line = f"SEED = {seed!r}  # the experiment's seed: splits, initial weights, dropout repeat"
    parts = [
        _docstring(spec, has_grid, sweep),
        imports_block(imports),
        "\n".join([seed_line, *data.constants]),
        *functions,
        "\n".join(main),
    ]
    return "\n\n".join(parts[:3]) + "\n\n\n" + "\n\n\n".join(parts[3:]) + "\n"
