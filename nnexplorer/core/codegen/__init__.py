"""Export an experiment as a standalone script that needs only numpy, scikit-learn and keras.

:func:`export_script` (see :mod:`.script`) writes the training script (:mod:`.train`) and, for a
preset with a grid, the scikeras + GridSearchCV search (:mod:`.grid`); :mod:`.data` writes the
data loading and :mod:`.text` lays out the Python source.
"""

from nnexplorer.core.codegen.script import export_script

__all__ = ["export_script"]
