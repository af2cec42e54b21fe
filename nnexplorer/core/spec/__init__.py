"""The experiment model: what a preset describes, validated once, here.

The public names live in private-by-convention modules: :mod:`.model` (the sections and
:func:`validate_spec`), :mod:`.layers` (layers, initialisers, regularisers, constraints),
:mod:`.paths` (dotted key paths for ``--set`` and the grid) and :mod:`.presets` (TOML in and
out, bundled presets). Import them from here: ``from nnexplorer.core.spec import ExperimentSpec``.
"""

from nnexplorer.core.spec.layers import (
    LAYER_TYPES,
    ConstraintSpec,
    DenseLayer,
    DropoutLayer,
    InitializerSpec,
    LayerSpec,
    OutputSpec,
    RegularizerSpec,
)
from nnexplorer.core.spec.model import (
    CompileSpec,
    DataSpec,
    EarlyStoppingSpec,
    ExperimentInfo,
    ExperimentSpec,
    FitSpec,
    GridSpec,
    default_spec,
    grid_problems,
    validate_spec,
)
from nnexplorer.core.spec.paths import format_loc
from nnexplorer.core.spec.presets import (
    DEFAULT_PRESET,
    MAX_PRESET_BYTES,
    BundledPreset,
    bundled_dir,
    bundled_presets,
    load_preset,
    read_toml,
    resolve_preset_path,
    save_preset,
    spec_from_toml,
    spec_to_toml,
)

__all__ = [
    "DEFAULT_PRESET",
    "LAYER_TYPES",
    "MAX_PRESET_BYTES",
    "BundledPreset",
    "CompileSpec",
    "ConstraintSpec",
    "DataSpec",
    "DenseLayer",
    "DropoutLayer",
    "EarlyStoppingSpec",
    "ExperimentInfo",
    "ExperimentSpec",
    "FitSpec",
    "GridSpec",
    "InitializerSpec",
    "LayerSpec",
    "OutputSpec",
    "RegularizerSpec",
    "bundled_dir",
    "bundled_presets",
    "default_spec",
    "format_loc",
    "grid_problems",
    "load_preset",
    "read_toml",
    "resolve_preset_path",
    "save_preset",
    "spec_from_toml",
    "spec_to_toml",
    "validate_spec",
]
