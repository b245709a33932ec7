"""The service's settings: every one documented where operators look."""

from __future__ import annotations

from local_servers import PROJECT_ROOT
from service.settings import ServiceSettings

README = PROJECT_ROOT / "README.md"


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    readme = README.read_text()
    missing = [name for name in ServiceSettings.model_fields if f"`MNIST_{name.upper()}`" not in readme]
    assert not missing, f"settings missing from the README's Configuration table: {missing}"
