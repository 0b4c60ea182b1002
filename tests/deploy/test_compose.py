"""The team-server compose file and prefect.yaml, checked statically (Docker is not available here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""

    def one(match: re.Match) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op == "-":
            return arg
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return ""

    return _VAR.sub(one, text)


@pytest.fixture(scope="module")
def compose() -> dict:
    raw = (DEPLOY / "compose.yaml").read_text()
    return yaml.safe_load(interpolate(raw, {"POSTGRES_PASSWORD": "test-only"}))


def test_password_is_required_not_written_down():
    raw = (DEPLOY / "compose.yaml").read_text()
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(raw, {})
    assert "change-me" not in raw and (DEPLOY / ".gitignore").read_text().split() == [".env"]


def test_every_published_port_binds_loopback_by_default(compose):
    published = [(name, port) for name, svc in compose["services"].items() for port in svc.get("ports", [])]
    assert {name for name, _ in published} == {"prefect-server", "mlflow"}
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port!r}"
    assert "ports" not in compose["services"]["postgres"], "PostgreSQL stays on the compose network"


def test_bind_host_is_configurable():
    raw = (DEPLOY / "compose.yaml").read_text()
    services = yaml.safe_load(interpolate(raw, {"POSTGRES_PASSWORD": "x", "SOVEREIGN_BIND_HOST": "10.0.0.5"}))["services"]
    assert services["mlflow"]["ports"] == ["10.0.0.5:5000:5000"]


def test_both_servers_use_postgres_and_mlflow_serves_an_artifact_volume(compose):
    services = compose["services"]
    prefect_env = services["prefect-server"]["environment"]
    assert prefect_env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://sovereign:test-only@postgres:5432/prefect")
    assert prefect_env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    mlflow_cmd = services["mlflow"]["command"]
    assert "--backend-store-uri=postgresql://sovereign:test-only@postgres:5432/mlflow" in mlflow_cmd
    assert "--artifacts-destination=/mlartifacts" in mlflow_cmd and "--serve-artifacts" in mlflow_cmd
    assert "mlflow-artifacts:/mlartifacts" in services["mlflow"]["volumes"]
    assert set(compose["volumes"]) == {"postgres-data", "mlflow-artifacts"}
    assert "CREATE DATABASE mlflow" in (DEPLOY / "postgres-init.sql").read_text()
    assert (DEPLOY / services["mlflow"]["build"]["dockerfile"]).exists()
    for svc in ("prefect-server", "mlflow"):
        assert services[svc]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_prefect_yaml_deployments_point_at_form_flows():
    from prefect.flows import Flow

    import flows.deployments as deployments

    spec = yaml.safe_load((DEPLOY / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert set(by_name) == {"research", "sweep-tokens"}
    assert by_name["research"]["work_pool"]["name"] == "cpu"
    assert by_name["sweep-tokens"]["work_pool"]["name"] == "gpu"
    for dep in by_name.values():
        path, func = dep["entrypoint"].split(":")
        assert (ROOT / path).exists() and isinstance(getattr(deployments, func), Flow)
    assert spec["prefect-version"] == __import__("prefect").__version__


def test_compose_uses_the_drivers_the_team_stack_test_runs():
    """compose.yaml, mlflow.Dockerfile and pyproject name the URLs and drivers that tests/deploy/test_team_stack.py runs."""
    import re

    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    dockerfile = (ROOT / "deploy" / "mlflow.Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    stack = (ROOT / "tests" / "deploy" / "stack.py").read_text()
    assert "postgresql+asyncpg://" in compose and 'pg.url("prefect", "asyncpg")' in stack
    assert "--backend-store-uri=postgresql://" in compose and 'pg.url("mlflow")' in stack  # psycopg 3 under SQLAlchemy 2
    assert re.search(r'"psycopg\[binary\][^"]*"', pyproject) and "psycopg[binary]" in dockerfile and "psycopg2" not in dockerfile
    assert re.search(r"image: postgres:15", compose)
