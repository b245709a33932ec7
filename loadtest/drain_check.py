"""SIGTERM a running server under load and say whether any accepted request was lost.

    python -m loadtest.drain_check --port 3000 --pid PID

For a server started elsewhere, such as a container: its process ID on the host is
`docker inspect -f '{{.State.Pid}}' CONTAINER`. Traffic goes to 127.0.0.1 only, for a few seconds.
Exits 1 if a request was lost, /readyz did not turn 503, or the server outlived its grace period.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter

from loadtest.fault_kit import GRACE_S, statuses
from loadtest.fault_load import USERS, terminate_under_load
from loadtest.raw_http import LOST, REFUSED


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--port", type=int, required=True, help="the server's port on 127.0.0.1")
    cli.add_argument("--pid", type=int, required=True, help="the process to send SIGTERM (bentoml serve)")
    cli.add_argument("--users", type=int, default=USERS, help=f"clients sending /predict ({USERS})")
    args = cli.parse_args()
    result = asyncio.run(terminate_under_load(args.port, args.pid, users=args.users))
    kinds = Counter(outcome.kind for outcome in result.outcomes)
    print(
        f"SIGTERM under {args.users} clients: {statuses(result.outcomes)}; {kinds[LOST]} lost, "
        f"{kinds[REFUSED]} refused before acceptance; /readyz {result.readyz.status or result.readyz.kind} "
        f"after {result.readyz_turned_ms:.0f} ms; exited after {result.exit_s:.1f} s"
    )
    holds = kinds[LOST] == 0 and result.readyz.status == 503 and result.exit_s <= GRACE_S + 5
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
