"""How long each cluster lifecycle step takes against a loopback moto server.

Measures sparkify's own overhead (boto3 sessions, describe/ensure calls, config write-back), not
AWS: a real cluster takes minutes to create. Starts its own moto server on 127.0.0.1 and stops it.

    .venv/bin/python benchmarks/cluster_lifecycle.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from loopback import use_loopback_aws

EXAMPLE = Path(__file__).resolve().parent.parent / "dwh.cfg.example"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    use_loopback_aws(endpoint)
    from sparkify_dagster.cluster.lifecycle import (
        cluster_endpoint,
        cluster_status,
        create_cluster,
        delete_cluster,
    )

    steps = {
        "create (new)": lambda cfg: create_cluster(cfg, delay=0.01),
        "create (exists)": lambda cfg: create_cluster(cfg, delay=0.01),
        "status": cluster_status,
        "endpoint": lambda cfg: cluster_endpoint(cfg, delay=0.01),
        "delete": lambda cfg: delete_cluster(cfg, delay=0.01),
        "delete (gone)": lambda cfg: delete_cluster(cfg, delay=0.01),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    try:
        with tempfile.TemporaryDirectory() as folder:
            cfg = Path(folder) / "dwh.cfg"
            for _ in range(rounds):
                request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
                urllib.request.urlopen(request, timeout=30).close()
                cfg.write_bytes(EXAMPLE.read_bytes())
                for name, step in steps.items():
                    start = time.perf_counter()
                    step(cfg)
                    times[name].append(time.perf_counter() - start)
    finally:
        server.stop()
    print(f"cluster lifecycle against loopback moto, {rounds} rounds, {os.cpu_count()} cores")
    for name, values in times.items():
        print(f"  {name:<16} median {statistics.median(values):6.3f} s  max {max(values):6.3f} s")


if __name__ == "__main__":
    main()
