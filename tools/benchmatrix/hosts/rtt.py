"""The round-trip time between two roles, measured before the load.

A TCP connect returns when the listener's SYN-ACK arrives: one round trip, answered
by the kernel, not by the application (its accept queue replies, whatever the server
is doing). Timing a handful of connects to the port the next role will use needs no
ICMP, no extra tool and no privilege, and measures the path the load takes.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from typing import Dict, List, Optional

SAMPLES = 15


def connect_times_ms(host: str, port: int, samples: int = SAMPLES, timeout_s: float = 5.0) -> List[float]:
    times = []
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(samples):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            started = time.perf_counter()
            sock.connect((host, port))
            times.append((time.perf_counter() - started) * 1000.0)
    return times


def summary(times: List[float]) -> Dict[str, float]:
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
            "max_ms": round(max(times), 3), "samples": len(times), "method": "TCP connect (SYN to SYN-ACK)"}


def measure(host: str, port: int, from_namespace: Optional[str] = None, samples: int = SAMPLES) -> Dict[str, float]:
    """The connect-time summary from here, or from inside network namespace `from_namespace`.

    From a namespace the connects run in a short-lived thread that entered it, so the
    harness's own thread stays where it is.
    """
    if from_namespace is None:
        return summary(connect_times_ms(host, port, samples))
    from benchmatrix.hosts.namespace_entry import entered
    outcome: Dict[str, object] = {}

    def connect_from_there() -> None:
        try:
            with entered(from_namespace):
                outcome["times"] = connect_times_ms(host, port, samples)
        except OSError as error:
            outcome["error"] = error

    worker = threading.Thread(target=connect_from_there, name="rtt-" + from_namespace)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return summary(outcome["times"])  # type: ignore[arg-type]
