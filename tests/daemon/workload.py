#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in job until tests/workload/nm-workload exists: NPROC processes
of 2 threads each, MIB MiB each filled with a pattern, checked over and
over.  Prints "pids: P,P,..." once all are ready; each process writes
"ok N" (N checks so far) or "BAD" to STATUS.<pid>.

  workload.py NPROC MIB STATUSDIR
"""
import hashlib
import os
import sys
import threading
import time


def worker(mib, statusdir):
    data = bytearray(os.urandom(1 << 20)) * mib
    want = hashlib.sha256(data).hexdigest()
    path = os.path.join(statusdir, "status.%d" % os.getpid())
    checks = [0]

    def spin():
        while True:
            time.sleep(0.01)
    threading.Thread(target=spin, daemon=True).start()
    with open(path + ".tmp", "w") as f:
        f.write("ok 0\n")
    os.rename(path + ".tmp", path)
    while True:
        ok = hashlib.sha256(data).hexdigest() == want
        checks[0] += 1
        with open(path + ".tmp", "w") as f:
            f.write(("ok %d\n" % checks[0]) if ok else "BAD\n")
        os.rename(path + ".tmp", path)
        time.sleep(0.05)


def main():
    nproc, mib, statusdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    pids = []
    for _ in range(nproc):
        pid = os.fork()
        if pid == 0:
            worker(mib, statusdir)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        while not os.path.exists(os.path.join(statusdir, "status.%d" % pid)):
            time.sleep(0.02)
    print("pids: " + ",".join(map(str, pids)), flush=True)
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


if __name__ == "__main__":
    main()
