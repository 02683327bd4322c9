"""How many threads to compute on: the cores that other work leaves free, up to the user's count.

torch and the kernels run their parallel work on an OpenMP team whose idle threads spin, waiting
for the next region, before they sleep. Alone on a machine that is what makes short regions fast;
on a machine shared with other work (a study's other trials, a second training, someone else's
job) the spinning threads hold cores the other work needs, and a team member whose core is taken
stalls the rest at the next barrier: two trainings on two cores then each run three to four
times slower than alone, where sharing the cores fairly would cost two (`rnnzoo bench
--side-by-side`, figures in docs/performance.md).

So, with `configure(threads="free")` (the default), every layer call that runs the kernels first
calls `update`: at most every INTERVAL seconds it reads how busy the CPUs this process may run on
were since the last reading (/proc/stat), takes away this process's own CPU time, and sets torch's
thread count (torch.set_num_threads, which the kernels and torch's own operations follow) to

    max(1, round(cpus - busy elsewhere))        never more than the user's count

and back to the user's count once nothing else is running. The user's count is torch's thread
count as this module first finds it, or as the user last set it (torch.set_num_threads, or
OMP_NUM_THREADS before the start). A container's CPU quota (its cgroup's cpu.max, or cpu.cfs_quota_us
under cgroup v1) bounds the count too, from the first call: torch counts the host's cores, and
threads beyond the quota run in turns, each stalling the others at every barrier.
Time a hypervisor stole from this VM's CPUs (/proc/stat's steal) is not work elsewhere on this
machine: no thread of ours gives it back by stepping aside, and it is charged mostly to the vCPUs
our own threads keep busy. Counted, it dropped the team to one thread for seconds at a time on a
VM whose host was busy, while nothing else ran (docs/performance.md).
`threads="all"` leaves the count alone (and restores it).
rnnzoo's kernels add in an order that does not depend on the number of threads, so in them the
count changes speed only, never a result (tests/kernels/test_threads.py); torch's own
operations may round differently with another count, so a run that must be bit-reproducible on a
busy machine sets `threads="all"`. Without /proc/stat (not Linux) nothing changes.
"""

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import settings

INTERVAL = 0.25  # seconds between readings: long enough for /proc/stat's 10 ms ticks to mean something
STAT = Path("/proc/stat")
CGROUPS = Path("/proc/self/cgroup")  # which cgroups this process is in
CGROUP_ROOT = Path("/sys/fs/cgroup")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Reading:
    wall: float  # time.monotonic(), s
    busy: float  # CPU-seconds the allowed CPUs were busy since boot (not counting steal)
    own: float   # CPU-seconds this process has run, all threads


def allowed_cpus() -> set[int]:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))


def read(cpus: set[int], stat: Path = STAT) -> Reading | None:
    """The busy time of `cpus` from /proc/stat and this process's CPU time, or None without /proc/stat."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    busy = 0
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            user, nice, system, idle, iowait, irq, softirq = (int(v) for v in fields[:7])
            busy += user + nice + system + irq + softirq
    return Reading(time.monotonic(), busy / TICK, time.process_time())


def quota_cpus(cgroups: Path = CGROUPS, root: Path = CGROUP_ROOT) -> float | None:
    """The CPUs this process's cgroups allow it (quota / period, the smallest from its cgroup up to
    the root), or None without a quota. cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us and
    cpu.cfs_period_us). A container's own cgroup is the root of the tree it sees, so its path there
    may not exist: every folder from that path up to the root is tried."""
    try:
        lines = cgroups.read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "":  # v2
            mounts = [root]
        elif "cpu" in controllers.split(","):  # v1, mounted as cpu or as cpu,cpuacct
            mounts = list(dict.fromkeys([root / controllers, root / "cpu"]))  # once when they are one
        else:
            continue
        for mount in mounts:
            folder = mount / path.lstrip("/")
            for where in [folder, *folder.parents]:
                limit = _limit(where)
                if limit is not None:
                    limits.append(limit)
                if where == mount:
                    break
    return min(limits, default=None)


def _limit(folder: Path) -> float | None:
    """quota / period from one cgroup folder's files, or None (no files, no quota, unreadable)."""
    try:
        if (folder / "cpu.max").exists():
            quota, period = (folder / "cpu.max").read_text().split()[:2]
        else:
            quota = (folder / "cpu.cfs_quota_us").read_text().strip()
            period = (folder / "cpu.cfs_period_us").read_text().strip()
        return int(quota) / int(period) if quota not in ("max", "-1") and int(period) > 0 else None
    except (OSError, ValueError):
        return None


def free_cores(before: Reading, after: Reading, cpus: int) -> float:
    """The cores, out of `cpus`, that other processes left idle between two readings."""
    wall = after.wall - before.wall
    elsewhere = (after.busy - before.busy) - (after.own - before.own)
    return cpus - max(0.0, elsewhere) / wall


def team(free: float, cpus: int, threads: int) -> int:
    """The threads to run on with `free` of `cpus` cores free and the user's count `threads`."""
    if round(free) >= cpus:  # nothing else running: the user's count, even one above the cores
        return threads
    return max(1, min(threads, round(free)))


# "users": the user's count; "ours": the count update() last left torch with (None: none yet);
# "reading": the last Reading; "quota": the threads the CPU quota allows (None: not read yet; inf: no quota)
_state: dict = {"users": None, "ours": None, "reading": None, "quota": None}


def update() -> None:
    """Sets torch's thread count for the cores free now (threads="free"); restores the user's ("all")."""
    now = torch.get_num_threads()
    if _state["ours"] is None or now != _state["ours"]:  # first call, or the user has set a count since
        _state["users"], _state["ours"] = now, None
    if settings.current().threads == "all":
        if _state["ours"] is not None:
            torch.set_num_threads(_state["users"])
            _state["ours"] = None
        return
    previous = _state["reading"]
    if previous is not None and time.monotonic() - previous.wall < INTERVAL:
        return
    cpus = allowed_cpus()
    if _state["quota"] is None:  # read once: a quota is set when the container starts
        quota = quota_cpus()
        _state["quota"] = math.inf if quota is None else max(1, math.ceil(quota))
    _state["reading"] = reading = read(cpus)
    if reading is None or previous is None:
        wanted = min(now, _state["quota"])  # no second reading yet: the quota alone
    else:
        wanted = min(team(free_cores(previous, reading, len(cpus)), len(cpus), _state["users"]), _state["quota"])
    if wanted != now:
        torch.set_num_threads(wanted)
    _state["ours"] = wanted
