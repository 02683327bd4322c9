"""The kernels build once per (sources, torch, Python, CPU, environment), say so, and nothing wedges them.

The fast tests stand in for the compiler with a copy of the library this test session built (the
`native` fixture); the two at the end compile for real, in child processes, as a user would, into
the cache this session built in: a second environment's build killed in the middle, then built,
then the two environments loading in turn.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

import rnnzoo
from rnnzoo import paths
from rnnzoo.kernels import build, locking
from rnnzoo.kernels.compiler import session_members


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """An empty cache, and `build.native()` not yet tried."""
    monkeypatch.setenv("RNNZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(build, "_state", {})
    return tmp_path


@pytest.fixture
def compiles(native, monkeypatch):
    """compile_into made a copy of the session's library; the list of folders it 'compiled' into."""
    library = Path(native.__file__)
    folders = []

    def copy(folder):
        folders.append(folder)
        shutil.copy(library, folder / library.name)

    monkeypatch.setattr(build, "compile_into", copy)
    return folders


def test_build_dir_is_under_the_cache_and_keyed(cache):
    folder = build.build_dir()
    assert folder.parent == cache / "build" and folder.name == f"recurrent-{build.build_key()}"


def test_the_key_covers_the_environment(monkeypatch):
    """Two virtualenvs with the same torch get two folders (torch writes each one's paths into build.ninja)."""
    key, parts = build.build_key(), build.key_parts()
    assert sys.prefix in parts["environment"] and str(Path(torch.__file__).parent) in parts["environment"]
    monkeypatch.setattr(sys, "prefix", "/elsewhere/.venv")
    assert build.build_key() != key


def test_a_build_says_where_and_why_then_later_loads_only_import(cache, compiles, capsys):
    module = build.native()
    assert module is not None and module.forward is not None and len(compiles) == 1
    message = capsys.readouterr().err
    assert f"compiling the native kernels into {build.build_dir()} (first build in this cache)" in message
    assert json.loads((build.build_dir() / "key.json").read_text()) == build.key_parts()
    build._state.clear()
    assert build.native() is not None and len(compiles) == 1  # loaded, not compiled again
    assert "compiling" not in capsys.readouterr().err


def test_the_reason_names_what_changed(cache, compiles, monkeypatch, capsys):
    build.native()
    parts = build.key_parts()
    monkeypatch.setattr(build, "key_parts", lambda: {**parts, "environment": "/other/.venv /x /y c++"})
    monkeypatch.setattr(sys, "prefix", "/other/.venv")
    build._state.clear()
    capsys.readouterr()
    build.native()
    assert len(compiles) == 2
    assert "another environment, /other/.venv (the last build was for " + parts["environment"].split(" ")[0] \
        in capsys.readouterr().err
    monkeypatch.setattr(build, "key_parts", lambda: {**parts, "environment": "/other/.venv /x /y c++",
                                                     "sources": "0123456789abcdef"})
    build._state.clear()
    build.native()
    assert "(the sources changed)" in capsys.readouterr().err
    monkeypatch.setattr(build, "key_parts", lambda: {**parts, "environment": "/other/.venv /x /y c++",
                                                     "sources": "0123456789abcdef", "isa": "avx2 -mno-avx512f"})
    build._state.clear()
    build.native()
    assert "(instructions avx2 -mno-avx512f (the last build was for native; each has its own))" in \
        capsys.readouterr().err


def test_what_a_killed_build_left_is_cleared_and_does_not_block(cache, compiles):
    """A temporary folder of a killed build goes; an unfinished folder (an older rnnzoo's, with torch's
    'lock' baton in it) is replaced; neither makes anyone wait."""
    builds, folder = cache / "build", build.build_dir()
    (builds / "tmp-killed").mkdir(parents=True)
    (builds / "tmp-killed" / "recurrent.o").write_bytes(b"half")
    folder.mkdir()
    (folder / "lock").write_text("")
    start = time.monotonic()
    assert build.native() is not None
    assert time.monotonic() - start < 30
    assert sorted(p.name for p in builds.iterdir()) == ["build.lock", folder.name]
    assert not (folder / "lock").exists() and (folder / f"{build.NAME}.so").is_file()


def test_a_process_that_built_while_we_waited_is_not_repeated(cache, compiles, native, monkeypatch):
    folder, original = build.build_dir(), locking.held

    def built_meanwhile(path, timeout, what):  # the lock is ours only once the other process's build is done
        folder.mkdir(parents=True)
        shutil.copy(native.__file__, folder / f"{build.NAME}.so")
        return original(path, timeout, what)

    monkeypatch.setattr(locking, "held", built_meanwhile)
    assert build.native() is not None and compiles == []


def test_build_failure_warns_once_and_uses_the_portable_engine(cache, monkeypatch):
    """A real build with a compiler that fails: one warning naming the error, then the portable engine."""
    monkeypatch.setenv("CXX", "false")
    x = torch.randn(2, 3, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = rnnzoo.GRU(4, input_dim=3, backend="fused")
        plans = [layer.plan(x), layer.plan(x)]
        got = layer(x)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "'false'" in messages[0] and "pure-PyTorch" in messages[0]
    assert [(p.route, p.engine) for p in plans] == [("kernels", "portable")] * 2
    layer.backend = "reference"
    torch.testing.assert_close(got, layer(x))
    assert [p.name for p in (cache / "build").iterdir()] == ["build.lock"]  # no half-built folder left


def test_a_compile_past_the_time_limit_is_stopped_with_a_message(cache, monkeypatch):
    monkeypatch.setattr(build, "SLOW", 1)
    monkeypatch.setattr(build, "TIMEOUT", 2)
    with pytest.warns(RuntimeWarning, match=r"compiling took over 2 s, stopped"):
        assert build.native() is None
    assert [p.name for p in (cache / "build").iterdir()] == ["build.lock"]


def test_prune_keeps_the_most_recently_used_builds_and_nothing_else(tmp_path):
    """Old build folders go; the newest ones and anything not named like a build stay."""
    names = [f"recurrent-{i:016x}" for i in range(5)]
    for age, name in enumerate(names):  # names[0] is the newest
        (tmp_path / name).mkdir()
        (tmp_path / name / "rnnzoo_recurrent.so").write_bytes(b"x")
        os.utime(tmp_path / name, (1e9 - age * 100, 1e9 - age * 100))
    (tmp_path / "recurrent-notahash").mkdir()
    (tmp_path / "recurrent-0000000000000009.so").write_bytes(b"a file, not a folder")
    removed = build.prune(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == names[3:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        names[:3] + ["recurrent-notahash", "recurrent-0000000000000009.so"])


def test_loading_marks_the_build_as_used(cache, compiles):
    """Each load touches its folder, so the builds in use are the ones prune keeps."""
    build.native()
    os.utime(build.build_dir(), (1e9, 1e9))
    build._state.clear()
    build.native()
    assert build.build_dir().stat().st_mtime > 1e9 + 1e8


def test_a_new_build_prunes_the_old_ones(cache, compiles):
    old = [cache / "build" / f"recurrent-{i:016x}" for i in range(4)]
    for folder in old:
        folder.mkdir(parents=True)
        os.utime(folder, (1e9, 1e9))
    assert build.native() is not None
    kept = sorted(p.name for p in (cache / "build").iterdir() if p.is_dir())
    assert len(kept) == build.KEEP and build.build_dir().name in kept


# -- the lock ------------------------------------------------------------------------------------
HOLD = "import sys, time; from rnnzoo.kernels import locking\nwith locking.held(sys.argv[1], 5, 'testing'):\n" \
       "    print('held', flush=True); time.sleep(600)"


def test_a_lock_left_by_a_killed_process_is_recovered(tmp_path):
    lock = tmp_path / "build.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locking.holder(lock) == f"process {holder.pid}"
        with pytest.raises(TimeoutError, match=rf"waited \d s for process {holder.pid} testing"):
            with locking.held(lock, 0.5, "testing"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    start = time.monotonic()
    with locking.held(lock, 5, "testing"):
        assert lock.read_text().strip() == str(os.getpid())
    assert time.monotonic() - start < 1


# -- real builds, in child processes ------------------------------------------------------------
def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


TRAIN = """
import sys, time, torch, rnnzoo
from rnnzoo.kernels import build
start = time.monotonic()
assert build.native() is not None
seconds = time.monotonic() - start
layer = rnnzoo.GRU(16, input_dim=3)
assert layer.plan(torch.randn(4, 5, 3)).engine == "native"
optimizer = torch.optim.Adam(layer.parameters())
for _ in range(3):
    optimizer.zero_grad()
    layer(torch.randn(4, 5, 3)).square().mean().backward()
    optimizer.step()
print(f"{seconds:.3f}")
"""


def run_python(python: str, cache: Path, limit: float) -> tuple[float, str]:
    """(seconds build.native() took, stderr) of a child training a layer with the cache `cache`."""
    done = subprocess.run([python, "-c", TRAIN], env={**os.environ, "RNNZOO_CACHE_DIR": str(cache)},
                          capture_output=True, text=True, timeout=limit)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1]), done.stderr


@pytest.fixture(scope="module")
def other_python(tmp_path_factory) -> str:
    """A second virtualenv's Python: its own sys.prefix, torch and rnnzoo reached through a .pth file."""
    other = tmp_path_factory.mktemp("envs") / "other-venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(other)], check=True)
    site = next(other.glob("lib/python*/site-packages"))
    reach = [str(Path(rnnzoo.__file__).parents[1])] + [p for p in sys.path if p.endswith("site-packages")]
    (site / "reach.pth").write_text("\n".join(reach) + "\n")
    return str(other / "bin" / "python")


@pytest.fixture(scope="module")
def session_cache(native_kernels) -> Path:
    """The cache this session's kernels were built in (or loaded from): this environment's build is there."""
    return paths.cache_dir()


def test_a_build_killed_midway_leaves_nothing_running_and_the_next_process_builds_and_trains(session_cache,
                                                                                              other_python):
    """SIGKILL during a real compile (the other environment's, into the cache this session built in):
    its compilers die with it, and a second process builds and trains in bounded time, no manual step."""
    builds = session_cache / "build"
    finished = set(builds.glob("recurrent-*/*.so"))
    first = subprocess.Popen([other_python, "-c", "from rnnzoo.kernels import build; build.native()"],
                             env={**os.environ, "RNNZOO_CACHE_DIR": str(session_cache)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, compiling = time.monotonic() + 300, []
    while not compiling and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
        builders = children_of(first.pid)
        compiling = [p for b in builders for p in session_members(b) if p != b and b in session_members(b)]
    assert compiling, "no compiler was seen running within 300 s"
    session = builders[0]
    time.sleep(2)  # in the middle of it
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert any(builds.glob("tmp-*")) and set(builds.glob("recurrent-*/*.so")) <= finished  # killed before the end
    deadline = time.monotonic() + 10
    while session_members(session) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(session) == [], "compiler processes outlived the killed build"

    start = time.monotonic()
    seconds, messages = run_python(other_python, session_cache, build.TIMEOUT + 120)
    print(f"after the kill: built and trained in {time.monotonic() - start:.0f} s")
    assert "compiling the native kernels" in messages
    assert not any(builds.glob("tmp-*")) and len(set(builds.glob("recurrent-*/*.so")) - finished) == 1


def test_two_environments_in_turn_build_once_each_then_load_in_under_a_second(session_cache, other_python):
    """This environment (built at the start of the session) and another (built in the test above, or
    here when run alone) load the kernels in turn, three times each: never a rebuild."""
    pythons = {"this": sys.executable, "other": other_python}
    compiled, times = {"this": 0, "other": 0}, {"this": [], "other": []}
    for _ in range(3):
        for name, python in pythons.items():
            seconds, messages = run_python(python, session_cache, build.TIMEOUT + 120)
            compiled[name] += messages.count("compiling the native kernels")
            times[name].append(seconds)
    print("build.native() seconds, in turn:", {name: [f"{s:.3f}" for s in t] for name, t in times.items()})
    assert compiled == {"this": 0, "other": compiled["other"]} and compiled["other"] <= 1
    assert all(s < 1 for s in times["this"]) and all(s < 1 for s in times["other"][1:])


def test_avx2_only_is_a_build_of_its_own(kernel_settings):
    default = (build.cflags(), build.module_name(), build.build_dir())
    kernel_settings(isa="avx2")
    assert build.cflags() == default[0] + ["-mno-avx512f"]  # -march=native without AVX-512
    assert build.module_name() == "rnnzoo_recurrent_avx2"  # so both can be loaded in one process
    assert build.build_dir() != default[2] and build.build_dir().parent == default[2].parent
    assert build.key_parts()["isa"] == "avx2 -mno-avx512f"
