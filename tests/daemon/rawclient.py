#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Speaks numamigrated's wire protocol byte by byte, for the tests.

  rawclient.py unix PATH CASE   send one crafted frame (see CASES), print
                                every frame the daemon sends back, one
                                JSON per line, then "EOF"
  rawclient.py tcp HOST:PORT BODYHEX   send bytes as one frame over TCP
  rawclient.py unix-json PATH JSON     send JSON (a request) as one frame
"""
import json
import socket
import struct
import sys


def frame(body):
    return struct.pack(">I", len(body)) + body


def req(obj):
    return frame(json.dumps(obj).encode())


CASES = {
    "ping": req({"version": 1, "op": "ping"}),
    "not-json": frame(b"{version: 1"),
    "not-object": frame(b"[1,2,3]"),
    "trailing": frame(b'{"version":1,"op":"ping"} {}'),
    "nul": frame(b'{"version":1,"op":"ping"}\x00'),
    "no-version": req({"op": "status"}),
    "bad-version": req({"version": 2, "op": "status"}),
    "unknown-op": req({"version": 1, "op": "shutdown"}),
    "unknown-key": req({"version": 1, "op": "status", "all": True}),
    "wrong-type": req({"version": 1, "op": "move", "pids": ["1"],
                       "to": "0"}),
    "register-unknown-key": req({"version": 1, "op": "register",
                                 "tasks": [{"pid": 1, "rank": 0}],
                                 "job": 1, "uid": 0}),
    "register-dup": req({"version": 1, "op": "register",
                         "tasks": [{"pid": 1, "rank": 0},
                                   {"pid": 1, "rank": 1}]}),
    "move-no-target": req({"version": 1, "op": "move", "pids": [1]}),
    "move-cgroup-escape": req({"version": 1, "op": "move",
                               "cgroup": "/sys/fs/cgroup/../../etc",
                               "to": "0"}),
    "move-bad-nodes": req({"version": 1, "op": "move", "pids": [1],
                           "to": "0-"}),
    "deep": frame(b"[" * 100000 + b"]" * 100000),
    "empty": struct.pack(">I", 0),
    "oversized": struct.pack(">I", (1 << 20) + 1) + b"{" * 64,
    "huge-header": struct.pack(">I", 0xFFFFFFFF),
    # a header promising more than is sent, then the write side closes
    "truncated-body": struct.pack(">I", 100) + b'{"version":1,',
    "truncated-header": b"\x00\x00",
}


def drain(s):
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
    while len(buf) >= 4:
        n = struct.unpack(">I", buf[:4])[0]
        print(buf[4:4 + n].decode())
        buf = buf[4 + n:]
    if buf:
        print("TRAILING %d bytes" % len(buf))
    print("EOF")


def main():
    kind, where, what = sys.argv[1:4]
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(where)
        data = CASES[what]
    elif kind == "unix-json":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(where)
        data = frame(what.encode())
    else:
        host, port = where.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
        data = frame(bytes.fromhex(what))
    s.settimeout(30)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    drain(s)


if __name__ == "__main__":
    main()
