"""Threads on a shared machine (kernels/threads.py): the cores other work leaves free, the user's
thread count as the bound, and kernels whose results do not depend on the number of threads."""

import pytest
import torch

from rnnzoo.kernels import threads
from rnnzoo.layers import GRU, LSTM, SimpleRNN

parse_proc_stat = threads.read  # the fixture below replaces threads.read; a test reads a file with this


def reading(wall, busy, own):
    return threads.Reading(wall=wall, busy=busy, own=own)


def test_free_cores_are_the_cpus_less_what_others_kept_busy():
    # 1 s: the CPUs were busy 1.9 CPU-s, 0.9 of it this process's: others took one core.
    assert threads.free_cores(reading(0, 0, 0), reading(1, 1.9, 0.9), cpus=2) == pytest.approx(1.0)
    # Only this process ran: everything is free.
    assert threads.free_cores(reading(0, 5, 5), reading(2, 9, 9), cpus=2) == pytest.approx(2.0)


@pytest.mark.parametrize("free, cpus, torch_threads, expected", [
    (2.0, 2, 2, 2),    # a quiet machine: torch's count
    (1.9, 2, 4, 4),    # nothing else running: torch's count, even above the cores
    (1.0, 2, 2, 1),    # another process holds one core
    (0.2, 2, 2, 1),    # the machine is taken: still one thread
    (5.0, 8, 4, 4),    # never more than torch's count
    (5.0, 8, 8, 5),
])
def test_the_team_is_the_free_cores_within_torchs_count(free, cpus, torch_threads, expected):
    assert threads.team(free, cpus, torch_threads) == expected


def test_proc_stat_is_read_for_the_allowed_cpus_only(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\n"
                    "cpu0 50 0 50 400 7 0 0 0 0 0\n"
                    "cpu1 50 1 50 400 0 2 3 4 0 0\n"
                    "intr 12345\n")
    busy = threads.read({1}, stat).busy * threads.TICK
    assert busy == pytest.approx(50 + 1 + 50 + 2 + 3)  # idle, iowait and a hypervisor's steal are not busy
    assert threads.read({0}, tmp_path / "missing") is None


class Machine:
    """Readings a second apart in which other processes keep `busy_elsewhere` cores busy."""

    def __init__(self):
        self.busy_elsewhere, self.wall, self.busy = 0.0, 0.0, 0.0

    def read(self, cpus, stat=threads.STAT):
        self.wall += 1.0
        self.busy += self.busy_elsewhere
        return reading(self.wall, self.busy, 0.0)


@pytest.fixture
def shared_machine(monkeypatch, kernel_settings):
    kernel_settings(threads="free")  # the default; the test session runs with "all" (tests/conftest.py)
    machine = Machine()
    monkeypatch.setattr(threads, "read", machine.read)
    monkeypatch.setattr(threads, "allowed_cpus", lambda: {0, 1})
    monkeypatch.setattr(threads, "quota_cpus", lambda: None)  # no CPU quota, unless a test sets one
    monkeypatch.setattr(threads, "_state", {"users": None, "ours": None, "reading": None, "quota": None})
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield machine
    torch.set_num_threads(previous)


def test_another_process_on_one_core_leaves_one_thread_until_it_ends(shared_machine, kernel_settings):
    shared_machine.busy_elsewhere = 1.0
    threads.update()  # the first reading
    threads.update()
    assert torch.get_num_threads() == 1
    threads.update()
    assert torch.get_num_threads() == 1
    shared_machine.busy_elsewhere = 0.0  # it ended: the user's two threads again
    threads.update()
    assert torch.get_num_threads() == 2


def test_a_hypervisors_steal_leaves_the_team_as_it_is(shared_machine, tmp_path, monkeypatch):
    # A second apart, /proc/stat says both CPUs were busy a CPU-second each: this process ran on
    # one (its own time), and a hypervisor stole the other. Nothing else ran on this machine.
    stat = tmp_path / "stat"
    snapshots = iter([("cpu0 100 0 0 900 0 0 0 0 0 0\ncpu1 100 0 0 900 0 0 0 0 0 0\n", 0.0),
                      ("cpu0 200 0 0 900 0 0 0 0 0 0\ncpu1 100 0 0 900 0 0 0 100 0 0\n", 1.0)])

    def reading_of_the_file(cpus):
        text, seconds = next(snapshots)
        stat.write_text(text)
        return reading(seconds, parse_proc_stat(cpus, stat).busy, own=seconds)

    monkeypatch.setattr(threads, "read", reading_of_the_file)
    threads.update()
    threads.update()
    assert torch.get_num_threads() == 2


def test_the_users_own_count_is_the_bound_and_all_restores_it(shared_machine, kernel_settings):
    torch.set_num_threads(1)  # the user's choice, taken at the next call
    threads.update()
    threads.update()
    assert torch.get_num_threads() == 1
    torch.set_num_threads(3)  # changed again: the new bound
    shared_machine.busy_elsewhere = 1.0
    threads.update()
    assert torch.get_num_threads() == 1
    kernel_settings(threads="all")  # the user's count back, busy or not
    threads.update()
    assert torch.get_num_threads() == 3


def test_a_containers_cpu_quota_bounds_the_count_from_the_first_call(shared_machine, kernel_settings, monkeypatch):
    monkeypatch.setattr(threads, "quota_cpus", lambda: 1.5)  # e.g. docker --cpus 1.5: two threads at most
    monkeypatch.setattr(threads, "allowed_cpus", lambda: set(range(8)))  # torch sees the host's cores
    torch.set_num_threads(8)
    threads.update()  # the first call: no second reading yet, the quota alone
    assert torch.get_num_threads() == 2
    threads.update()  # nothing else running: the user's eight, bounded by the quota
    assert torch.get_num_threads() == 2
    shared_machine.busy_elsewhere = 7.0  # the host busy: one thread
    threads.update()
    assert torch.get_num_threads() == 1
    kernel_settings(threads="all")  # the user's count, quota or not
    threads.update()
    assert torch.get_num_threads() == 8


def test_the_cpu_quota_is_read_from_the_processs_cgroups(tmp_path):
    root, cgroups = tmp_path / "cgroup", tmp_path / "self_cgroup"

    def write(path, text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    # cgroup v2: the smallest quota from the process's cgroup up to the root
    write(cgroups, "0::/jobs/trial\n")
    write(root / "jobs" / "trial" / "cpu.max", "max 100000\n")
    write(root / "jobs" / "cpu.max", "150000 100000\n")
    assert threads.quota_cpus(cgroups, root) == pytest.approx(1.5)
    # v1 in a container: the host's path is not in the tree it sees; its own cgroup is the root
    write(cgroups, "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n")
    write(root / "cpu,cpuacct" / "cpu.cfs_quota_us", "200000\n")
    write(root / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    assert threads.quota_cpus(cgroups, root) == pytest.approx(2.0)
    # no quota (v1's -1), and no cgroup files at all
    write(root / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")
    assert threads.quota_cpus(cgroups, root) is None
    assert threads.quota_cpus(tmp_path / "missing", root) is None


def test_a_layer_call_adapts_the_count(shared_machine, kernel_settings):
    shared_machine.busy_elsewhere = 1.5
    layer = GRU(8, input_dim=3)
    for _ in range(2):
        layer(torch.randn(2, 4, 3))
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("layer", [SimpleRNN, LSTM, GRU])
def test_results_do_not_depend_on_the_number_of_threads(native, layer, kernel_settings):
    # 256 units: the weight gradients' row blocks are cut at different depths for one and two
    # threads (each thread's share of the columns sets them), and B·T = 480 rows span several.
    # All products on rnnzoo's kernels: a library GEMM that calibration may choose makes no such promise.
    kernel_settings(gemm="native")
    torch.manual_seed(0)
    model = layer(256, return_sequences=True, input_dim=8)
    x = torch.randn(16, 30, 8, requires_grad=True)
    previous = torch.get_num_threads()
    runs = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            model.zero_grad()
            x.grad = None
            y = model(x)
            (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
            runs.append([y.detach(), x.grad] + [p.grad for p in model.parameters()])
    finally:
        torch.set_num_threads(previous)
    for one, two in zip(*runs):
        assert torch.equal(one, two)
