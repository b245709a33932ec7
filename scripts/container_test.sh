#!/usr/bin/env bash
# Container smoke test: a freshly trained model -> Bento -> image -> container -> real requests.
#
#   make container-test          (needs a running docker engine; see the README)
#
# Builds the default image (or MNIST_IMAGE=cpu: the CPU-only one), on the host network only, runs
# the image on a free loopback port as its non-root user, sends a PNG and an array, checks the
# digits, sends SIGTERM under load (no accepted request may be lost), and prints the image size,
# build seconds and seconds from `docker run` to ready.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MNIST_IMAGE=${MNIST_IMAGE:-gpu}  # the image variant (service/container_image.py)
IMAGE=${IMAGE:-mnist-digit-service:smoke}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}

# the classic builder unless told otherwise: engines without buildx (like the stand-in here) lack BuildKit
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
export BENTOML_HOME=$(mktemp -d /tmp/container-test-bentoml.XXXX)
workdir=$(mktemp -d /tmp/container-test.XXXX)
container=""
cleanup() {
  [[ -n "$container" ]] && docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$BENTOML_HOME" "$workdir"
}
trap cleanup EXIT

echo "== training a fresh model (first 5,000 MNIST images, one epoch) into $BENTOML_HOME"
"$PY" -m training --limit 5000 --epochs 1 --batch-size 16 --schedule cosine --learning-rates 5e-3 \
  --warmup-epochs 0.2 --no-augment --seed 0 --verbose 2 --output "$workdir/runs"

echo "== building the Bento and the image (MNIST_IMAGE=$MNIST_IMAGE, --network host)"
build_started=$(date +%s)
bento_tag=$("$PY" -m bentoml build --output tag | tail -n 1 | sed 's/^__tag__://')
"$PY" -m bentoml containerize "$bento_tag" --image-tag "$IMAGE" --opt network=host
build_seconds=$(( $(date +%s) - build_started ))
image_bytes=$(docker image inspect --format '{{.Size}}' "$IMAGE")

port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== running $IMAGE on 127.0.0.1:$port"
run_started=$(date +%s.%N)
container=$(docker run -d --network host -e BENTOML_PORT="$port" -e BENTOML_HOST=127.0.0.1 "$IMAGE")
for _ in $(seq "$READY_TIMEOUT_S"); do
  if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  if [[ "$(docker inspect -f '{{.State.Running}}' "$container")" != "true" ]]; then
    docker logs "$container" | tail -n 30; echo "FAIL: the container exited"; exit 1
  fi
  sleep 1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { docker logs "$container" | tail -n 30; echo "FAIL: not ready"; exit 1; }
ready_seconds=$(python3 -c "import time; print(f'{time.time() - $run_started:.1f}')")

echo "== requests"
"$PY" - "$port" "$workdir" <<'PYTHON'
import io, json, sys, urllib.request
import numpy as np
from PIL import Image
from training.data import load_mnist

port, workdir = sys.argv[1], sys.argv[2]
mnist = load_mnist()
images, labels = mnist.x_test[:2], mnist.y_test[:2]
url = f"http://127.0.0.1:{port}"

def post(route, body, content_type):
    request = urllib.request.Request(url + route, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)

answer = post("/predict", json.dumps({"images": images.tolist()}).encode(), "application/json")
digits = [a["digit"] for a in answer]
print(f"array: predicted {digits}, labels {labels.tolist()}")
assert digits == labels.tolist(), "array digits wrong"

buffer = io.BytesIO(); Image.fromarray(255 - images[0]).resize((112, 112)).save(buffer, format="PNG")
boundary = "smoketestboundary"
body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="digit.png"\r\n'
        f"Content-Type: image/png\r\n\r\n").encode() + buffer.getvalue() + f"\r\n--{boundary}--\r\n".encode()
answer = post("/predict_image", body, f"multipart/form-data; boundary={boundary}")
print(f"PNG (dark on white, 112x112): predicted {answer['digit']}, label {labels[0]}")
assert answer["digit"] == labels[0], "PNG digit wrong"
info = post("/model_info", b"", "application/json")
print(f"model_info: {info['tag']} on {info['device']}, {info['runtime']}, {info['precision']}")
PYTHON

uid=$(docker exec "$container" id -u)
user=$(docker exec "$container" id -un)
echo "process user in the container: $user (uid $uid)"
[[ "$uid" != "0" ]] || { echo "FAIL: the service runs as root"; exit 1; }

echo "== SIGTERM to the container's main process under load (what docker stop and Kubernetes send)"
drain=$("$PY" -m loadtest.drain_check --port "$port" --pid "$(docker inspect -f '{{.State.Pid}}' "$container")") \
  || { echo "$drain"; docker logs "$container" | tail -n 30; echo "FAIL: requests lost on SIGTERM"; exit 1; }
echo "$drain"

if [[ "$MNIST_IMAGE" == cpu && "$image_bytes" -gt 1000000000 ]]; then
  echo "FAIL: the CPU image is $image_bytes bytes; it must stay within 1 GB"; exit 1
fi
printf '\n| measure | value |\n| --- | --- |\n'
printf '| image variant (MNIST_IMAGE) | %s |\n| image size | %.2f GB |\n| build seconds (bento + image) | %s |\n| docker run to /readyz | %s s |\n| user | %s (uid %s) |\n| SIGTERM under load | %s |\n' \
  "$MNIST_IMAGE" "$(python3 -c "print($image_bytes / 1e9)")" "$build_seconds" "$ready_seconds" "$user" "$uid" "${drain#*: }"
echo "PASS: container smoke test"
