"""The cluster path: a Ray head started with `ray start` on 127.0.0.1, generation and a small
coverage study run against it, the same numbers as the local executor.

The head is started with ``--block`` in its own session and stopped through its process
group: `ray stop` would stop every Ray process on the machine, other users' too.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from robusthep.data import read_dataset

ROOT = Path(__file__).resolve().parents[1]
# Ray >= 2.59 starts heads with token authentication; this cluster gets a token of its own
# (the machine's ~/.ray/auth_token is left alone), and the driver presents it.
AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
RAY = Path(sys.executable).with_name("ray")
CLI = Path(sys.executable).with_name("robusthep")

# A tiny H→ττ measurement: 400 Pythia events a process (fast mode), one μ, three grid points.
TINY_HIGGS = """
events = 400
epochs = 1
augment_copies = 1
hidden = [16, 16]
pseudo_experiments = 2
calibration_experiments = 10
mu_values = [1.0]
grid = [0.5, 1.0, 1.5]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(address: str, process: subprocess.Popen, env: dict, seconds: float = 300) -> None:
    """Until `ray status` answers: the GCS port opens well before the head takes clients."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`ray start` exited with code {process.returncode}")
        status = subprocess.run(
            [str(RAY), "status", f"--address={address}"], env=env, capture_output=True, timeout=120
        )
        if status.returncode == 0:
            return
        time.sleep(2)
    raise TimeoutError(f"the Ray head at {address} did not answer within {seconds} s")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the head's process group (only the processes this test started), then kill."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def ray_head():
    """``ray start --head`` on this machine with 2 CPUs; yields its address as 127.0.0.1:port;
    always stopped.

    No ``--node-ip-address=127.0.0.1``: a driver given a loopback address swaps it for the
    machine's IP (found through the default route), which a head bound to 127.0.0.1 does not
    listen on; without the option the head binds the IP the driver computes.
    """
    if not RAY.exists():
        pytest.skip("the `ray` command is not installed next to this Python")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="rh-ray-")  # short: Ray's socket paths must stay < 108
    command = [
        str(RAY), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
        "--include-dashboard=false", "--disable-usage-stats",
        f"--temp-dir={temp}", f"--dashboard-port={_free_port()}",
        f"--dashboard-agent-listen-port={_free_port()}", f"--metrics-export-port={_free_port()}",
    ]  # fmt: skip
    # Workers import robusthep as this process does (this checkout on PYTHONPATH, or the
    # installed package), as `pip install robusthep` on every node does on a cluster.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **AUTH,
    }
    log = Path(temp) / "ray-start.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        try:
            _wait_for(f"127.0.0.1:{port}", process, env)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}:\n{log.read_text()[-3000:]}") from error
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)
        shutil.rmtree(temp, ignore_errors=True)


def _columns(folder: Path) -> dict:
    return read_dataset(folder).columns


def _robusthep(*args: str, cache: Path) -> subprocess.CompletedProcess:
    """Run the CLI in a process of its own, as a user does, presenting the cluster's token.

    Not in this process: after a local Ray cluster ran in a process (other tests here start
    one), that process's driver is refused by this head (measured: `pytest -m slow
    tests/sim/test_executors.py tests/test_cluster.py` failed with the CLI run in-process,
    "Failed to connect to Ray cluster"; Ray also leaves RAY_AUTH_MODE set in os.environ).
    """
    env = {
        **os.environ,
        **AUTH,
        "ROBUSTHEP_CACHE": str(cache),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_generation_and_a_coverage_study_on_a_ray_cluster(ray_head, tmp_path):
    cache = tmp_path / "cache"
    size = ["--events", "200", "--fast", "--set", "shard_events=100", "--seed", "3"]
    on_ray = _robusthep(
        "generate", "higgs", *size, "--executor", "ray", "--address", ray_head,
        "--output", str(tmp_path / "ray"), cache=cache,
    )  # fmt: skip
    assert on_ray.returncode == 0, on_ray.stdout + on_ray.stderr
    local = _robusthep(
        "generate", "higgs", *size, "--workers", "1", "--output", str(tmp_path / "local"),
        cache=cache,
    )  # fmt: skip
    assert local.returncode == 0, local.stdout + local.stderr
    a, b = _columns(tmp_path / "ray"), _columns(tmp_path / "local")
    assert list(a) == list(b) and len(a["weight"]) > 0
    for name, values in a.items():
        if isinstance(values, ak.Array):  # objects of each event (jets, leptons …)
            assert ak.to_list(values) == ak.to_list(b[name]), name
        else:
            np.testing.assert_array_equal(values, b[name], err_msg=name)

    # The Higgs measurement's pseudo-experiments (Neyman calibration and coverage) on the
    # cluster, then in this process: the same intervals, hence the same coverage.
    results = {}
    for name, executor in (("ray", f'executor = "ray"\naddress = "{ray_head}"\n'),
                           ("local", "workers = 1\n")):  # fmt: skip
        config = tmp_path / f"{name}.toml"
        config.write_text(TINY_HIGGS + executor)
        run = _robusthep(
            "higgs", "--config", str(config), "-o", str(tmp_path / f"higgs-{name}"),
            "--no-progress", cache=cache,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        results[name] = json.loads((tmp_path / f"higgs-{name}" / "results.json").read_text())
    assert results["ray"]["methods"] == results["local"]["methods"]
    coverage = results["ray"]["methods"]["baseline"]["neyman"]["coverage"]
    assert coverage["unit"] == "1" and 0 <= coverage["value"] <= 1
