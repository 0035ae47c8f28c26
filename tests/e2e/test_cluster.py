"""A job against a real two-node Ray cluster, as the README sets one up: `ray start --head` and
`ray start --address`, token auth, each node bound to a private interface.

The two nodes are two network namespaces joined by a veth pair that this test creates and
removes, so no cluster traffic leaves the machine's own test hosts. Without root or
`ip netns`, the test skips and says why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers.cli import CLI, kill_session, write_book, write_job

RAY = str(Path(sys.executable).with_name("ray")) if Path(sys.executable).with_name("ray").exists() else "ray"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def two_hosts():
    """Two network namespaces, HEAD and WORKER, on 10.231.N.1 and .2 over a veth pair."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to create network namespaces for the two test hosts")
    tag = f"{os.getpid() % 100_000}"
    head, worker = f"pbh{tag}", f"pbw{tag}"
    subnet = f"10.231.{os.getpid() % 250}"
    try:
        ip("netns", "add", head)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"network namespaces unavailable here: {exc.stderr.strip()}")
    try:
        ip("netns", "add", worker)
        ip("link", "add", head, "type", "veth", "peer", "name", worker)
        for ns, address in ((head, f"{subnet}.1"), (worker, f"{subnet}.2")):
            ip("link", "set", ns, "netns", ns)
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", ns)
            ip("-n", ns, "link", "set", ns, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield (head, f"{subnet}.1"), (worker, f"{subnet}.2")
    finally:
        for ns in (head, worker):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_a_job_runs_on_a_two_node_cluster_with_token_auth(two_hosts, small_model, tmp_path):
    (head, head_ip), (worker, worker_ip) = two_hosts
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS")}
    env |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0"}
    address = f"{head_ip}:6379"

    def start(host: str, *args: str) -> subprocess.Popen:
        node = subprocess.Popen(["ip", "netns", "exec", host, RAY, "start", "--block", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        nodes.append(node)
        return node

    def wait_for_nodes(count: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = subprocess.run(["ip", "netns", "exec", head, RAY, "status", "--address", address], env=env,
                                    capture_output=True, text=True)
            active = status.stdout.split("Active:")[-1].split("Pending:")[0]
            if status.returncode == 0 and active.count("node_") >= count:
                return
            time.sleep(1)
        pytest.fail(f"the test cluster never had {count} nodes: {status.stdout[-500:]} {status.stderr[-500:]}")

    nodes: list[subprocess.Popen] = []
    ray_dir = tempfile.mkdtemp(prefix="pbray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    try:
        start(head, "--head", "--node-ip-address", head_ip, "--port", "6379", "--num-cpus", "1",
              "--include-dashboard", "false", "--temp-dir", ray_dir)
        wait_for_nodes(1)
        start(worker, "--address", address, "--node-ip-address", worker_ip, "--num-cpus", "1")
        wait_for_nodes(2)
        (tmp_path / "inbox").mkdir()
        write_book(tmp_path / "inbox" / "book.txt", 3)
        job = write_job(tmp_path, small_model, workers=2, address=address)
        # The driver runs on the head host; a worker actor can only be placed on each node (1 CPU each).
        result = subprocess.run(["ip", "netns", "exec", head, *CLI, "run", str(job)], env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        manifest = json.loads((tmp_path / "out" / "book" / "manifest.json").read_text())
        hosts = {c["worker"].split(":")[0] for ch in manifest["chapters"] for c in ch["chunks"]}
        assert hosts == {head_ip, worker_ip}  # audio made on both nodes came back to the driver

        stranger = subprocess.run(  # a driver without the cluster's token is turned away
            ["ip", "netns", "exec", head, sys.executable, "-c",
             f"import ray; ray.init(address={address!r}); print('joined')"],
            env=env | {"RAY_AUTH_TOKEN_PATH": "", "RAY_AUTH_TOKEN": "wrong-token"},
            capture_output=True, text=True, timeout=120)
        assert stranger.returncode != 0 and "joined" not in stranger.stdout
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes on SIGTERM
        for node in reversed(nodes):
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
            kill_session(node.pid)
        shutil.rmtree(ray_dir, ignore_errors=True)
