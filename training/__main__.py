"""Entry point for `python -m training`."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the way

from training.cli import main  # noqa: E402

sys.exit(main())
