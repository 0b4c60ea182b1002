"""Who owns a RUNNING parent run: a resumed run must never steal a live one, nor wait forever on a dead one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from mlflow.tracking import MlflowClient

from flows import tracking


def _tags(**changes):
    return {**tracking.owner_tags(), **changes}


def test_this_process_is_alive():
    assert tracking.owner_alive(tracking.owner_tags())


def test_an_exited_process_is_dead():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not tracking.owner_alive(_tags(**{"sovereign.pid": str(proc.pid), "sovereign.pid_started": "0"}))


def test_a_reused_pid_is_dead():
    # This pid is alive, but it started at another time than the owner recorded: the owner is gone.
    started = float(tracking.owner_tags()["sovereign.pid_started"])
    assert not tracking.owner_alive(_tags(**{"sovereign.pid_started": f"{started - 3600:.3f}"}))


def test_bad_owner_tags_count_as_dead():
    assert not tracking.owner_alive(_tags(**{"sovereign.pid": "not-a-pid"}))
    assert not tracking.owner_alive(_tags(**{"sovereign.pid": "0"}))


def test_another_host_is_judged_by_its_heartbeat():
    other = {"sovereign.host": socket.gethostname() + "-elsewhere", "sovereign.pid": "1"}
    now = time.time()
    assert tracking.owner_alive({**other, "sovereign.heartbeat": f"{now - 30:.0f}"}, now=now)
    assert not tracking.owner_alive({**other, "sovereign.heartbeat": f"{now - tracking.STALE_AFTER_S - 1:.0f}"}, now=now)
    assert tracking.owner_alive(other, now=now)  # no heartbeat recorded: cannot tell, so never steal it
    assert tracking.owner_alive({**other, "sovereign.heartbeat": "garbled"}, now=now)


def test_heartbeat_refreshes_the_tag_while_the_block_runs(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("owner")
    run_id = client.create_run(exp, tags={"sovereign.heartbeat": "0"}).info.run_id
    with tracking.heartbeat(client, run_id, every_s=0.2):
        deadline = time.time() + 10
        while time.time() < deadline and client.get_run(run_id).data.tags["sovereign.heartbeat"] == "0":
            time.sleep(0.1)
    beat = float(client.get_run(run_id).data.tags["sovereign.heartbeat"])
    assert abs(beat - time.time()) < 15


def test_orphan_on_another_host_is_resumed_once_its_heartbeat_is_stale(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("orphans")
    base = {"sovereign.config_hash": "abc", "sovereign.host": "container-1234", "sovereign.pid": str(os.getpid())}
    fresh = client.create_run(exp, tags={**base, "sovereign.heartbeat": f"{time.time():.0f}"}).info.run_id
    assert tracking.find_orphaned_run(client, exp, "abc") is None  # alive elsewhere: left alone
    client.set_tag(fresh, "sovereign.heartbeat", f"{time.time() - tracking.STALE_AFTER_S - 60:.0f}")
    assert tracking.find_orphaned_run(client, exp, "abc") == fresh
