"""Blocking work for the playground that stops when its request gives up on it.

anyio's ``to_thread.run_sync(..., abandon_on_cancel=True)`` answers the client after a time-out
but leaves the thread computing, so every 504 kept a core busy for as long as the work wanted
and freed its worker slot while it did. Here each piece of work runs in its own thread; on a
time-out :meth:`Work.cancel` raises :class:`WorkCancelled` inside that thread
(``PyThreadState_SetAsyncExc``, delivered at the thread's next Python bytecode: encoding,
rendering and sampling all return to Python between tokens or layers), and the worker slot
stays taken until the thread has really ended. Work stuck inside one long C call ends when
that call returns; the client is answered after at most :data:`CANCEL_GRACE_S` regardless.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

#: Seconds a timed-out request waits for its cancelled work to stop before answering anyway.
CANCEL_GRACE_S = 1.0


class WorkCancelled(BaseException):
    """Raised inside a worker thread whose request was abandoned (not an ``Exception``, so
    ``except Exception`` in the work does not swallow it)."""


def _set_async_exc(ident: int, exc: type[BaseException] | None) -> int:
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc) if exc is not None else None)


class Work(threading.Thread):
    """One call of ``fn`` in its own thread; ``finished`` is set (on the event loop) at its end."""

    def __init__(self, fn: Callable[[], Any], on_end: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="tokenkit-serve-work")
        self.fn, self.on_end = fn, on_end
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancelled = False
        self._running = True
        self._guard = threading.Lock()

    def run(self) -> None:
        try:
            try:
                self.result = self.fn()
            except BaseException as e:  # noqa: BLE001 - handed to the request that asked
                self.error = e
            finally:
                with self._guard:
                    self._running = False
                _set_async_exc(threading.get_ident(), None)  # drop one that came too late
        except WorkCancelled:
            pass
        finally:
            self.on_end()

    def cancel(self) -> None:
        """Interrupt the work at its next Python bytecode (once; no-op when it has ended)."""
        with self._guard:
            if self._running and not self.cancelled and self.ident is not None:
                self.cancelled = True
                _set_async_exc(self.ident, WorkCancelled)

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


async def run_cancellable(fn: Callable[[], Any], limiter: anyio.CapacityLimiter,
                          timeout: float) -> tuple[bool, Any]:
    """``(True, fn())`` within ``timeout`` seconds (waiting for a slot included), else
    ``(False, None)`` after cancelling the work. The slot is held until the thread ends."""
    token = anyio.lowlevel.current_token()
    finished = anyio.Event()
    work: Work | None = None

    def release() -> None:
        limiter.release_on_behalf_of(work)
        finished.set()

    def on_end() -> None:
        try:
            anyio.from_thread.run_sync(release, token=token)
        except RuntimeError:  # the event loop is gone (server shut down): nothing to release
            pass

    with anyio.move_on_after(timeout):
        work = Work(fn, on_end)
        await limiter.acquire_on_behalf_of(work)
        try:
            work.start()
        except BaseException:
            limiter.release_on_behalf_of(work)
            raise
        try:
            await finished.wait()
        finally:
            if not finished.is_set():
                work.cancel()
                with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_GRACE_S):
                    await finished.wait()
        return True, work.outcome()
    return False, None
