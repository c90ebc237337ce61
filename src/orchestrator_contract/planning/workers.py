"""How many requests the suites keep in flight: pytest-xdist workers, chosen from the round trip.

The suites overlap independent work in separate worker processes (pytest-xdist): each test is a
sequence of requests, so while one worker waits for an answer or an operation, the others send
theirs. The profile bounds it (`run.workers`, `run.max_workers`); `workers = "auto"` measures the
target's round trip once before the run: on a loopback-class target the client's own CPU is the
limit and twice the cores is enough to fill the waits; across a network the waits dominate, and
the profile's maximum is used. Verdicts do not depend on it: tests are independent, examples are
drawn per test, and the order answers come back in changes nothing.
"""

from __future__ import annotations

import os
import statistics
import time

import httpx

from orchestrator_contract.contract.dev_credentials import Credential

AUTO = -1
LOCAL_RTT_S = 0.002  # below this, a target counts as loopback-class
RTT_SAMPLES = 5


def measure_rtt(base_url: str, credential: Credential, samples: int = RTT_SAMPLES) -> float:
    """The median time of a small authenticated read, in seconds (the first request, which opens the
    connection, is not counted)."""
    url = base_url.rstrip("/") + "/v2/ControlPlane/Configurations"
    times = []
    with httpx.Client(auth=(credential.username, credential.secret), timeout=10) as client:
        client.get(url, params={"pageSize": 1})
        for _ in range(samples):
            started = time.perf_counter()
            client.get(url, params={"pageSize": 1})
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def choose_workers(rtt_s: float, max_workers: int, cpus: int | None = None) -> int:
    """Workers for a target whose round trip is `rtt_s` (see the module docstring)."""
    cores = cpus or os.cpu_count() or 2
    if rtt_s < LOCAL_RTT_S:
        return max(1, min(max_workers, 2 * cores))
    return max(1, max_workers)
