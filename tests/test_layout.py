"""The project's layout rules, checked: module sizes, and which modules load TensorFlow.

An HTTP load tool that imports TensorFlow takes seconds to start and a gigabyte of memory on the
machine that is supposed to measure the server, so the load tools must not; each import is
checked in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from local_servers import PROJECT_ROOT

SOURCE_FOLDERS = ("service", "training", "loadtest", "loadtest/peers", "tests")
MAX_MODULE_LINES = 300
MACHINE_LEARNING = ("tensorflow", "keras")


@pytest.mark.parametrize(
    "module",
    [
        "loadtest.run",
        "loadtest.burst",
        "loadtest.locustfile",
        "loadtest.benchmark",
        "loadtest.bench_inprocess",
        "loadtest.latency",
        "loadtest.peers.__main__",
        "results_output",
    ],
)
def test_http_load_tools_import_no_tensorflow(module: str) -> None:
    probe = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(MACHINE_LEARNING)}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]", f"{module} loads {loaded}"


def test_no_module_is_longer_than_the_limit() -> None:
    modules = [
        *PROJECT_ROOT.glob("*.py"),
        *(p for folder in SOURCE_FOLDERS for p in (PROJECT_ROOT / folder).glob("*.py")),
    ]
    too_long = {
        str(p.relative_to(PROJECT_ROOT)): n
        for p in modules
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"split these modules by concern: {too_long}"
