"""What this machine's CPU is and which instructions it has, read from /proc/cpuinfo.

One parser for the two places that need it: result tables name the CPU and its bfloat16
instructions (figures from machines of one size differ with them), and training uses bfloat16 only
where those instructions exist. Free of TensorFlow, like results_output.
"""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_model_and_flags(cpuinfo: Path = CPUINFO) -> tuple[str, set[str]]:
    """The CPU's model name and instruction-set flags (the platform's name and none where
    /proc/cpuinfo cannot be read)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        text = cpuinfo.read_text()
    except OSError:
        return name, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            name = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
    return name, flags
