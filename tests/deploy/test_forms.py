"""UI form fields become exactly the overrides of `python flows/main.py`; serve code binds loopback."""

from __future__ import annotations

import shlex
import typing
from pathlib import Path

import pytest

from flows.forms import Embedder, Hardware, ModelName, Retrieval, Routing, cli_command, research_overrides, sweep_overrides

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("choice", "group"),
    [(Retrieval, "retrieval"), (Embedder, "embedder"), (Routing, "routing"), (Hardware, "hardware"), (ModelName, "model")],
)
def test_form_choices_match_config_groups(choice, group):
    assert set(typing.get_args(choice)) == {p.stem for p in (ROOT / "conf" / group).glob("*.yaml")}


def test_blank_forms_add_nothing_but_the_sweep():
    assert research_overrides() == []
    assert sweep_overrides() == ["+sweep=tokens"]


def test_fields_map_to_overrides_and_free_overrides_come_last():
    argv = sweep_overrides(tokens=[64, 128], models=["llada2_mini"], routing="iid", retrieval="snapshot", smoke=True, overrides=["retrieval=arxiv"])
    assert argv == ["+sweep=tokens", "sweep.tokens=[64,128]", "sweep.models=[llada2_mini]", "routing=iid", "retrieval=snapshot", "run.smoke=true", "retrieval=arxiv"]


def test_form_config_equals_cli_config(tmp_path):
    """The resolved config of a form equals that of the printed command line, parsed as a shell would."""
    from flows.config import load_settings

    form = sweep_overrides(tokens=[64, 128], models=["llada2_mini", "llama2_70b"], hardware="h200", retrieval="snapshot", run_name="a-b.c", overrides=[f"run.output_dir={tmp_path}"])
    cli_args = shlex.split(cli_command(form))[2:]
    (form_settings, form_cfg), (_, cli_cfg) = load_settings(form), load_settings(cli_args)
    assert form_cfg == cli_cfg
    assert form_settings.sweep.tokens == [64, 128] and form_settings.run.name == "a-b.c"
    assert form_settings.retrieval.backend == "snapshot"


def test_run_name_cannot_smuggle_overrides():
    with pytest.raises(ValueError, match="run_name"):
        research_overrides(run_name="x retrieval=arxiv")


def test_secret_overrides_are_refused():
    from flows.safety import SecretInOverrideError, reject_secret_overrides

    reject_secret_overrides(sweep_overrides(tokens=[64]) + ["embedder.api_key_env=MY_KEY"])
    for bad in ["+llm.api_key=abc123", "+llm.base_url=http://x?key=sk-abcdefgh12345", "+hf.token=hf_abcdefghijklmnopqrst"]:
        with pytest.raises(SecretInOverrideError, match="environment|Export"):
            reject_secret_overrides([bad])


def test_servers_bind_loopback_unless_configured(monkeypatch):
    from prefect.settings import PREFECT_RUNNER_SERVER_HOST, PREFECT_SERVER_API_HOST

    from flows.deployments import server_command, worker_command

    monkeypatch.delenv("SOVEREIGN_BIND_HOST", raising=False)
    cmd = server_command()
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    monkeypatch.setenv("SOVEREIGN_BIND_HOST", "10.1.2.3")
    cmd = server_command()
    assert cmd[cmd.index("--host") + 1] == "10.1.2.3"
    assert PREFECT_RUNNER_SERVER_HOST.value() in ("localhost", "127.0.0.1")
    assert PREFECT_SERVER_API_HOST.value() == "127.0.0.1"
    gpu_cmd, env = worker_command("gpu", gpu=1)
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and gpu_cmd[gpu_cmd.index("--limit") + 1] == "1"


def test_form_fields_are_typed_with_the_config_defaults():
    """The UI shows real types and the config's defaults (no "list / None" pickers); untouched fields add nothing."""
    from prefect.utilities.callables import parameter_schema

    from flows.deployments import research_job, sweep_tokens_job
    from flows.forms import DEFAULTS

    props = parameter_schema(sweep_tokens_job.fn).model_dump()["properties"]
    assert props["tokens"]["type"] == "array" and props["tokens"]["default"] == DEFAULTS["tokens"] and 64 in DEFAULTS["tokens"]
    assert props["routing"]["default"] == "calibrated" and props["smoke"]["default"] is False
    assert all("anyOf" not in p for p in props.values()), "no Optional[...] fields"
    assert parameter_schema(research_job.fn).model_dump()["properties"]["retrieval"]["default"] == "arxiv"
    assert sweep_overrides(tokens=DEFAULTS["tokens"], models=DEFAULTS["models"], routing="calibrated", hardware="h100_sxm") == ["+sweep=tokens"]
    assert research_overrides(retrieval="arxiv", embedder="minilm", run_name="") == []


def test_server_sets_the_ui_api_url_for_its_port(monkeypatch):
    from flows.deployments import server_env

    monkeypatch.delenv("PREFECT_UI_API_URL", raising=False)
    monkeypatch.delenv("SOVEREIGN_BIND_HOST", raising=False)
    assert server_env(port=4321)["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    monkeypatch.setenv("PREFECT_UI_API_URL", "https://prefect.example/api")
    assert server_env(port=4321)["PREFECT_UI_API_URL"] == "https://prefect.example/api"


def test_run_names_say_what_ran():
    from flows.prefect_ui import run_name_from

    assert run_name_from(["run.name=my-run", "+sweep=tokens"]) == "my-run"
    name = run_name_from(["+sweep=tokens", "retrieval=snapshot", "tracking.store_dir=/tmp/x"])
    assert name.startswith("research +sweep=tokens retrieval=snapshot") and "/tmp/x" not in name
