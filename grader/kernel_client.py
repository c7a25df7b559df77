"""The kernel manager and notebook client of a grading: a kernel of this very Python started
under the sandbox's command, and a client that keeps a bounded amount of its output."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode
from traitlets import Any as AnyTrait
from traitlets import List, Unicode

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one message from the kernel, at most


class GradingKernelManager(AsyncKernelManager):
    """A kernel of this very Python, started under the sandbox's command (`wrap`), talking over
    unix sockets in a folder the sandbox shares when `transport` is "ipc"."""

    prefix = List(Unicode(), default_value=[])
    wrap = AnyTrait(default_value=None, allow_none=True)  # argv -> the sandboxed argv
    owner = AnyTrait(default_value=None, allow_none=True)  # uid that must read the connection file

    def client(self, **kwargs: Any) -> Any:
        """A client whose sockets refuse any message larger than MAX_MESSAGE_BYTES: the kernel cannot
        make the host hold an output of gigabytes (such a message is lost; output counts as truncated)."""
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        kc = super().client(context=context, **kwargs)
        kc._created_context = True  # destroyed with the client
        return kc

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
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
    """Keeps at most `max_chars` of output in memory; notes when it dropped some."""

    def __init__(self, *args: Any, max_chars: int, **kwargs: Any) -> None:
        log = logging.getLogger(f"{__name__}.client{id(self)}")
        log.propagate = False
        log.addHandler(_LostOutput(self))
        super().__init__(*args, log=log, **kwargs)
        self.kept_chars = 0
        self.max_chars = max_chars
        self.truncated = False
        self.clients: list[Any] = []

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self.clients.append(kc)  # it makes a zmq context of its own
        return kc

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

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int) -> NotebookNode | None:
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.kept_chars + size > self.max_chars and msg.get("msg_type") != "error":
            self.truncated = True
            return None
        self.kept_chars += size
        return super().output(outs, msg, display_id, cell_index)


class _LostOutput(logging.Handler):
    """nbclient's "Timeout waiting for IOPub output": output was lost (e.g. a message over the size
    limit was refused), so the output kept is not all there was."""

    def __init__(self, client: CappedClient) -> None:
        super().__init__(logging.WARNING)
        self.client = client

    def emit(self, record: logging.LogRecord) -> None:
        if "IOPub" in record.getMessage():
            self.client.truncated = True
