"""The fault suite: a fresh `bentoml serve` per scenario, hostile traffic, and rules that must hold.

    python -m loadtest.faults                       # all scenarios, results/faults.md
    python -m loadtest.faults --only sigterm overload

Scenarios: overload at 2x the measured maximum (with health probes and the latency of a lone
request afterwards), slow and lying clients, big and malformed bodies on every route, image
floods, maximal requests of each kind at once, SIGTERM under load, a worker killed under load,
and a flood of unknown paths. Each
prints what it measured; the rules are checked at the end, written to results/faults.md, and the
exit code is 1 if any rule is broken. All traffic goes to 127.0.0.1 and is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from loadtest.fault_capacity import maximal_requests_at_once
from loadtest.fault_images import image_flood
from loadtest.fault_inputs import bad_bodies, slow_clients, unknown_paths
from loadtest.fault_kit import Report, write_report
from loadtest.fault_load import overload, sigterm, worker_kill
from service.settings import ServiceSettings

SCENARIOS = {
    "overload": overload,
    "slow": slow_clients,
    "bodies": bad_bodies,
    "images": image_flood,
    "maximal": maximal_requests_at_once,
    "sigterm": sigterm,
    "sigkill": worker_kill,
    "paths": unknown_paths,
}


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--tag", default=ServiceSettings().model_tag, help="stored model ($MNIST_MODEL_TAG)")
    cli.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="run these scenarios only")
    cli.add_argument("--output", type=Path, default=Path("results/faults.md"))
    args = cli.parse_args()
    report = Report()
    for name in args.only or SCENARIOS:
        print(f"== {name}", flush=True)
        asyncio.run(SCENARIOS[name](args.tag, report))
    write_report(report, args.output, args.tag)
    broken = [rule for rule in report.rules if not rule.holds]
    print(f"{len(report.rules) - len(broken)} rules hold, {len(broken)} broken; wrote {args.output}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
