"""Each peer framework in its own virtual environment under .peers/ (gitignored), with pinned
versions: the framework, and the OpenVINO and NumPy our own environment runs, so that every
peer serves with the same runtime build as ours.

Installed on first use from the package index, and again only when the pins change.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local_servers import PROJECT_ROOT

ENVIRONMENTS = PROJECT_ROOT / ".peers"
SHARED_RUNTIME = ("openvino", "numpy")  # pinned to the versions installed here


@dataclass(frozen=True)
class PeerEnvironment:
    folder: str  # under .peers/
    packages: tuple[str, ...]  # the framework, pinned

    @property
    def python(self) -> Path:
        return ENVIRONMENTS / self.folder / "bin" / "python"

    def pins(self) -> list[str]:
        ours = [f"{name}=={importlib.metadata.version(name)}" for name in SHARED_RUNTIME]
        return [*self.packages, *ours]

    def ensure(self) -> Path:
        """The environment's Python, created and installed first where the pins are not met."""
        marker = ENVIRONMENTS / self.folder / "pins.txt"
        wanted = "\n".join(self.pins()) + "\n"
        if marker.exists() and marker.read_text() == wanted:
            return self.python
        print(f"installing {', '.join(self.pins())} into {ENVIRONMENTS / self.folder}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ENVIRONMENTS / self.folder)], check=True)
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", *self.pins()], check=True)
        marker.write_text(wanted)
        return self.python
