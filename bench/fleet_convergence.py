#!/usr/bin/env python3
"""Fleet convergence: the time from an admin switch on one instance until every instance of the
fleet routes to the new pool (README "Running a fleet" starts the fleet this measures).

Each round switches instance 1 between blue and green, then polls GET / on every instance (a new
connection each time, as a fresh client would) until all answer the new pool's name; the time is
taken from just before the admin call. The admin call answers once instance 1's own workers
route by the change, so the figure covers: the etcd txn, the watch delivering it to the other
instances, their publish to their workers.

Usage: fleet_convergence.py [--admin 127.0.0.1:9911] [--proxies 8091,8092,8093] [--rounds 50]
"""

import argparse
import http.client
import json
import statistics
import time


def served_by(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read().decode().split("\n", 1)[0]
    finally:
        connection.close()


def switch(admin, pool):
    host, port = admin.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", f"/admin/switch?to={pool}")
        response = connection.getresponse()
        body = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"switch to {pool}: {response.status} {body}")
        return body
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin", default="127.0.0.1:9911")
    parser.add_argument("--proxies", default="8091,8092,8093")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    proxies = [int(p) for p in args.proxies.split(",")]
    answered, converged = [], []
    pool = served_by(proxies[0])
    for _ in range(args.rounds):
        pool = "green" if pool == "blue" else "blue"
        start = time.perf_counter()
        switch(args.admin, pool)
        answered.append((time.perf_counter() - start) * 1000)
        pending = set(proxies)
        deadline = start + 10
        while pending and time.perf_counter() < deadline:
            pending = {p for p in pending if served_by(p) != pool}
        if pending:
            raise RuntimeError(f"instances on ports {sorted(pending)} still not on {pool} after 10 s")
        converged.append((time.perf_counter() - start) * 1000)

    def summary(values):
        values = sorted(values)
        return (f"median {statistics.median(values):.1f} ms, p95 "
                f"{values[int(len(values) * 0.95) - 1]:.1f} ms, max {values[-1]:.1f} ms")

    print(f"{args.rounds} switches on {len(proxies)} instances")
    print(f"  admin call answered (instance 1 routes by it): {summary(answered)}")
    print(f"  every instance routes to the new pool:          {summary(converged)}")


if __name__ == "__main__":
    main()
