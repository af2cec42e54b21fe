"""Bad input is refused in one clear line (exit code 2), before anything large is built and
before TensorFlow loads: memory, grid sizes, bounded messages, odd files, data caps, --set.

No test here trains; the few that run the command line do it in-process or in a subprocess that
stops before TensorFlow.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnexplorer import cli
from nnexplorer.core import limits, preflight
from nnexplorer.core.datasets import load_dataset
from nnexplorer.core.errors import DataError, LimitError, SpecError, describe_error, excerpt
from nnexplorer.core.spec import DataSpec, load_preset, spec_from_toml, validate_spec

ROOT = Path(__file__).resolve().parents[1]


def _errors(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def _preset(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _no_tensorflow(argv: list[str]) -> tuple[int, bool, str]:
    """Run the command line in a fresh process: exit code, whether TensorFlow was imported."""
    code = (
        "import sys\n"
        "from nnexplorer import cli\n"
        f"rc = cli.main({argv!r})\n"
        "print(rc, 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    rc, loaded = done.stdout.strip().splitlines()[-1].split()
    return int(rc), loaded == "True", done.stderr


# --------------------------------------------------------------------------- memory (item 6)

BIG = """\
[experiment]
name = "big"
[data]
source = "sklearn:digits"
[[layers]]
units = 65536
[[layers]]
units = 65536
[[layers]]
units = 65536
"""


def test_a_network_too_big_for_the_machine_is_refused_before_tensorflow(tmp_path):
    preset = _preset(tmp_path, BIG)
    rc, loaded, err = _no_tensorflow(["run", str(preset), "--runs", str(tmp_path / "runs")])
    assert rc == 2 and not loaded
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"nnexplorer: error: {preset}: layers: training this network needs")
    assert "8,594,980,874 parameters x 4 bytes x 4" in lines[0]  # Adam: weights, grads, 2 slots
    assert not (tmp_path / "runs").exists()  # refused before a run folder was made


def test_memory_estimate_counts_optimizer_slots_and_the_machine(monkeypatch):
    spec = validate_spec({"layers": [{"units": 1000}], "compile": {"optimizer": "sgd"}})
    sgd = limits.estimate_memory(spec, 784, 10, "classification")
    assert sgd is not None and sgd.n_params == 784 * 1000 + 1000 + 1000 * 10 + 10
    assert sgd.model == sgd.n_params * 4 * 2  # SGD without momentum keeps no slot
    adam = limits.estimate_memory(
        spec.with_params({"compile.optimizer": "adam"}), 784, 10, "classification"
    )
    assert adam is not None and adam.model == adam.n_params * 4 * 4
    monkeypatch.setenv(limits.MEMORY_ENV, "1G")
    assert limits.machine_memory() == (2**30, "$NNEXPLORER_MEMORY")
    limits.check_memory(sgd)  # fits: 512 MB of TensorFlow runtime and a few MB of network
    monkeypatch.setenv(limits.MEMORY_ENV, "100M")
    with pytest.raises(LimitError, match=r"more than \$NNEXPLORER_MEMORY \(100.0 MB\)"):
        limits.check_memory(sgd)


def test_grid_workers_share_the_memory(monkeypatch):
    spec = validate_spec(
        {
            "data": {"source": "sklearn:digits"},
            "layers": [{"units": 64}],
            "grid": {"n_jobs": 8, "params": {"layers.0.units": [64, 4096]}},
        }
    )
    one = limits.largest_network(spec, 64, 10, "classification")
    assert one is not None and one.n_params == 64 * 4096 + 4096 + 4096 * 10 + 10
    monkeypatch.setenv(limits.MEMORY_ENV, str(int(one.total * 3)))
    preflight.check_memory(spec, 64, 10, "classification")  # one network fits
    with pytest.raises(LimitError, match="8 grid processes") as refused:
        preflight.check_memory(spec, 64, 10, "classification", grid=True)
    assert "lower grid.n_jobs" in str(refused.value)


def test_gpu_memory_is_read_without_tensorflow(tmp_path, monkeypatch):
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\necho '0, 16384'\necho '1, 81920'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert limits.gpu_memory() == 16384 * 2**20
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert limits.gpu_memory() == 81920 * 2**20
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert limits.gpu_memory() is None


# --------------------------------------------------------------------------- data caps (item 6)


def _data(path: Path, **keys) -> DataSpec:
    return validate_spec({"data": {"source": f"file:{path}", **keys}}).data


def test_a_gzip_bomb_stops_at_the_cap(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        handle.write(b"x,y\n" + b"0,1\n1,0\n" * 400_000)  # 6.4 MB of text, ~20 kB on disk
    assert bomb.stat().st_size < 100_000
    with pytest.raises(DataError) as error:
        load_dataset(_data(bomb, max_file_mb=1), 0)
    assert error.value.lines() == [
        f"{bomb}: data.max_file_mb: decompressed, the file is 1.0 MB, more than "
        "data.max_file_mb = 1 (raise data.max_file_mb (e.g. 2) to read it)"
    ]


def test_an_idx_bomb_and_a_zip_bomb_are_refused_before_unpacking(tmp_path):
    idx = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(idx, "wb") as handle:
        handle.write(b"\0\0\x08\x03" + struct.pack(">3I", 60000, 28, 28) + bytes(2_000_000))
    with pytest.raises(DataError, match="decompressed, the file is"):
        load_dataset(_data(idx, max_file_mb=1), 0)
    npz = tmp_path / "big.npz"
    np.savez_compressed(npz, x=np.zeros((300_000, 4)), y=np.zeros(300_000))
    with pytest.raises(DataError, match="unpacked, the archive is"):
        load_dataset(_data(npz, max_file_mb=1), 0)


def test_rows_times_features_are_capped(tmp_path):
    csv = tmp_path / "wide.csv"
    csv.write_text("a,b,c,y\n" + "1,2,3,0\n2,3,4,1\n" * 100)
    with pytest.raises(DataError) as error:
        load_dataset(_data(csv, max_values=300), 0)
    assert "101 rows x 3 features = 303 values, more than data.max_values = 300" in str(error.value)
    assert error.value.items[0].path == "data.max_values"
    with pytest.raises(SpecError, match="n_samples x n_features"):
        validate_spec(
            {"data": {"source": "synthetic:blobs", "n_samples": 5_000_000, "n_features": 10_000}}
        )


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_only_regular_files_are_read_as_data(tmp_path, kind):
    if kind == "device":
        path = Path("/dev/zero")
        expected = "is a character device, not a file"
    elif kind == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)  # reading it would wait for a writer forever
        expected = "is a FIFO (named pipe), not a file"
    else:
        path = tmp_path / "folder.csv"
        path.mkdir()
        expected = "is a directory"
    spec = _data(path, format="csv")
    with pytest.raises(DataError) as error:
        load_dataset(spec, 0)
    assert error.value.lines()[0] == (
        f"{path}: data.source: {expected}; data is read only from regular files"
    )


def test_targets_and_features_beyond_float32_name_their_column(tmp_path):
    target = tmp_path / "price.csv"
    target.write_text(
        "x,price\n" + "".join(f"{i},{1e39 if i == 5 else i * 1.5}\n" for i in range(40))
    )
    with pytest.raises(DataError) as error:
        load_dataset(_data(target, task="regression"), 0)
    assert "the target column 'price' holds 1e+39, beyond what float32 holds" in str(error.value)
    assert error.value.items[0].path == "data.target"
    feature = tmp_path / "size.csv"
    feature.write_text(
        "size,y\n" + "".join(f"{1e40 if i == 7 else i},{i % 2}\n" for i in range(40))
    )
    with pytest.raises(DataError, match="feature 'size' holds 1e\\+40"):
        load_dataset(_data(feature), 0)


# --------------------------------------------------------------------------- data errors (11)


def test_data_file_errors_exit_2_before_tensorflow(tmp_path):
    preset = _preset(tmp_path, '[data]\nsource = "file:missing.csv"\n')
    rc, loaded, err = _no_tensorflow(["run", str(preset), "--runs", str(tmp_path / "runs")])
    assert rc == 2 and not loaded
    assert err.strip().splitlines() == [
        f"nnexplorer: error: {tmp_path / 'missing.csv'}: data.source: file not found "
        "(check the path; a relative path is taken from the preset's folder)"
    ]
    assert not (tmp_path / "runs").exists()


def test_bad_data_found_while_loading_fails_the_run_with_exit_2_before_tensorflow(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,x1\noops,1\n" + "3,1\n" * 20)
    preset = _preset(tmp_path, '[data]\nsource = "file:d.csv"\n')
    rc, loaded, err = _no_tensorflow(["run", str(preset), "--runs", str(tmp_path / "runs")])
    assert rc == 2 and not loaded
    line = next(x for x in err.splitlines() if x.startswith("nnexplorer: error:"))
    assert line.startswith(f"nnexplorer: error: {tmp_path / 'd.csv'}: data.source: feature")
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "not numeric" in summary["message"]


def test_validate_checks_that_the_data_file_can_be_read(tmp_path, capsys):
    missing = _preset(tmp_path, '[data]\nsource = "file:nowhere.csv"\n', "missing.toml")
    (tmp_path / "ok.csv").write_text("a,y\n1,0\n")
    fine = _preset(tmp_path, '[data]\nsource = "file:ok.csv"\n', "fine.toml")
    assert cli.main(["validate", str(missing), str(fine)]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == (
        f"nnexplorer: error: {tmp_path / 'nowhere.csv'}: data.source: file not found "
        "(check the path; a relative path is taken from the preset's folder)"
    )
    assert out.strip() == f"ok: {fine}"


# --------------------------------------------------------------------------- output.units (13)


def test_output_units_that_do_not_match_the_classes_are_refused(tmp_path, capsys):
    preset = _preset(tmp_path, '[data]\nsource = "sklearn:iris"\n[output]\nunits = 5\n')
    assert cli.main(["validate", str(preset)]) == 2
    assert _errors(capsys) == [
        f"nnexplorer: error: {preset}: output.units: got 5; the data (sklearn:iris) has 3 "
        "classes, so the output layer has 3 units (leave output.units out (it follows "
        "from the task) or set 3)"
    ]
    assert cli.main(["run", str(preset), "--runs", str(tmp_path / "runs")]) == 2
    assert "output.units: got 5" in _errors(capsys)[0]
    assert not (tmp_path / "runs").exists()
    right = _preset(tmp_path, '[data]\nsource = "sklearn:iris"\n[output]\nunits = 3\n', "r.toml")
    assert cli.main(["validate", str(right)]) == 0


def test_output_units_of_a_file_source_are_checked_once_the_data_is_loaded(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    preset = _preset(tmp_path, '[data]\nsource = "file:d.csv"\n[output]\nunits = 7\n')
    rc, loaded, err = _no_tensorflow(["run", str(preset), "--runs", str(tmp_path / "runs")])
    assert rc == 2 and not loaded
    assert "output.units: got 7; the data (file:" in err and "has 3 classes" in err


# --------------------------------------------------------------------------- huge grids (7)

HUGE_GRID = """\
[data]
source = "sklearn:iris"
[[layers]]
units = 4
[grid]
cv = 3
n_jobs = 2
[grid.params]
units = [{units}]
learning_rate = [{rates}]
batch_size = [{batches}]
"""


def test_a_huge_grid_is_counted_first_and_refused_with_an_estimate(tmp_path, capsys, monkeypatch):
    text = HUGE_GRID.format(
        units=", ".join(str(i) for i in range(1, 101)),
        rates=", ".join(f"{(i + 1) * 1e-4:g}" for i in range(100)),
        batches=", ".join(str(i) for i in range(1, 101)),
    )
    preset = _preset(tmp_path, text)
    assert cli.main(["run", str(preset), "--grid", "--runs", str(tmp_path / "runs")]) == 2
    (line,) = _errors(capsys)
    assert line.startswith(
        f"nnexplorer: error: {preset}: grid.params: 1,000,000 candidates x 3 folds = "
        "3,000,000 fits, more than 10,000; at about"
    )
    assert "on 2 processes that is at least" in line
    assert 'try search = "random" (with n_iter) or search = "halving"' in line
    assert "--yes" in line
    assert not (tmp_path / "runs").exists()
    spec = load_preset(preset)
    preflight.before_run(spec, grid=True, yes=True)  # --yes: counted, not refused
    assert spec.grid is not None
    random = spec.model_copy(
        update={"grid": spec.grid.model_copy(update={"search": "random", "n_iter": 20})}
    )
    assert limits.count_fits(random.grid) == 60
    from sklearn.model_selection import ParameterGrid

    from nnexplorer.core.search._space import build_space

    def listed(self):
        raise AssertionError("the whole grid was listed to draw 20 candidates")

    monkeypatch.setattr(ParameterGrid, "__iter__", listed)
    space = build_space(random, 0)  # random search draws 20 without listing a million
    assert space.n_candidates == 20 and space.grid_size == 1_000_000


def test_halving_counts_its_rounds():
    grid = validate_spec(
        {
            "layers": [{"units": 4}],
            "grid": {
                "search": "halving",
                "factor": 3,
                "cv": 2,
                "params": {"units": list(range(1, 28))},
            },
        }
    ).grid
    assert grid is not None and limits.count_fits(grid) == (27 + 9 + 3 + 1) * 2


# --------------------------------------------------------------------------- bounded (8)


def test_error_messages_quote_only_an_excerpt_of_a_huge_value():
    huge = "x" * 10_000_000
    with pytest.raises(SpecError) as error:
        validate_spec({"experiment": {"name": huge}, "compile": {"optimizer": huge}})
    text = str(error.value)
    assert len(text) < 1500
    assert "(10,000,000 characters)" in text
    assert excerpt(10**5000) == "an integer of 5001 digits"
    assert len(describe_error(RuntimeError("y" * 1_000_000))) <= 400


def test_hidden_count_and_grid_lists_are_checked_before_expanding(tmp_path, capsys):
    # expanding first would copy a layer a billion times: the test would not end
    assert cli.main(["validate", "digits", "--set", "hidden.count=1000000000"]) == 2
    assert _errors(capsys) == [
        "nnexplorer: error: --set hidden.count=1000000000: hidden.count: got 1000000000; "
        "at most 200 layers"
    ]
    values = ", ".join(str(i % 500 + 1) for i in range(20_000))
    preset = _preset(
        tmp_path,
        "[[layers]]\nunits = 4\n[grid.params]\n"
        f'"hidden.count" = [1000000000]\nunits = [{values}]\n',
    )
    assert cli.main(["validate", str(preset)]) == 2
    lines = _errors(capsys)
    assert any("hidden.count: got 1000000000; at most 200 layers" in line for line in lines)
    assert any(
        "'units' lists 20,000 values; a grid key takes at most 10,000" in line for line in lines
    )


# --------------------------------------------------------------------------- odd files (10)


def test_big_integers_odd_preset_paths_and_a_bom(tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_text("[fit]\nbatch_size = 16\nepochs = " + "9" * 5000 + "\n")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf[fit]\nepochs = 2\n")
    assert cli.main(["validate", str(big)]) == 2
    assert _errors(capsys) == [
        f"nnexplorer: error: {big}: line 3 ('epochs'): an integer of 5000 digits; "
        "numbers are at most 4300 digits long"
    ]
    for path, what in ((folder, "is a directory"), (fifo, "is a FIFO (named pipe), not a file")):
        assert cli.main(["validate", str(path)]) == 2
        assert _errors(capsys) == [f"nnexplorer: error: {path}: {what}; a preset is a TOML file"]
    assert cli.main(["validate", "/dev/null"]) == 2
    assert "is a character device" in _errors(capsys)[0]
    assert cli.main(["validate", str(bom)]) == 0  # a byte-order mark is dropped, not an error
    assert load_preset(bom).fit.epochs == 2
    assert spec_from_toml("\ufeff[fit]\nepochs = 3\n").fit.epochs == 3
    huge = "9" * 5000
    assert cli.main(["validate", "digits", "--set", f"fit.epochs={huge}"]) == 2
    assert "an integer of 5000 digits" in _errors(capsys)[0]
    with pytest.raises(SpecError) as error:
        validate_spec({"layers": [{"units": 10**5000}]})
    assert str(error.value) == (
        "layers[0].units: got an integer of 5001 digits; must be less than or equal to 65536"
    )


# --------------------------------------------------------------------------- smaller (13)


def test_set_errors_name_the_set_not_the_file(tiny_file, capsys):
    assert (
        cli.main(["validate", str(tiny_file), "--set", "fit.epochs=0", "--set", "layers.0.units=8"])
        == 2
    )
    assert _errors(capsys) == [
        "nnexplorer: error: --set fit.epochs=0: fit.epochs: got 0; "
        "must be greater than or equal to 1"
    ]
    assert cli.main(["validate", str(tiny_file), "--set", "hidden.activation=rellu"]) == 2
    (line,) = _errors(capsys)
    assert line.startswith(
        "nnexplorer: error: --set hidden.activation=rellu: layers[0].activation:"
    )
    assert cli.main(["validate", str(tiny_file), "--set", "layers.5.units=3"]) == 2
    assert _errors(capsys) == [
        "nnexplorer: error: --set layers.5.units=3: layers.5.units: no item '5' (there are 1)"
    ]


@pytest.fixture
def tiny_file(tmp_path) -> Path:
    return _preset(
        tmp_path, '[data]\nsource = "sklearn:iris"\n[[layers]]\nunits = 4\n[fit]\nepochs = 2\n'
    )


def test_a_file_problem_stays_the_files_with_a_set(tmp_path, capsys):
    preset = _preset(tmp_path, "[fit]\nepochs = 0\n")
    assert cli.main(["validate", str(preset), "--set", "fit.batch_size=0"]) == 2
    assert sorted(_errors(capsys)) == [
        "nnexplorer: error: --set fit.batch_size=0: fit.batch_size: got 0; "
        "must be greater than or equal to 1",
        f"nnexplorer: error: {preset}: fit.epochs: got 0; must be greater than or equal to 1",
    ]


def test_an_empty_grid_names_the_file_and_the_key(tiny_file, capsys):
    assert cli.main(["run", str(tiny_file), "--grid"]) == 2
    assert _errors(capsys) == [
        f"nnexplorer: error: {tiny_file}: grid.params: the preset has no [grid.params] to "
        "search (add some, or drop --grid)"
    ]


def test_export_to_a_folder_a_missing_folder_or_a_file(tiny_file, tmp_path, capsys):
    assert cli.main(["export", str(tiny_file), "-o", str(tmp_path)]) == 2
    assert _errors(capsys) == [
        f"nnexplorer: error: {tmp_path}: is a folder; give a file name, "
        f"e.g. {tmp_path / 'train.py'}"
    ]
    assert cli.main(["export", str(tiny_file), "-o", str(tmp_path / "no" / "x.py")]) == 2
    assert _errors(capsys) == [
        f"nnexplorer: error: {tmp_path / 'no' / 'x.py'}: the folder {tmp_path / 'no'} "
        "does not exist"
    ]
    target = tmp_path / "train.py"
    target.write_text("# an older script\n")
    assert cli.main(["export", str(tiny_file), "-o", str(target)]) == 0
    assert "import keras" in target.read_text() and oct(target.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_to_a_read_only_target_is_one_line(tiny_file, tmp_path, capsys, monkeypatch):
    import errno

    from nnexplorer.core import files

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    target = tmp_path / "train.py"
    assert cli.main(["export", str(tiny_file), "-o", str(target)]) == 2
    assert _errors(capsys) == [
        f"nnexplorer: error: {tmp_path} is on a read-only file system (writing train.py)"
    ]
    assert not target.exists()
