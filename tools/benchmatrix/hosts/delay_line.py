"""A delay line: every packet read from a TUN device is written back to it `delay` later.

    python -m benchmatrix.hosts.delay_line --device bmxd0 --delay-us 1000

The switch namespace of `--hosts netns` routes whatever one role sends to another
through its TUN device (netns.py), so each packet between roles passes here once
and arrives `delay` later: a round trip meets the delay twice, as with netem on
each role's interface. It exists because some kernels have no netem (this
project's CI machines' among them); where netem is there, netns.py uses netem.

A constant delay keeps packets in order, so one queue in arrival order is the
whole schedule. The loop waits with select(), whose timeout has microsecond
resolution (poll and epoll round to milliseconds). Its cost is a read and a write
per packet in this process: the load generator's ceiling, measured across the
same link, says how much that limits a cell.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA  # linux/if_tun.h: _IOW('T', 202, int)
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000  # bare IP packets, without the 4-byte packet information header
READY = "delay line ready"
PR_SET_TIMERSLACK = 29  # linux/prctl.h


def attach(device: str) -> int:
    """A non-blocking descriptor on the TUN device `device` (made beforehand by `ip tuntap add`)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", device.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def run(fd: int, delay_s: float) -> None:
    """Forever: a stop signal ends it by raising (select() would otherwise resume its wait)."""
    waiting: collections.deque = collections.deque()  # (due, packet), in arrival order
    while True:
        timeout = None if not waiting else max(0.0, waiting[0][0] - time.monotonic())
        readable, _, _ = select.select([fd], [], [], timeout)
        if readable:
            arrived = time.monotonic()
            while True:
                try:
                    waiting.append((arrived + delay_s, os.read(fd, 65536)))
                except BlockingIOError:
                    break
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            try:
                os.write(fd, waiting.popleft()[1])
            except BlockingIOError:
                pass  # the kernel's backlog is full: the packet is lost, as on a congested link


def tighten_timer_slack() -> None:
    """Ask for 1 ns of timer slack instead of Linux's default 50 us: each packet's wait ends on time.

    Measured here (2-vCPU KVM guest, 1 ms delay, three runs each): round trips of 2.24-2.32 ms
    with it, 2.30-2.42 ms without; what remains above 2 ms is waking up and Python's own time.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(1), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the default slack only makes each packet a little later, as the record's RTT shows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", required=True)
    parser.add_argument("--delay-us", type=float, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tighten_timer_slack()
    fd = attach(args.device)
    print(READY, flush=True)
    try:
        run(fd, args.delay_us / 1e6)
    except KeyboardInterrupt:
        pass
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
