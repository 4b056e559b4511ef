"""A bounded executor for work whose answer is already decided: fixed threads, bounded queue.

Registration and initiateRecovery answer the same whatever the facts, so their answer must
not wait on the work that depends on the facts; otherwise, under load, when the work runs
past the response floor, the answer's timing tells what the work found. The work is queued
here instead. A full queue refuses new work at once, for every caller alike.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import cast

from core.metrics import BACKGROUND_WORK

log = logging.getLogger(__name__)

Work = Callable[[], None]
_STOP = object()


class BoundedExecutor:
    """`workers` threads (started on first use, so a fork never loses them) and a queue."""

    def __init__(self, workers: int, queue_size: int, name: str = "background") -> None:
        self._workers = workers
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._name = name
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unfinished = 0
        self._closed = False

    def submit(self, operation: str, work: Work) -> bool:
        """Queue `work`; False (and counted) when the queue is full or the executor closed."""
        with self._lock:
            if self._closed:
                BACKGROUND_WORK.labels(operation, "rejected").inc()
                return False
            self._start_threads()
            # The work runs in a copy of the request's context: its log lines keep the
            # request id and operation of the request that queued it.
            context = contextvars.copy_context()
            try:
                self._queue.put_nowait((operation, lambda: context.run(work)))
            except queue.Full:
                BACKGROUND_WORK.labels(operation, "rejected").inc()
                return False
            self._unfinished += 1
        BACKGROUND_WORK.labels(operation, "queued").inc()
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued piece of work has finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._unfinished:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def shutdown(self, timeout: float) -> bool:
        """Refuse new work, let queued work finish, stop the threads; False if some is left."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        finished = self.wait_idle(timeout)
        for _ in threads:
            try:  # a full queue (work left after the timeout) must not hold shutdown up
                self._queue.put_nowait(_STOP)
            except queue.Full:
                break
        for thread in threads:
            thread.join(timeout=1)
        return finished

    def _start_threads(self) -> None:
        if self._threads:
            return
        for number in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"{self._name}-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self) -> None:
        while self._run_one(self._queue.get()):
            pass

    def _run_one(self, item: object) -> bool:
        """Run one piece of work; False on the stop signal.

        One call per piece, so that nothing of it (the request's context, its body) stays
        referenced from the thread while it waits for the next.
        """
        if item is _STOP:
            return False
        operation, work = cast("tuple[str, Work]", item)
        try:
            work()
            BACKGROUND_WORK.labels(operation, "done").inc()
        except Exception as error:  # noqa: BLE001 - one failure must not end the worker
            # The type only: an AWS error's text can quote an email address.
            log.error("background %s failed: %s", operation, type(error).__name__)  # noqa: TRY400
            BACKGROUND_WORK.labels(operation, "failed").inc()
        finally:
            with self._idle:
                self._unfinished -= 1
                if not self._unfinished:
                    self._idle.notify_all()
        return True
