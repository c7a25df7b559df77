"""The students' environment, without a kernel: the assignment's `packages`, the import policy and
`pip install` of the kernel (grader.inside.environment), the data set's file names served
(grader.inside.datafiles), the pre-check's import findings, and the messages and report lines they
give. The figures are in tests/run/test_figures.py; that grader/inside imports only what the sandbox
allows, in tests/test_architecture.py."""

from __future__ import annotations

import ast
import struct
import subprocess
import sys
import types
import zlib
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.assignment import DEFAULT_PACKAGES, list_assignments, parse_assignment
from grader.errors import ConfigError
from grader.inside import datafiles, environment
from grader.models import Evaluation, ExecutionInfo, Recording
from grader.rules.checks import Measured, execution_message, run_checks
from grader.rules.precheck import localise, precheck
from grader.run.execute import RunSpec, build_notebook, kernel_env
from tests.support.repository import BASE

PACKAGES = ("tensorflow", "keras", "numpy", "matplotlib")


# ---------------------------------------------------------------------------------------------
# packages: the assignment file


def load(text: str):
    import tomllib

    return parse_assignment(tomllib.loads(text), Path("/x/demo/assignment.toml"))


def test_shipped_assignments_declare_the_course_packages():
    assignments = list_assignments()
    assert assignments and all(a.packages == PACKAGES for a in assignments)
    assert DEFAULT_PACKAGES == PACKAGES
    assert load(BASE).packages == PACKAGES  # no field: the course's environment


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"numpy"', "must be a list of module names"),
        ('["tensorflow", 3]', "must be a list of module names"),
        ('["tensorflow", "scikit-learn"]', "'scikit-learn' is not a top-level module name"),
        ('["tensorflow", "tensorflow.keras"]', "is not a top-level module name"),
        ('["tensorflow", "os"]', "'os' is part of Python's standard library"),
        ('["tensorflow", "numpy", "numpy"]', "'numpy' is listed twice"),
        ('["numpy", "matplotlib"]', "must include 'tensorflow' or 'keras'"),
    ],
)
def test_a_bad_packages_field_is_named(value, problem):
    with pytest.raises(ConfigError, match="packages") as caught:
        load(BASE.replace('dataset = "mnist"', f'dataset = "mnist"\npackages = {value}'))
    assert problem in str(caught.value)


def test_packages_are_read_as_given():
    a = load(BASE.replace('dataset = "mnist"', 'dataset = "mnist"\npackages = ["keras", "numpy", "sklearn"]'))
    assert a.packages == ("keras", "numpy", "sklearn")


def test_the_run_gives_the_kernel_its_packages_and_an_inline_backend(tmp_path):
    spec = RunSpec(workdir=tmp_path / "w", rundir=tmp_path / "r", mnist_path=tmp_path / "mnist.npz", timeout_s=10, packages=PACKAGES)
    setup = build_notebook(nbformat.v4.new_notebook(), spec).cells[0].source
    assert "'packages': ['tensorflow', 'keras', 'numpy', 'matplotlib']" in setup
    assert "'packages': None" in build_notebook(nbformat.v4.new_notebook(), replace(spec, packages=None)).cells[0].source
    env = kernel_env(spec)
    assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline" and env["MPLCONFIGDIR"] == str(tmp_path / "r" / "matplotlib")


# ---------------------------------------------------------------------------------------------
# the import policy and pip, in the kernel


def run_cell(source: str, packages=PACKAGES) -> dict:
    """`source` rewritten as the kernel rewrites a cell, then run; its namespace."""
    tree = environment.RefuseUnprovided(packages).visit(ast.parse(source))
    namespace: dict = {}
    exec(compile(ast.fix_missing_locations(tree), "<cell>", "exec"), namespace)
    return namespace


def test_an_unprovided_import_raises_at_its_own_line():
    with pytest.raises(ModuleNotFoundError, match="No module named 'seaborn'") as caught:
        run_cell("import os\nx = 1\nimport seaborn as sns\n")
    assert caught.value.name == "seaborn"
    assert caught.traceback[-1].lineno + 1 == 3  # pytest's line numbers count from 0
    with pytest.raises(ModuleNotFoundError, match="No module named 'google.colab'"):
        run_cell("from google.colab import drive")
    with pytest.raises(ModuleNotFoundError, match="'pandas'"):
        run_cell("def f():\n    import pandas\nf()")


def test_provided_imports_and_guarded_ones_run():
    namespace = run_cell(
        "import os, json\nfrom collections import OrderedDict\nimport numpy as np\nfrom IPython.display import display\n"
        "try:\n    import seaborn\nexcept ImportError:\n    seaborn = None\n",
        packages=("numpy",),
    )
    assert namespace["seaborn"] is None and namespace["np"].__name__ == "numpy"
    assert environment.provided("grader.inside.setup", ()) and environment.provided("tensorflow.keras", PACKAGES)
    assert not environment.provided("pandas", PACKAGES)


@pytest.mark.parametrize(
    ("command", "offline"),
    [
        ("pip install -q tensorflow", True),
        ("pip3 install seaborn==0.13", True),
        ("sudo pip install x", True),
        ("/usr/bin/python3.11 -m pip install -U x", True),
        ('"/opt/venv/bin/python" -m pip install x', True),
        ("pip --quiet install x", True),
        ("pip list", False),
        ("ls -la", False),
        ("echo pip install x", False),
    ],
)
def test_pip_install_is_answered_offline(monkeypatch, capsys, command, offline):
    ran: list[str] = []
    shell = types.SimpleNamespace(ast_transformers=[], user_ns={}, system=ran.append)
    monkeypatch.setattr(environment, "_shell", lambda: shell)
    environment.install(PACKAGES)
    assert isinstance(shell.ast_transformers[0], environment.RefuseUnprovided)
    shell.system(command)
    assert ran == ([] if offline else [command])
    printed = capsys.readouterr().out
    assert ("skipped, grading is offline; this exercise provides tensorflow, keras, numpy, matplotlib" in printed) == offline


# ---------------------------------------------------------------------------------------------
# the data set's file names


@pytest.fixture
def kernel_store(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    store = tmp_path / "data" / "mnist.npz"
    store.parent.mkdir()
    np.savez(store, x_train=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 50, dtype=np.uint8),
             x_test=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 20, dtype=np.uint8))  # fmt: skip
    return store


def test_only_the_data_sets_names_are_served(kernel_store):
    files = datafiles.DataFiles(str(kernel_store), "mnist", [])
    assert files.served("../datasets/mnist.npz") == str(kernel_store) == files.served(Path("/content/drive/mnist.npz"))
    assert files.served(b"x/mnist.npz") == str(kernel_store)
    for other in ("mnist.npz.bak", "fashion_mnist.npz", "data.npz", "mnist", 3, None):
        assert files.served(other) is None
    assert datafiles.DataFiles(str(kernel_store), "fashion_mnist", []).served("fashion-mnist.npz") == str(kernel_store)
    idx = (("train-images-idx3-ubyte.gz", "x_train", 0x803), ("t10k-labels-idx1-ubyte", "y_test", 0x801), ("train-images.idx3-ubyte", "x_train", 0x803))
    for name, key, magic in idx:
        served = files.served(f"somewhere/{name}")
        raw = Path(served).read_bytes()
        raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS) if name.endswith(".gz") else raw
        with np.load(kernel_store) as data:
            array = data[key]
        header = struct.unpack(f">{1 + array.ndim}I", raw[: 4 * (1 + array.ndim)])
        assert header == (magic, *array.shape)
        assert raw[4 * (1 + array.ndim) :] == array.tobytes()


PROBE = """
import gzip, io, os, sys
import numpy as np
from grader.inside import datafiles
noted = []
datafiles.install(datafiles.DataFiles(sys.argv[1], "mnist", noted, lambda: noted.append("loaded")), keras=False)
with np.load("../datasets/mnist.npz") as f:
    assert f["x_test"].shape == (20, 28, 28)
assert os.path.exists("/content/mnist.npz") and os.path.isfile("nowhere/train-labels-idx1-ubyte.gz")
with gzip.open("data/train-labels-idx1-ubyte.gz") as f:
    assert len(f.read()) == 8 + 50
with io.open("nowhere/t10k-images-idx3-ubyte", "rb") as f:
    assert len(f.read()) == 16 + 20 * 784
for path, mode in (("../datasets/other.npz", "rb"), ("no_folder/mnist.npz", "wb"), ("no_folder/mnist.npz", "r+b")):
    try:
        open(path, mode)
    except FileNotFoundError as exc:
        assert exc.filename == path
    else:
        raise AssertionError(path)
assert not os.path.exists("../datasets/other.npz")
print(noted)
"""


def test_a_missing_data_set_file_is_the_kernels_copy_any_other_a_file_not_found(kernel_store, tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(kernel_store)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    noted = ast.literal_eval(out.stdout.strip())
    assert noted[0] == "../datasets/mnist.npz" and "loaded" in noted
    assert "data/train-labels-idx1-ubyte.gz" in noted and "nowhere/t10k-images-idx3-ubyte" in noted
    assert "/content/mnist.npz" not in noted  # os.path.exists only answers; it is not a load


# ---------------------------------------------------------------------------------------------
# what the student reads


def test_the_precheck_names_an_unprovided_module(callback_assignment):
    sources = [
        "%matplotlib inline\nimport numpy as np\n!pip install seaborn\nimport seaborn as sns",
        "try:\n    import pandas\nexcept ImportError:\n    pass\nfrom IPython.display import Image",
    ]
    found = [localise(f, "en") for f in precheck(sources, callback_assignment)]
    assert [(f.check, f.certain, f.cell, f.line, f.values["module"]) for f in found] == [
        ("execution", True, 1, 4, "seaborn"), ("execution", False, 2, 2, "pandas"),
    ]
    assert found[0].message == ("The code imports seaborn, which this exercise does not provide; "
                                "it provides tensorflow, keras, numpy, matplotlib and Python's standard library. (cell 1, line 4)")
    assert "seaborn" in localise(precheck(sources, callback_assignment)[0], "zh").message


def test_a_missing_module_is_named_with_what_the_exercise_provides(callback_assignment):
    info = ExecutionInfo(status="error", cell=2, line=3, exception="ModuleNotFoundError: No module named 'seaborn'")
    assert execution_message(info, callback_assignment, "en") == (
        "Your code imports seaborn (cell 2, line 3), which this exercise does not provide; "
        "it provides tensorflow, keras, numpy, matplotlib and Python's standard library."
    )
    zh = execution_message(info, callback_assignment, "zh")
    assert "seaborn（第 2 个单元格，第 3 行）" in zh and "tensorflow, keras, numpy, matplotlib" in zh
    checks = run_checks(Measured(callback_assignment, Recording(), Evaluation(), info, lang="en"))
    execution = next(c for c in checks if c.id == "execution")
    assert not execution.passed and "Remove the import of seaborn" in execution.hint
    lacking = replace(info, exception="ModuleNotFoundError: No module named 'matplotlib.pyplot'")  # listed, but not installed
    assert execution_message(lacking, callback_assignment, "en") == (
        "Your code imports matplotlib.pyplot (cell 2, line 3), which this exercise provides but the grading machine does not have: "
        "this is not your fault, tell your instructor."
    )
    hint = next(c for c in run_checks(Measured(callback_assignment, Recording(), Evaluation(), lacking, lang="en")) if c.id == "execution").hint
    assert hint.startswith("Nothing in your code to change for it: the grading machine needs matplotlib.pyplot installed")
    other = replace(info, exception="ModuleNotFoundError: No module named 'x'; 'y' is not a package and more")
    assert execution_message(other, callback_assignment, "en").startswith("Your code imports x ")
    assert "raised an exception" in execution_message(replace(info, exception="ImportError: cannot import name 'z'"), callback_assignment, "en")


def test_the_record_keeps_a_bounded_list_of_data_files():
    from grader.run.record import RecordError, parse_recording

    assert parse_recording({"data_files": ["../d/mnist.npz", "x" * 1000]}).data_files == ("../d/mnist.npz", "x" * 300)
    for bad in ({"data_files": "mnist.npz"}, {"data_files": ["a"] * 21}, {"data_files": [["nested"]]}):
        with pytest.raises(RecordError):
            parse_recording(bad)


