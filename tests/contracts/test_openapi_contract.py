"""openapi.yaml as a partner meets it: a maintained validator accepts it, and a third-party
generator (openapi-python-client) builds a client from it without a warning, whose calls work
against the app."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from contracts.enums import Role
from tests.conftest import MakeUser

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi.yaml"
PACKAGE = "pcc_grants_generated_client"

# The generator's configuration, and why each line is there:
GENERATOR_CONFIG = {
    # The documents (PDF) and the IATI file (XML) are binary downloads: the generator knows only
    # application/octet-stream as such and would otherwise drop those responses with a warning.
    "content_type_overrides": {
        "application/pdf": "application/octet-stream",
        "application/xml": "application/octet-stream",
    },
    # No formatting of the generated code (ruff): nothing to check there, and seconds saved.
    "post_hooks": [],
}


def test_the_contract_validates() -> None:
    spec, base_uri = read_from_filename(str(CONTRACT))
    validate(spec, base_uri=base_uri)  # raises OpenAPIValidationError on the first error


def test_the_validator_refuses_a_broken_contract() -> None:
    """The check above can fail: a parameter `in: body` (OpenAPI 2, not 3) is refused."""
    spec, base_uri = read_from_filename(str(CONTRACT))
    spec["paths"]["/api/v1/users/me"]["get"]["parameters"] = [{"name": "x", "in": "body"}]
    with pytest.raises(OpenAPIValidationError):
        validate(spec, base_uri=base_uri)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client openapi-python-client generates from openapi.yaml, imported."""
    work = tmp_path_factory.mktemp("generated")
    config = work / "config.yaml"
    config.write_text(yaml.safe_dump(GENERATOR_CONFIG), encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(  # noqa: S603 (fixed arguments: the venv's generator, our files)
        [
            str(generator),
            "generate",
            "--path",
            str(CONTRACT),
            "--output-path",
            str(work / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_the_generated_client_has_every_operation(generated: ModuleType) -> None:
    doc = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    api = Path(generated.__file__ or "").parent / "api"
    modules = {p.stem for p in api.glob("*/*.py") if p.stem != "__init__"}
    snake = {
        "".join(f"_{c.lower()}" if c.isupper() else c for c in op["operationId"]).lstrip("_")
        for item in doc["paths"].values()
        for op in item.values()
    }
    assert sorted(snake - modules) == []


async def test_a_generated_call_reads_the_app(
    generated: ModuleType, app: Any, make_user: MakeUser
) -> None:
    officer = await make_user(Role.PROGRAMME_OFFICER)
    get_me = importlib.import_module(f"{PACKAGE}.api.identity.get_me")
    client = generated.AuthenticatedClient(base_url="http://test", token=officer.token)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {officer.token}"},
    ) as http:
        client.set_async_httpx_client(http)
        response = await get_me.asyncio_detailed(client=client)
    assert response.status_code == 200, response.content
    me = response.parsed
    assert type(me).__module__.startswith(f"{PACKAGE}.models")
    assert str(me.id) == str(officer.id)
    assert me.email == officer.user.email
    # the model round-trips through the generated (de)serialisers
    assert type(me).from_dict(me.to_dict()).to_dict() == me.to_dict()
