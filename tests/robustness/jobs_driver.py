"""`python jobs_driver.py COMMAND ARGS...`: `codeckit COMMAND ARGS...` where a worker process kills itself (SIGKILL)
on any input whose name contains "die" (fault injection for `--jobs N`).

Spawned workers run this file's top level again (as `__mp_main__`), so the patches below reach them.
"""

from __future__ import annotations

import os
import signal
import sys

import codeckit.bench.runner as bench_runner
import codeckit.commands.tokenize as tokenize_command


def _die_on(name: str) -> None:
    if "die" in os.path.basename(str(name)):
        os.kill(os.getpid(), signal.SIGKILL)


_tokenize_one = tokenize_command.tokenize_one
_process = bench_runner.process


def tokenize_one(src, dst, n_quantizers=None):
    _die_on(src)
    return _tokenize_one(src, dst, n_quantizers=n_quantizers)


def process(task):
    _die_on(task.item.path)
    return _process(task)


tokenize_command.tokenize_one = tokenize_one
bench_runner.process = process

if __name__ == "__main__":
    from codeckit.cli import main

    sys.exit(main(sys.argv[1:]))
