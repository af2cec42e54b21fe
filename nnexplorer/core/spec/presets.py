"""Preset files: TOML <-> :class:`ExperimentSpec`, and the presets bundled with nnexplorer."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from nnexplorer.core.errors import ErrorItem, SpecError, cut, excerpt
from nnexplorer.core.files import not_regular, write_atomic
from nnexplorer.core.spec.applicable import applicable
from nnexplorer.core.spec.model import ExperimentSpec, validate_spec
from nnexplorer.core.spec.paths import (
    OverrideError,
    apply_overrides,
    apply_sweeps,
    huge_integer_message,
    override_for,
    sweep_paths,
)
from nnexplorer.core.spec.toml_update import updated_toml

MAX_PRESET_BYTES = 1_000_000
DEFAULT_PRESET = "digits"


@dataclass(frozen=True)
class BundledPreset:
    """A preset shipped with nnexplorer; ``search`` says what its [grid] runs (``sweep of 4``,
    ``grid of 8, cv 3``; empty without one)."""

    name: str
    path: Path
    description: str
    search: str = ""


def search_summary(data: dict[str, Any]) -> str:
    """What a preset's ``[grid]`` runs, from its raw TOML: ``sweep of 4``, ``grid of 8, cv 3``."""
    grid = data.get("grid")
    params = grid.get("params") if isinstance(grid, dict) else None
    if not isinstance(params, dict) or not params:
        return ""
    count = 1
    for values in params.values():
        count *= len(values) if isinstance(values, list) else 1
    assert isinstance(grid, dict)
    if grid.get("search") == "sweep":
        return f"sweep of {count}"
    return f"{grid.get('search', 'grid')} of {count}, cv {grid.get('cv', 3)}"


def bundled_dir() -> Path:
    """The bundled presets: the repository's presets/, installed as nnexplorer.presets."""
    source_tree = Path(__file__).resolve().parents[3] / "presets"
    if (source_tree / f"{DEFAULT_PRESET}.toml").is_file():
        return source_tree
    return Path(str(resources.files("nnexplorer.presets")))


def bundled_presets() -> list[BundledPreset]:
    """Every bundled preset, sorted by name, with its description."""
    found = []
    for path in sorted(bundled_dir().glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        info = data.get("experiment", {})
        description = str(info.get("description", "")) if isinstance(info, dict) else ""
        found.append(BundledPreset(path.stem, path, description, search_summary(data)))
    return found


def resolve_preset_path(name_or_path: str | Path) -> Path:
    """A path to a preset file; a bare name such as ``digits`` finds the bundled one."""
    path = Path(name_or_path).expanduser()
    why = not_regular(path)
    if not why:
        return path
    if why != "no such file":  # a folder, a FIFO, a device: say what it is
        raise SpecError.from_items([ErrorItem(f"{why}; a preset is a TOML file", "", str(path))])
    if path.suffix == "" and path.parent == Path("."):
        candidate = bundled_dir() / f"{path.name}.toml"
        if candidate.is_file():
            return candidate
        names = ", ".join(p.name for p in bundled_presets())
        raise SpecError(
            f"no such preset file, and no bundled preset named {excerpt(path.name)}",
            items=[
                ErrorItem(
                    f"no such file, and no bundled preset of that name (bundled: {names})",
                    "",
                    str(path),
                )
            ],
        )
    raise SpecError(str(path), items=[ErrorItem("no such file", "", str(path))])


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; refuse huge, binary, non-UTF-8 or non-regular files in one line."""
    shown = str(path)
    why = not_regular(path)
    if why:
        raise _file_error(shown, f"{why}; a preset is a TOML file")
    try:
        size = path.stat().st_size
        if size > MAX_PRESET_BYTES:
            raise _file_error(
                shown, f"file is {size} bytes; a preset is at most {MAX_PRESET_BYTES}"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise _file_error(shown, exc.strerror or str(exc)) from None
    if b"\x00" in raw:
        raise _file_error(shown, "binary file; a preset is a UTF-8 TOML text file")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is dropped
    except UnicodeDecodeError as exc:
        raise _file_error(shown, f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return _parse_toml(text, shown)


def _parse_toml(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise _file_error(file, f"TOML syntax error: {exc}") from None
    except ValueError:  # an integer longer than Python reads (4300 digits)
        raise _file_error(file, huge_integer_message(text)) from None


def _file_error(file: str, message: str) -> SpecError:
    return SpecError.from_items([ErrorItem(message, "", file)])


def _anchor_file_source(data: dict[str, Any], base: Path) -> None:
    """Make a relative ``file:`` data source relative to the preset's folder."""
    source = data.get("data", {}).get("source")
    if isinstance(source, str) and source.startswith("file:"):
        target = Path(source[5:]).expanduser()
        if not target.is_absolute():
            data["data"]["source"] = f"file:{(base / target).resolve()}"
    labels = data.get("data", {}).get("labels")
    if isinstance(labels, str) and not Path(labels).expanduser().is_absolute():
        data["data"]["labels"] = str((base / labels).resolve())


def load_preset(
    name_or_path: str | Path,
    overrides: list[str] | None = None,
    sweeps: list[str] | None = None,
) -> ExperimentSpec:
    """Load, override and validate a preset; every problem is reported in one SpecError.

    Problems that a ``--set`` brought in are attributed to it (``--set KEY=VALUE: ...``), the
    others to the file. ``sweeps`` (``--sweep KEY=VALUES`` items) replace the grid with a sweep
    of those keys; their problems name the key as the command line wrote it (``--sweep KEY``).
    """
    path = resolve_preset_path(name_or_path)
    data = read_toml(path)
    _anchor_file_source(data, path.parent)
    changed = data
    if overrides:
        try:
            changed = apply_overrides(data, overrides)
        except OverrideError as exc:
            raise _file_error(f"--set {cut(exc.item, 80)}", exc.reason) from None
    if sweeps:
        return _swept(changed, sweeps, str(path))
    try:
        return validate_spec(changed, file=str(path))
    except SpecError as exc:
        if not overrides:
            raise
        raise _attributed(exc, data, overrides, str(path)) from None


def _swept(data: dict[str, Any], sweeps: list[str], file: str) -> ExperimentSpec:
    """``data`` with its grid replaced by the ``--sweep`` items, validated."""
    try:
        swept = apply_sweeps(data, sweeps)
    except SpecError as exc:
        raise exc.with_file(file) from None
    try:
        return validate_spec(swept, file=file)
    except SpecError as exc:
        keys = list(swept.get("grid", {}).get("params", {}))
        raise SpecError.from_items(sweep_paths(exc.items, keys)).with_file(file) from None


def _attributed(exc: SpecError, data: dict[str, Any], overrides: list[str], file: str) -> SpecError:
    """``exc``'s problems, each naming the ``--set`` that caused it or else the file."""
    try:
        validate_spec(data, file=file)
        own: set[tuple[str, str]] = set()
    except SpecError as base:
        own = {(i.path, i.message) for i in base.items}
    items = []
    for item in exc.items:
        if (item.path, item.message) in own:
            items.append(item)
            continue
        cause = override_for(item.path, overrides)
        if cause is None and len(overrides) == 1:
            cause = overrides[0]
        where = f"--set {cut(cause, 80)}" if cause else "--set"
        items.append(ErrorItem(item.message, item.path, where))
    return SpecError.from_items(items)


def spec_from_toml(text: str, file: str = "<preset>") -> ExperimentSpec:
    """Parse and validate preset text (used by the editor and tests)."""
    return validate_spec(_parse_toml(text, file), file=file)


SECTION_ORDER = ("experiment", "data", "layers", "output", "compile", "fit", "grid")


def preset_data(spec: ExperimentSpec) -> dict[str, Any]:
    """The preset dict a file holds for ``spec``: its sections in order, the keys that apply."""
    data = applicable(spec.to_dict())
    return {k: data[k] for k in SECTION_ORDER if k in data}


def spec_to_toml(spec: ExperimentSpec) -> str:
    """The preset text for ``spec``, with only the keys that apply; loading it gives back the
    same experiment."""
    return tomli_w.dumps(preset_data(spec), multiline_strings=False)


def _loaded_data(text: str, path: Path) -> dict[str, Any] | None:
    """The preset dict that ``text`` (the file at ``path``) loads as, or None if it does not."""
    try:
        data = tomllib.loads(text)
        _anchor_file_source(data, path.parent)
        return preset_data(validate_spec(data))
    except (tomllib.TOMLDecodeError, SpecError, ValueError, TypeError):
        return None


def updated_preset_text(spec: ExperimentSpec, path: Path) -> str | None:
    """The file at ``path`` changed to hold ``spec``, its comments and order kept; None when
    the file cannot be read as a preset (it is then written afresh)."""
    if not_regular(path):
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    old = _loaded_data(text, path)
    if old is None:
        return None
    new = preset_data(spec)
    updated = updated_toml(text, old, new)
    return updated if _loaded_data(updated, path) == new else None


def save_preset(spec: ExperimentSpec, path: Path, *, update: bool = False) -> Path:
    """Write ``spec`` to ``path`` atomically (temporary file, fsync, rename).

    ``update``: ``path`` is the preset that was opened; its comments, key order and spelling
    are kept where the values did not change (see :mod:`.toml_update`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = updated_preset_text(spec, path) if update and path.is_file() else None
    write_atomic(path, text if text is not None else spec_to_toml(spec))
    return path
