"""The CPU platform module: each patch works, and fails loudly when the upstream code it relies on changes."""

import inspect
import os
import subprocess
import sys


def _run(code: str, **env) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (verl's platform is a per-process singleton)."""
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=300)


def test_upstream_still_builds_the_duplicate_backend_string():
    """Patch 2 exists because of this exact line; if verl changes it, revisit the patch."""
    from verl.utils import distributed
    from verl.workers import engine_workers

    src = inspect.getsource(distributed.initialize_global_process_group_ray)
    assert 'backend = backend or f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}"' in src
    # The patch replaces the name engine_workers imported; it must still be imported and called by name there.
    assert engine_workers.initialize_global_process_group_ray is not None
    assert "initialize_global_process_group_ray(timeout_second=None)" in inspect.getsource(engine_workers)


def test_upstream_vllm_cpu_still_prepacks_through_onednn_flag():
    """Patch 3 turns off ``_supports_onednn``; the dispatch must still read that flag."""
    from vllm import _custom_ops
    from vllm.model_executor.layers import utils as layer_utils

    assert hasattr(_custom_ops, "_supports_onednn")
    src = inspect.getsource(layer_utils)
    assert "ops._supports_onednn" in src and "layer.weight = torch.nn.Parameter(torch.empty(0)" in src


def test_upstream_vllm_still_compiles_its_sampler_helpers():
    """configs/platform/cpu.yaml sets TORCHDYNAMO_DISABLE=1 because vLLM wraps these ops in ``torch.compile`` even
    under enforce_eager (an inductor C++ build at every launch's warm-up); if vLLM stops, the setting is moot."""
    from vllm.v1.sample.ops import logprobs, topk_topp_sampler

    from cpu.verl_platform import VLLM_ENV_VARS
    from lab.inputs import compose

    assert "@torch.compile(" in inspect.getsource(logprobs) and "@torch.compile(" in inspect.getsource(
        topk_topp_sampler
    )
    env = compose("sept_cpu").ray_kwargs.ray_init.runtime_env.env_vars
    assert env["TORCHDYNAMO_DISABLE"] == "1" and "TORCHDYNAMO_DISABLE" in VLLM_ENV_VARS


def test_upstream_fsdp2_still_pins_forward_only_models():
    """Patch 5 replaces the ``CPUOffloadPolicy`` name transformer_impl calls with pin_memory=True."""
    from verl.workers.engine.fsdp import transformer_impl

    assert "offload_policy = CPUOffloadPolicy(pin_memory=True)" in inspect.getsource(transformer_impl)


def test_upstream_engine_lookup_honours_verl_engine_device():
    from verl.workers.engine import base

    assert "VERL_ENGINE_DEVICE" in inspect.getsource(base)


def test_cpu_platform_is_selected_and_patches_applied():
    code = """
import cpu.verl_platform as cp
from verl.utils.device import get_device_name, get_torch_device, get_nccl_backend
from verl.workers import engine_workers
from vllm import _custom_ops
assert get_device_name() == "cpu", get_device_name()
assert get_nccl_backend() == "gloo"
mod = get_torch_device()
free, total = mod.mem_get_info()
assert 0 < free <= total
state = mod.get_rng_state(); mod.set_rng_state(state)
assert engine_workers.initialize_global_process_group_ray.__sept_cpu_patch__
assert _custom_ops._supports_onednn is False
from verl.workers.engine.fsdp import transformer_impl
assert transformer_impl.CPUOffloadPolicy().pin_memory is False
print("ok")
"""
    proc = _run(code, VERL_PLATFORM="cpu")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


def test_gloo_group_initialises_only_with_the_patch():
    code = """
import os, torch.distributed as dist
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ["PORT"], RANK="0", WORLD_SIZE="1")
import cpu.verl_platform as cp
from verl.utils.distributed import initialize_global_process_group_ray as unpatched
if os.environ["PATCHED"] == "1":
    from verl.workers.engine_workers import initialize_global_process_group_ray as init
else:
    init = unpatched
init(timeout_second=None)
print(dist.get_backend())
"""
    ok = _run(code, VERL_PLATFORM="cpu", PATCHED="1", PORT="29611")
    assert ok.returncode == 0 and ok.stdout.strip() == "gloo", ok.stderr[-3000:]
    broken = _run(code, VERL_PLATFORM="cpu", PATCHED="0", PORT="29612")
    assert broken.returncode != 0 and "Duplicate device type cpu" in broken.stderr


def test_not_active_without_the_switch():
    code = """
import cpu.verl_platform
from verl.workers import engine_workers
assert not getattr(engine_workers.initialize_global_process_group_ray, "__sept_cpu_patch__", False)
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "VERL_PLATFORM"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_upstream_sft_entry_still_builds_the_duplicate_backend_string():
    """Patch 4 replaces ``initialize_global_process_group`` for verl's SFT trainer (offline SePT); it mirrors this
    function's result, and works because ``run_sft`` imports it from the module when it runs."""
    from verl.trainer import sft_trainer
    from verl.utils import distributed

    src = inspect.getsource(distributed.initialize_global_process_group)
    assert 'backend = f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}"' in src
    assert "def initialize_global_process_group(timeout_second=36000):" in src
    assert "return local_rank, rank, world_size" in src
    assert "get_torch_device().set_device(local_rank)" in src
    run_sft = inspect.getsource(sft_trainer.run_sft)
    assert "from verl.utils.distributed import initialize_global_process_group" in run_sft


def test_sft_process_group_initialises_only_with_the_patch():
    code = """
import os, torch.distributed as dist
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ["PORT"], RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
from verl.utils import distributed
unpatched = distributed.initialize_global_process_group
import cpu.verl_platform
init = distributed.initialize_global_process_group if os.environ["PATCHED"] == "1" else unpatched
print(init(timeout_second=60), dist.get_backend())
"""
    ok = _run(code, VERL_PLATFORM="cpu", PATCHED="1", PORT="29613")
    assert ok.returncode == 0 and ok.stdout.strip().endswith("(0, 0, 1) gloo"), ok.stderr[-3000:]
    broken = _run(code, VERL_PLATFORM="cpu", PATCHED="0", PORT="29614")
    assert broken.returncode != 0 and "Duplicate device type cpu" in broken.stderr
