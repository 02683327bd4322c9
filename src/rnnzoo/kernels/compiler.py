"""The compile itself, run by build.py as a child process that dies, compilers and all, with its parent.

    python compiler.py '{"name": ..., "sources": [...], "folder": ..., "cflags": [...], "ldflags": [...], "pipe": fd}'

build.py starts this script (by path: it imports only the standard library and torch) in a new
session, so that it, ninja and every compiler ninja starts form one process group, and keeps the
write end of a pipe whose read end is `pipe`. A watcher thread here blocks on that pipe; it reads
end-of-file as soon as the parent is gone, however it ended (SIGKILL included: the kernel closes a
dead process's files), and then kills the whole group. torch.utils.cpp_extension.load compiles
into `folder`, a private temporary folder that build.py moves into place once the library loads.
Exit status 0 on success; otherwise the error, on stderr, and status 1.
"""

import json
import os
import signal
import sys
import threading


def die_with_parent(pipe: int) -> None:
    os.read(pipe, 1)  # returns only at end-of-file: the parent never writes
    os.killpg(0, signal.SIGKILL)  # this process, ninja and the compilers


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
