"""Set before any module of this package can load TensorFlow: its C++ start-up logs (CUDA probes,
CPU features) would bury the scripts' own output. A value the user set wins."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
