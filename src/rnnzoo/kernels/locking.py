"""A lock file that dies with its holder, for work that only one process at a time may do.

    with held(path, timeout=600, what="compiling the native kernels"):
        ...

The lock is flock(2) on `path`: the kernel releases it when the holder's file is closed, and so
when the holder exits in any way (SIGKILL, an OOM kill, a pre-emption), so a dead process never
leaves it taken. (torch's cpp_extension instead uses a "lock" file whose mere existence means
taken; a killed build left it behind and every later load waited on it forever.) The file itself
stays, empty but for the holder's PID, which a waiter names in its message; it is never removed,
as removing a lock file while another process opens it would let two holders in at once.
POSIX only (fcntl).
"""

import fcntl
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

POLL = 0.2  # seconds between attempts while another process holds the lock


@contextmanager
def held(path: Path, timeout: float, what: str):
    """Holds the lock on `path` for the block; waits at most `timeout` s (TimeoutError), saying why once."""
    with open(path, "a+") as file:  # a+: create it if need be, without erasing the holder's PID
        start = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited > timeout:
                    raise TimeoutError(f"waited {waited:.0f} s for {holder(path)} {what}; gave up") from None
                if not told:
                    print(f"rnnzoo: waiting for {holder(path)}, which is {what} ...", file=sys.stderr, flush=True)
                    told = True
                time.sleep(POLL)
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        try:
            yield
        finally:
            file.truncate(0)
            fcntl.flock(file, fcntl.LOCK_UN)


def holder(path: Path) -> str:
    """'process 1234' (the PID the holder wrote), or 'another process' before it has written it."""
    try:
        pid = Path(path).read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"
