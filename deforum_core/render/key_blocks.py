"""A render's key blocks, handed to the writer in order: inline, or on one worker thread
beside the loop.

With cadence, each key completes a block: the frames between the previous key and it, the key
itself, and the state that vouches for them. The next key needs this key, not its block, so
where a block is safe beside the loop (a camera whose moves keep no state, no diffuser; a
motion preview's work) it runs on one worker thread while the loop makes the next key, which
spreads a preview's warps over two cores without a wait between each operation. Blocks still
run one at a time and in order, so the writer receives every frame in order. A block's error
(a cancel, a full disk) is raised in the loop at the next key, or when the blocks end.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any

THREAD_NAME = "deforum-key-block"


class KeyBlocks:
    """Runs key blocks in order, each after the one before has finished (see the module
    docstring). Use it as a context manager: it waits for the last block when it ends."""

    def __init__(self, *, beside: bool) -> None:
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME) if beside else None
        self._pending: Future | None = None

    def run(self, block: Callable[..., None], *arguments: Any) -> None:
        """Run block(*arguments) once the previous block is done: here, or on the worker."""
        self.wait()
        if self._worker is None:
            block(*arguments)
        else:
            self._pending = self._worker.submit(block, *arguments)

    def wait(self) -> None:
        """Wait for the block running beside the loop; raises its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> KeyBlocks:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self.wait()
            else:  # the block writes whole frames or stops at its own cancel check
                with suppress(Exception):
                    self.wait()
        finally:
            if self._worker is not None:
                self._worker.shutdown(wait=True)
