"""The container image a Bento of this service builds: Debian's python:3.11-slim base and the
serving packages of requirements/serving.txt (OpenVINO, the CPU runtime, among them); the GPU
image adds `tensorflow[and-cuda]`, in the version range requirements/training.txt gives.

pyproject.toml reads the same two files for the development install, so every pin has one source.
The default image runs on CPU with OpenVINO, or on a GPU with TensorFlow under
`docker run --gpus all`; `MNIST_IMAGE=cpu bentoml build` makes the CPU-only image, which carries
no TensorFlow at all (service/model_runtime.py imports a runtime only when it serves). The
requirements files travel in the Bento (bentofile.yaml includes them), because BentoML reads this
module again when the image serves.
"""

from __future__ import annotations

import os
from pathlib import Path

import bentoml
from packaging.requirements import Requirement

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements"
PYTHON_VERSION = "3.11"
BASE_IMAGE = f"python:{PYTHON_VERSION}-slim"
WHEELS_ONLY = "debian-wheels-only"  # not one of BentoML's distros: see service_image
VARIANT_ENV = "MNIST_IMAGE"
TENSORFLOW_FOR = {"gpu": ["tensorflow[and-cuda]"], "cpu": []}  # image variant -> its TensorFlow, if any


def tensorflow_range() -> str:
    """The version range of TensorFlow that training uses, e.g. '>=2.21,<2.22'."""
    lines = (REQUIREMENTS / "training.txt").read_text().splitlines()
    for requirement in (Requirement(line) for line in lines if line.strip() and not line.startswith("#")):
        if requirement.name == "tensorflow":
            return str(requirement.specifier)
    raise ValueError(f"no tensorflow line in {REQUIREMENTS / 'training.txt'}")


def service_image() -> bentoml.images.Image:
    variant = os.environ.get(VARIANT_ENV, "gpu")
    if variant not in TENSORFLOW_FOR:
        raise ValueError(f"{VARIANT_ENV}={variant!r}: choose one of {', '.join(TENSORFLOW_FOR)}")
    # For a `distro` it knows, BentoML starts the image with an apt-get of build-essential and git
    # (about 600 MB, for packages built from source), and adds it again whenever it copies the
    # image definition. Every package here installs from a wheel: the image names Debian's
    # python:3.11-slim itself, and no distro.
    image = bentoml.images.Image(base_image=BASE_IMAGE, distro=WHEELS_ONLY, python_version=PYTHON_VERSION)
    image = image.requirements_file(os.path.relpath(REQUIREMENTS / "serving.txt"))  # BentoML refuses absolute paths
    tensorflow = [package + tensorflow_range() for package in TENSORFLOW_FOR[variant]]
    return image.python_packages(*tensorflow) if tensorflow else image  # BentoML refuses an empty list
