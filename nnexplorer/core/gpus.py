"""The machine's GPUs as the NVIDIA driver lists them, without importing TensorFlow; run slots.

A detached run waits for one of N slots (:mod:`nnexplorer.core.runs`); slot ``k`` is pinned to
visible GPU ``k mod G`` through ``CUDA_VISIBLE_DEVICES``. N is ``--slots N``, else
``$NNEXPLORER_SLOTS``, else one per visible GPU, else 1 on a machine without one.

The driver's list comes from ``nvidia-smi -L`` (else ``/proc/driver/nvidia/gpus``), in PCI bus
order, and ``CUDA_VISIBLE_DEVICES`` is honoured the way CUDA reads it: indices or UUIDs (or their
prefixes), the list ending at the first entry that names no GPU. Set
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` for CUDA to number GPUs in this same order.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nnexplorer.core.errors import NnxError

SLOTS_ENV = "NNEXPLORER_SLOTS"
PROC_GPUS = Path("/proc/driver/nvidia/gpus")
_SMI_LINE = re.compile(r"^GPU (\d+): (.*?)(?: \(UUID: ([^)]+)\))?\s*$")


@dataclass(frozen=True)
class Gpu:
    """One GPU: ``id`` is what ``CUDA_VISIBLE_DEVICES`` takes for it (an index or a UUID)."""

    id: str
    name: str
    uuid: str = ""


def driver_gpus(smi: str | None = "nvidia-smi", proc: Path = PROC_GPUS) -> list[Gpu]:
    """Every GPU the driver lists, ids ``0``, ``1``, ... (empty without an NVIDIA driver)."""
    return _from_smi(smi) or _from_proc(proc)


def _from_smi(smi: str | None) -> list[Gpu]:
    program = shutil.which(smi) if smi else None
    if program is None:
        return []
    try:
        done = subprocess.run(
            [program, "-L"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    gpus = []
    for line in done.stdout.splitlines():
        match = _SMI_LINE.match(line)  # MIG devices are indented lines: not matched
        if match:
            gpus.append(Gpu(match.group(1), match.group(2).strip(), (match.group(3) or "").strip()))
    return gpus


def _from_proc(proc: Path) -> list[Gpu]:
    try:
        folders = sorted(p for p in proc.iterdir() if p.is_dir())
    except OSError:
        return []
    gpus = []
    for index, folder in enumerate(folders):
        fields: dict[str, str] = {}
        try:
            text = (folder / "information").read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        gpus.append(Gpu(str(index), fields.get("model", "GPU"), fields.get("gpu uuid", "")))
    return gpus


def visible_gpus(
    environ: Mapping[str, str] | None = None,
    *,
    smi: str | None = "nvidia-smi",
    proc: Path = PROC_GPUS,
) -> list[Gpu]:
    """The GPUs a process started with ``environ`` may use (``CUDA_VISIBLE_DEVICES`` applied).

    Each keeps the id that ``CUDA_VISIBLE_DEVICES`` gave it, so that pinning a run to one of
    them (``CUDA_VISIBLE_DEVICES=<id>``) selects the same GPU.
    """
    environ = os.environ if environ is None else environ
    listed = driver_gpus(smi, proc)
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return listed
    chosen: list[Gpu] = []
    for entry in (part.strip() for part in visible.split(",")):
        gpu = _named(entry, listed)
        if gpu is None or gpu in chosen:
            break  # CUDA ignores the rest of the list after an invalid entry
        chosen.append(Gpu(entry, gpu.name, gpu.uuid))
    return chosen


def _named(entry: str, listed: list[Gpu]) -> Gpu | None:
    if not entry:
        return None
    if entry.isdigit():
        index = int(entry)
        return listed[index] if index < len(listed) else None
    matches = [g for g in listed if g.uuid and g.uuid.startswith(entry)]
    return matches[0] if len(matches) == 1 else None


def slot_count(explicit: int | None = None, environ: Mapping[str, str] | None = None) -> int:
    """How many runs may train at once: ``explicit``, else ``$NNEXPLORER_SLOTS``, else one per
    visible GPU, else 1. A bad ``$NNEXPLORER_SLOTS`` raises :class:`NnxError` (exit code 2)."""
    if explicit is not None:
        if explicit < 1:
            raise NnxError(f"--slots: expected a whole number >= 1, got {explicit}")
        return explicit
    environ = os.environ if environ is None else environ
    chosen = slots_from_env(environ)
    return chosen if chosen is not None else max(1, len(visible_gpus(environ)))


def slots_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """``$NNEXPLORER_SLOTS`` as a number (None when unset); a bad value raises NnxError."""
    value = (os.environ if environ is None else environ).get(SLOTS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise NnxError(f"{SLOTS_ENV}: expected a whole number >= 1, got {value!r}")
    return int(value)


def gpu_for_slot(slot: int, gpus: list[Gpu]) -> Gpu | None:
    """The GPU slot ``slot`` is pinned to (slots share GPUs round-robin); None without GPUs."""
    return gpus[slot % len(gpus)] if gpus else None


def driver_memory(smi: str | None = "nvidia-smi") -> dict[str, int]:
    """Total memory in MiB of each GPU, by UUID and by driver index (empty without nvidia-smi)."""
    program = shutil.which(smi) if smi else None
    if program is None:
        return {}
    query = "--query-gpu=index,uuid,memory.total"
    try:
        done = subprocess.run(
            [program, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    memory: dict[str, int] = {}
    for line in done.stdout.splitlines() if done.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[2].isdigit():
            memory[parts[0]] = memory[parts[1]] = int(parts[2])
    return memory
