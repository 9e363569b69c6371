"""The trainer's speed options: `train.num_threads` / `train.num_interop_threads`, `train.precision`
(bfloat16 autocast, on the CPU only with `bf16_cpu`) and `train.compile` (torch.compile, with one clear
error when it cannot compile). `benches/train_throughput.py` measures what each buys.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import torch

from codeckit.errors import CodeckitError

log = logging.getLogger("codeckit.train")


class CompileError(CodeckitError, RuntimeError):
    """`train.compile` is set but torch.compile cannot compile the model (no C++ compiler, an unsupported op)."""


def set_threads(num_threads: int | None, num_interop_threads: int | None) -> None:
    """Apply the thread counts of `train:` to this process (None leaves torch's setting)."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    if num_interop_threads is not None and torch.get_num_interop_threads() != num_interop_threads:
        try:
            torch.set_num_interop_threads(num_interop_threads)
        except RuntimeError:  # torch allows it once, before any inter-op work
            log.warning(
                "train.num_interop_threads=%d not applied: this process already started inter-op work (keeps %d)",
                num_interop_threads,
                torch.get_num_interop_threads(),
            )


def autocast_device(precision: str, device: torch.device) -> str | None:
    """The device type to run under bfloat16 autocast, or None for fp32."""
    if precision == "bf16" and device.type == "cuda":
        return "cuda"
    if precision == "bf16_cpu" and device.type in ("cuda", "cpu"):
        return device.type
    return None


def autocast(device_type: str | None) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on `device_type` (from `autocast_device`), or nothing for None (fp32)."""
    if device_type is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16)


def _compile_errors() -> tuple[type[BaseException], ...]:
    import torch._dynamo.exc as dynamo_exc
    import torch._inductor.exc as inductor_exc

    names = ("InductorError", "CppCompileError", "InvalidCxxCompiler")
    return (dynamo_exc.TorchDynamoException, *(getattr(inductor_exc, n) for n in names if hasattr(inductor_exc, n)))


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else 'no message'}"


class Compiled:
    """`torch.compile(module)`, called like the module; a compile failure becomes a `CompileError` naming the cause.

    Compilation happens at the first calls (and again when a guard fails, e.g. the discriminators'
    `requires_grad` flips between their own update and the codec's), so every call is checked.
    """

    def __init__(self, module: Callable[..., Any], what: str):
        self.module = module
        self.what = what
        self.compiled = torch.compile(module)
        self._errors = _compile_errors()
        log.info("train.compile: the %s compiles at its first call (a first step of a minute or more)", what)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.compiled(*args, **kwargs)
        except self._errors as e:
            raise CompileError(
                f"train.compile: torch.compile could not compile the {self.what} ({_root_cause(e)}); "
                "set train.compile: none to train without it"
            ) from e
