"""What training writes into the BentoML model store and serving reads back.

This module is the only code that `training` and `service` share: the model's name, the files
inside a stored model, the metadata keys, and the input format. Change it in one place and both
sides follow.
"""

from pathlib import Path

MODEL_NAME = "mnist_classifier"
MODEL_TAG_ENV = "MNIST_MODEL_TAG"  # environment variable that picks another stored version
DEFAULT_MODEL_TAG = f"{MODEL_NAME}:latest"
# The BentoML model label that marks the version to serve when no tag is given (python -m training.promote).
STAGE_LABEL = "stage"
PROMOTED_STAGE = "production"

SAVED_MODEL_DIR = "saved_model"  # exported TF SavedModel: the serving path on GPUs
OPENVINO_DIR = "openvino"  # the SavedModel converted to OpenVINO IR at training time: the CPU serving path
OPENVINO_MODEL_FILE = "model.xml"  # the IR's graph; its weights are model.bin beside it
# Fixed test images (uint8, N x 28 x 28, a plain .npy): reduced precision serves only if it answers
# them as full precision does, within REDUCED_PRECISION_TOLERANCE on every probability.
CHECK_BATCH_FILE = "check_batch.npy"
CHECK_BATCH_IMAGES = 256
REDUCED_PRECISION_TOLERANCE = 0.03  # bf16 moved no probability by more than 0.014 on the 10,000 test images
SERVING_ENDPOINT = "serve"  # name of the SavedModel function that maps pixels to probabilities
KERAS_FILE = "model.keras"  # the full Keras model, for further training or inspection
REPORT_DIR = "report"  # plots and summary of the training run

IMAGE_SIDE = 28
INPUT_SHAPE = (IMAGE_SIDE, IMAGE_SIDE)  # one image: raw pixels, 0 = background, 255 = ink
INPUT_DTYPE = "float32"  # the serving function takes raw 0-255 pixels as float32
PIXEL_MAX = 255
NUM_CLASSES = 10

# Metadata keys written by training and read by the service's model-information endpoint.
META_ARCHITECTURE = "architecture"
META_TEST_ACCURACY = "test_accuracy"
META_TEST_LOSS = "test_loss"
META_PER_CLASS_ACCURACY = "per_class_accuracy"
META_PARAMETERS = "parameters"
META_TRAINABLE_PARAMETERS = "trainable_parameters"
META_NORMALISATION = "normalisation"  # {"mean": ..., "std": ...} of the training pixels
META_TRAINING_OPTIONS = "training_options"
META_TRAINING_SECONDS = "training_seconds"
META_TRAINING_PRECISION = "training_precision"  # the dtype policy of the training steps
META_DATA_SHA256 = "data_sha256"
META_LIBRARY_VERSIONS = "library_versions"
META_INPUT_FORMAT = "input_format"
# {"temperature", "unsure_below", "held_out_images", "test_ece_before", "test_ece_after",
#  "test_digits_flagged", "non_digits_flagged"}: written when the recipe held images out.
META_CALIBRATION = "calibration"
META_UNSURE_BELOW = "unsure_below"  # answers less confident than this are flagged as not sure
# For models stored without a calibration (the tutorial's recipes, older versions): flag an answer
# when no digit has even half the probability.
UNCALIBRATED_UNSURE_BELOW = 0.5


def openvino_model_file(model_path: Path) -> Path:
    """Where a stored model's OpenVINO IR lies, for the training that writes it and the serving
    and benchmarks that read it."""
    return model_path / OPENVINO_DIR / OPENVINO_MODEL_FILE


def unsure_below(metadata: dict) -> float:
    """The confidence below which this stored model's answers are flagged as not sure."""
    return float(metadata.get(META_UNSURE_BELOW, UNCALIBRATED_UNSURE_BELOW))
