"""A stand-in for a Celery worker that is slower than the person watching the page.

The suite runs tasks eagerly, inside the request that asks for them, so a browser would never see a
batch or an import in progress. ``SlowWorker`` holds the named tasks back until ``start()`` runs the
next one in a thread of its own (with its own database connection, as a worker process has), and a
``gate`` makes a step of that task wait for ``step()``: the test decides when the work moves, and the
page's own refresh (a meta tag, no script) shows where it is. Every other task still runs at once.
"""

import threading

from django.db import connections

import tenancy.tasks


class SlowWorker:
    def __init__(self, monkeypatch, *task_names: str):
        self.monkeypatch, self.names = monkeypatch, set(task_names)
        self.queue, self.threads, self.errors = [], [], []
        self.gate_open = threading.Semaphore(0)
        enqueue = tenancy.tasks._enqueue_now

        def hold(task, kwargs):
            if task.name in self.names:
                self.queue.append((task, kwargs))
            else:
                enqueue(task, kwargs)

        monkeypatch.setattr(tenancy.tasks, "_enqueue_now", hold)

    def gate(self, module, name: str) -> None:
        """Each call of ``module.name`` from now on waits for a ``step()``."""
        function = getattr(module, name)

        def gated(*args, **kwargs):
            if not self.gate_open.acquire(timeout=30):
                raise TimeoutError(f"the test never let {name} go on")
            return function(*args, **kwargs)

        self.monkeypatch.setattr(module, name, gated)

    def start(self) -> str:
        """Run the oldest task held back, in a thread; returns its name."""
        assert self.queue, f"no task of {sorted(self.names)} was asked for"
        task, kwargs = self.queue.pop(0)

        def run():
            try:
                task.apply(kwargs=kwargs, throw=True)
            except Exception as exc:  # reported by finish(), in the test's thread
                self.errors.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, name=f"slow-worker {task.name}", daemon=True)
        thread.start()
        self.threads.append(thread)
        return task.name

    def step(self, times: int = 1) -> None:
        for _ in range(times):
            self.gate_open.release()

    def finish(self) -> None:
        """Let every gated step through and wait for the tasks started; fail on their errors."""
        self.step(10_000)
        while self.threads:
            thread = self.threads.pop()
            thread.join(timeout=30)
            assert not thread.is_alive(), f"{thread.name} did not end"
        assert not self.errors, f"a task failed: {self.errors!r}"
