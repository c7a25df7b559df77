"""Fixtures shared by the whole suite: assignments, the MNIST store, the sandbox, the `kernel`
marker's guard. Plain helpers are in tests/support/."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.assignment import Assignment, find_assignment
from grader.sandbox.core import Sandbox
from tests.support.gradings import Gradings
from tests.support.kernel_guard import KernelGuard
from tests.support.marks import leaves_out, module_marks


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A module whose `pytestmark` gives all its tests a marker that `-m` leaves out is not even
    imported: the quick loop loads no TensorFlow to collect tests it would not run."""
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        registered = [line.split(":", 1)[0].strip() for line in config.getini("markers")]
        if leaves_out(config.getoption("markexpr"), module_marks(collection_path), registered):
            return True
    return None


@pytest.fixture(scope="session", autouse=True)
def kernel_guard() -> Iterator[KernelGuard]:
    with KernelGuard().installed() as guard:
        yield guard


@pytest.fixture(autouse=True)
def kernels_only_where_marked(request: pytest.FixtureRequest, kernel_guard: KernelGuard) -> Iterator[None]:
    """A test that starts a kernel or the evaluation process, or imports TensorFlow, must be marked
    `kernel` (see tests/support/kernel_guard.py): unmarked, the start is refused and the test fails."""
    marked = request.node.get_closest_marker("kernel") is not None
    had_tensorflow = "tensorflow" in sys.modules
    kernel_guard.allowed = marked
    yield
    refused, kernel_guard.refused, kernel_guard.allowed = kernel_guard.refused, [], True
    if not marked and not had_tensorflow and "tensorflow" in sys.modules:
        refused.append("TensorFlow (imported in this process)")
    if refused:
        pytest.fail(f"this test starts {', '.join(sorted(set(refused)))}: mark it @pytest.mark.kernel", pytrace=False)


@pytest.fixture(scope="session")
def callback_assignment() -> Assignment:
    return find_assignment("mnist-callback")


@pytest.fixture(scope="session")
def conv_assignment() -> Assignment:
    return find_assignment("mnist-conv")


@pytest.fixture(scope="session")
def mnist_store() -> Path:
    """The verified MNIST store (provisioned once, offline sources first)."""
    from grader.data.datasets import ensure_mnist

    return ensure_mnist()


@pytest.fixture(scope="session")
def gradings(tmp_path_factory: pytest.TempPathFactory, mnist_store: Path) -> Gradings:
    """Gradings shared by the session: each reference solution trained once, and a submission graded
    twice with the same settings run once (tests/support/gradings.py)."""
    return Gradings(tmp_path_factory.mktemp("gradings"))


@pytest.fixture
def box(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox under tmp_path, in the mode given by indirect parametrisation (else "auto")."""
    sandbox = Sandbox(tmp_path / "box", mode=getattr(request, "param", "auto"))
    yield sandbox
    sandbox.close()
