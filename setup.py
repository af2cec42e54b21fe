"""Package discovery, which pyproject.toml alone cannot express here: every package under
nnexplorer/ (found, so new sub-packages are never left out of a wheel) plus the top-level
presets/ folder installed as ``nnexplorer.presets``."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["nnexplorer", "nnexplorer.*"]), "nnexplorer.presets"],
    package_dir={"nnexplorer.presets": "presets"},
)
