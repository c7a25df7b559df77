# Attack: reach the grading machine over the network (a listener on its loopback, any address).
import socket

reached = []
for host in ("127.0.0.1", "localhost", "{{HOST_IP}}"):
    try:
        with socket.create_connection((host, {{PORT}}), timeout=2) as s:
            s.sendall(b"LEAK from the sandbox")
            reached.append(host)
    except OSError as exc:
        print(host, "unreachable:", exc)
try:
    socket.getaddrinfo("example.com", 80)
    reached.append("dns")
except OSError as exc:
    print("dns:", exc)
if reached:
    raise SystemError(f"network reached: {reached}")
raise ConnectionError("no network")
