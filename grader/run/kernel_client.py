"""The kernel manager and notebook client of a grading: a kernel of this very Python started
under the sandbox's command, and a client that keeps a bounded amount of its output.

The kernel runs the student's code, so every message it sends is hostile input: each one is
refused past MAX_MESSAGE_BYTES, at most RECEIVE_QUEUE of them wait in the host, one that does not
deserialize into a well-formed message is dropped, and every message (errors and comms included)
counts against the output cap. zmq takes a multipart message in whole, whatever its frames: the
host's memory guard (`grader.run.host_memory`) bounds what that holds."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbformat import NotebookNode
from traitlets import Any as AnyTrait
from traitlets import List, Type, Unicode, default

from grader.run.host_memory import new_context

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # one message from the kernel, at most (the output cap is 2 million characters)
RECEIVE_QUEUE = 16  # messages received but not yet read, per socket (zmq's high-water mark)
SOCKET_OPTIONS: dict[int, int] = {zmq.MAXMSGSIZE: MAX_MESSAGE_BYTES, zmq.RCVHWM: RECEIVE_QUEUE}


class GuardedChannel(AsyncZMQSocketChannel):
    """A channel that drops what does not deserialize into a well-formed message (frames that are
    not JSON, a header, parent header or content that is not an object): nbclient indexes into
    every message it gets, and a hostile kernel sends whatever it likes."""

    on_drop: Callable[[], None] | None = None  # told of each message dropped

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not await self.socket.poll(wait_ms):
                raise Empty
            try:
                msg = await self._recv()
            except (zmq.ZMQError, Empty):
                raise
            except Exception:  # noqa: BLE001 - a frame the session could not deserialize
                msg = None
            if _well_formed(msg):
                return msg  # type: ignore[return-value]
            if self.on_drop:
                self.on_drop()


def _well_formed(msg: Any) -> bool:
    return (
        isinstance(msg, dict)
        and isinstance(msg.get("msg_type"), str)
        and all(isinstance(msg.get(part), dict) for part in ("header", "parent_header", "content", "metadata"))
        and isinstance(msg.get("buffers", []), list)
    )


class KernelNotReady(Exception):
    """The kernel stopped, or did not answer, before it was ready to run a cell: jupyter_client's
    `wait_for_ready` says so with a RuntimeError, which this names."""


class GuardedKernelClient(AsyncKernelClient):
    """An asynchronous kernel client whose channels drop malformed messages."""

    shell_channel_class = Type(GuardedChannel)
    iopub_channel_class = Type(GuardedChannel)
    stdin_channel_class = Type(GuardedChannel)
    control_channel_class = Type(GuardedChannel)

    def start_channels(self, shell: bool = True, iopub: bool = True, stdin: bool = True, hb: bool = True, control: bool = True) -> None:
        """Every channel but the heartbeat: the kernel's life is its process's (the manager
        polls it), and a heartbeat that misses a beat reopens its socket by path."""
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answers; raises KernelNotReady where it died or stayed silent."""
        try:
            await super()._async_wait_for_ready(timeout=timeout)
        except RuntimeError as exc:
            raise KernelNotReady(str(exc)) from exc


class GradingKernelManager(AsyncKernelManager):
    """A kernel of this very Python, started under the sandbox's command (`wrap`), talking over
    unix sockets in a folder the sandbox shares when `transport` is "ipc"."""

    prefix = List(Unicode(), default_value=[])
    wrap = AnyTrait(default_value=None, allow_none=True)  # argv -> the sandboxed argv
    owner = AnyTrait(default_value=None, allow_none=True)  # uid that must read the connection file

    client_factory = Type(default_value=GuardedKernelClient, klass=AsyncKernelClient)

    def client(self, **kwargs: Any) -> Any:
        """A client whose sockets refuse any message larger than MAX_MESSAGE_BYTES and queue at most
        RECEIVE_QUEUE of them: the kernel cannot make the host hold an output of gigabytes (such
        messages are lost; the output counts as truncated)."""
        kc = super().client(context=new_context(SOCKET_OPTIONS), **kwargs)
        kc._created_context = True  # destroyed with the client
        return kc

    @default("context")
    def _context_default(self) -> zmq.Context:
        """The manager's own sockets (the control channel it shuts the kernel down with) take the
        same limits, and their I/O thread is known to the host's memory guard."""
        self._created_context = True
        return new_context(SOCKET_OPTIONS)

    @property
    def kernel_spec(self) -> KernelSpec:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="grader", language="python", env={})

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = [*self.prefix, *super().format_kernel_cmd(extra_arguments)]
        return self.wrap(cmd) if self.wrap else cmd

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


class CappedClient(NotebookClient):
    """Keeps at most `max_chars` of what the kernel sends about a cell in memory (every message
    counts: outputs, errors, display updates, comms); notes when it dropped some."""

    def __init__(self, *args: Any, max_chars: int, **kwargs: Any) -> None:
        log = logging.getLogger(f"{__name__}.client{id(self)}")
        log.propagate = False
        log.addHandler(_LostOutput(self))
        super().__init__(*args, log=log, store_widget_state=False, **kwargs)
        self.kept_chars = 0
        self.max_chars = max_chars
        self.truncated = False
        self.clients: list[Any] = []

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self.clients.append(kc)  # it makes a zmq context of its own
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.on_drop = self._lost
        return kc

    def _lost(self) -> None:
        self.truncated = True

    def release(self) -> None:
        """Free what outlives a run: the per-client logger and the zmq contexts (their sockets,
        eventfds and I/O threads), so that a long-lived grader does not leak them."""
        self.log.handlers.clear()
        logging.Logger.manager.loggerDict.pop(self.log.name, None)
        for kc in self.clients:
            if kc.channels_running:
                kc.stop_channels()  # joins the heartbeat thread before its socket goes
        for context in [*(kc.context for kc in self.clients), self.km.context if self.km else None]:
            if context is not None and not context.closed:
                context.destroy(linger=0)
        self.clients.clear()

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        """Every message about the cell counts against the cap (a status message is never
        dropped: "idle" ends the cell); one nbclient cannot process is dropped."""
        size = message_size(msg, self.max_chars + 1)
        if msg.get("msg_type") != "status":
            if self.kept_chars + size > self.max_chars:
                self.truncated = True
                return None
            self.kept_chars += size
        try:
            return super().process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            raise
        except Exception:  # noqa: BLE001 - a message of a shape nbclient did not expect: the kernel's doing
            self.truncated = True
            return None


def message_size(msg: dict[str, Any], limit: int) -> int:
    """Characters of the content and bytes of the buffers of `msg`, counted without recursion and
    given up past `limit` (a message holds a bounded amount: at most MAX_MESSAGE_BYTES arrived)."""
    total = sum(len(b) for b in msg.get("buffers", ()) if isinstance(b, (bytes, bytearray, memoryview)))
    stack: list[Any] = [msg.get("content")]
    while stack and total <= limit:
        value = stack.pop()
        if isinstance(value, str):
            total += len(value) + 2
        elif isinstance(value, dict):
            total += 2 + len(value)
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            total += 2 + len(value)
            stack.extend(value)
        else:
            total += 8
    return total


class _LostOutput(logging.Handler):
    """nbclient's "Timeout waiting for IOPub output": output was lost (e.g. a message over the size
    limit was refused), so the output kept is not all there was."""

    def __init__(self, client: CappedClient) -> None:
        super().__init__(logging.WARNING)
        self.client = client

    def emit(self, record: logging.LogRecord) -> None:
        if "IOPub" in record.getMessage():
            self.client.truncated = True
