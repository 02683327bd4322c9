"""The compile itself, run by build.py as a child process that dies, compilers and all, with its parent.

    python compiler.py '{"name": ..., "sources": [...], "folder": ..., "cflags": [...], "ldflags": [...], "pipe": fd}'

build.py starts this script (by path: it imports only the standard library and torch) in a new
session, so that it, ninja and every compiler ninja starts belong to that session (ninja gives
each command a process group of its own, so a process group would not do), and keeps the write
end of a pipe whose read end is `pipe`. A watcher thread here blocks on that pipe; it reads
end-of-file as soon as the parent is gone, however it ended (SIGKILL included: the kernel closes a
dead process's files), and then kills the whole session (kill_session, also what build.py does
after the compile, whatever its outcome). torch.utils.cpp_extension.load compiles
into `folder`, a private temporary folder that build.py moves into place once the library loads.
Exit status 0 on success; otherwise the error, on stderr, and status 1.
"""

import json
import os
import signal
import sys
import threading
from pathlib import Path


def die_with_parent(pipe: int) -> None:
    os.read(pipe, 1)  # returns only at end-of-file: the parent never writes
    kill_session(os.getsid(0))


def kill_session(session: int) -> None:
    """SIGKILL to every process of `session` (this one last, if it is one), until none is left (Linux /proc)."""
    for _ in range(100):  # a process forking as it is killed leaves a child: sweep again
        members = [pid for pid in session_members(session) if pid != os.getpid()]
        if not members:
            break
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:  # gone already
                pass
    if os.getsid(0) == session:
        os.kill(os.getpid(), signal.SIGKILL)


def session_members(session: int) -> list[int]:
    """The live processes (zombies excepted) whose session is `session`, from /proc/<pid>/stat."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, _, sid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue
        if int(sid) == session and state != "Z":
            members.append(int(entry.name))
    return members


def main(argument: str) -> int:
    job = json.loads(argument)
    threading.Thread(target=die_with_parent, args=(job["pipe"],), daemon=True).start()
    from torch.utils import cpp_extension

    try:
        cpp_extension.load(name=job["name"], sources=job["sources"], build_directory=job["folder"],
                           extra_cflags=job["cflags"], extra_ldflags=job["ldflags"], verbose=False)
    except Exception as error:  # a compile error, no ninja: the parent warns with this text
        print(str(error).strip() or type(error).__name__, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
