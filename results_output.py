"""Where the project's figures and tables are written: charts as PNG, tables as markdown.

Shared by training and the load tools, and free of TensorFlow, so that an HTTP load test loads
no machine-learning library to write its table. matplotlib is loaded only to draw.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from cpu_info import cpu_model_and_flags

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pyplot():
    """matplotlib's pyplot on the file-only backend: charts are drawn on servers without a screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Figure, path: Path) -> None:
    """Write a figure as a PNG and free it: every plot of the project ends here."""
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot().close(figure)


def write_markdown(lines: list[str], path: Path) -> None:
    """Print a results table and write it where the README's figures come from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines) + f"\n\nwrote {path}")


# /proc/cpuinfo flags that move the model's speed, as result tables name them
SPEED_FEATURES = (("avx512_bf16", "AVX-512 BF16"), ("avx512_vnni", "AVX-512 VNNI"), ("amx_bf16", "AMX"))


def machine_description() -> str:
    """The measuring machine in one phrase, with what decides the CPU runtime's speed: figures from
    machines of the same size still differ when one has AMX and the other only AVX-512 BF16, or
    only the VNNI instructions that speed up INT8."""
    name, flags = cpu_model_and_flags()
    features = [label for flag, label in SPEED_FEATURES if flag in flags]
    return f"{platform.machine()}, {os.cpu_count()} cores of {name}" + (f" ({', '.join(features)})" if features else "")
