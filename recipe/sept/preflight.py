"""Checks that stop a GPU run before Ray starts: the GPU stack, the model's source, and the model's context.

Each ``check_*`` function is pure: it takes the composed config and facts gathered beforehand (``GpuFacts``,
``ModelFacts``, whether flash-attn imports) and returns ``Finding``s. An ``error`` finding names the key, the value
and the fix, and stops the run; a ``note`` is logged and the run goes on. ``gather_*`` collect the facts (torch,
the NVIDIA driver through libcuda, the model folder, the Hugging Face cache and Hub). ``check_before_ray(config)``
does both and raises ``PreflightError`` listing every error at once.

Rules chosen:
- torch vs driver: the driver must support torch's CUDA *major* version (CUDA's minor-version compatibility lets a
  13.0 driver run 13.x code); a driver older than torch's exact minor version is a note, since PTX compiled at run
  time (Triton kernels in vLLM and flash-linear-attention) can need the newer driver.
- GPU count: on one node (``trainer.nnodes = 1``) this machine must show ``trainer.n_gpus_per_node`` GPUs. With
  several nodes the driver process sees only its own node, so the count is left to Ray.
- Hub ids: a run is failed only on a definite answer, never because the network is down. A model in the local
  Hugging Face cache is checked from there without any network (a valid offline run passes). Otherwise the Hub is
  asked for the repository's metadata and its config.json only (no weights): "no such repository" and "gated,
  not logged in" stop the run; no answer (no network, timeout, server error) is a note saying the model could
  not be checked, and verl's loader then downloads or fails as it would have. ``HF_HUB_OFFLINE=1`` with the model
  (or its weights) absent from the cache is an error: the loader is then certain to fail.
- Context: the model's context is what verl's rollout reads, config.json ``max_position_embeddings`` (or the same
  key of ``text_config``); ``data.max_prompt_length + data.max_response_length`` must fit in it, and so must
  ``actor_rollout_ref.rollout.max_model_len`` when set (verl raises on it inside the vLLM server otherwise).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from recipe.sept.config import SePTConfigError

logger = logging.getLogger(__name__)

ERROR, NOTE = "error", "note"
MODEL_KEY = "actor_rollout_ref.model.path"
SETUP_HINT = "bash scripts/setup_gpu_env.sh (docs/gpu.md)"
DRIVER_HINT = "an NVIDIA driver of the R580 branch or newer (the first with CUDA 13.0)"
SDPA_OVERRIDE = "++actor_rollout_ref.model.override_config.attn_implementation=sdpa"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")

# ModelFacts.status values.
LOCAL, CACHED, HUB = "local folder", "Hugging Face cache", "Hub"
MISSING, NO_CONFIG, BAD_CONFIG = "missing", "no config.json", "unreadable config.json"
NOT_ON_HUB, GATED, OFFLINE_MISS, UNCHECKED = "not on the Hub", "gated", "offline, not cached", "unchecked"


class PreflightError(SePTConfigError):
    """One or more checks failed; the message lists each failed check with its fix."""


@dataclass(frozen=True)
class Finding:
    level: str
    key: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.message}"


def _error(key: str, value, message: str) -> Finding:
    return Finding(ERROR, key, value, message)


def _note(key: str, value, message: str) -> Finding:
    return Finding(NOTE, key, value, message)


# ---------------------------------------------------------------------------------------------------- GPU stack


@dataclass(frozen=True)
class GpuFacts:
    torch_version: str
    torch_cuda: str | None  # torch.version.cuda; None for a CPU-only build
    driver_cuda: tuple[int, int] | None  # newest CUDA the driver supports (cuDriverGetVersion); None: no driver
    driver_version: str | None  # e.g. "580.65.06", for messages
    cuda_available: bool
    device_count: int
    visible_devices: str | None  # CUDA_VISIBLE_DEVICES as set, None when unset


def _cuda_tuple(version: str) -> tuple[int, int]:
    major, minor = (version.split(".") + ["0"])[:2]
    return int(major), int(minor)


def check_gpu_stack(gpu: GpuFacts, gpus_needed: int | None) -> list[Finding]:
    """torch has CUDA, a driver is there and new enough, and GPUs are visible (at least ``gpus_needed``)."""
    if gpu.torch_cuda is None:
        return [
            _error(
                "torch",
                gpu.torch_version,
                "a CPU-only torch build cannot run on a GPU; install the GPU "
                f"stack: {SETUP_HINT} (or run on CPU: --config-name sept_cpu)",
            )
        ]
    driver = _driver_findings(gpu)
    # A missing or too-old driver makes every later check meaningless: report it alone.
    if any(finding.level == ERROR for finding in driver):
        return driver
    return driver + _visible_gpu_findings(gpu, gpus_needed)


def _driver_findings(gpu: GpuFacts) -> list[Finding]:
    """The driver loads and supports torch's CUDA major version (an older minor version is a note)."""
    torch_cuda = _cuda_tuple(gpu.torch_cuda)
    if gpu.driver_cuda is None:
        return [
            _error(
                "NVIDIA driver",
                "not found",
                f"libcuda.so.1 does not load; torch {gpu.torch_version} "
                f"needs {DRIVER_HINT}: install it and check `nvidia-smi`",
            )
        ]
    supported = f"{_driver_label(gpu)}, CUDA {gpu.driver_cuda[0]}.{gpu.driver_cuda[1]}"
    if gpu.driver_cuda[0] < torch_cuda[0]:
        return [
            _error(
                "NVIDIA driver",
                supported,
                f"torch {gpu.torch_version} is built for CUDA {gpu.torch_cuda}, newer than this driver "
                f"supports. Install {DRIVER_HINT}, or torch/vLLM builds for CUDA {gpu.driver_cuda[0]}.x "
                "(not the pins verl 0.9.1 is tested with; see docs/gpu.md)",
            )
        ]
    if gpu.driver_cuda < torch_cuda:
        return [
            _note(
                "NVIDIA driver",
                supported,
                f"older than torch's CUDA {gpu.torch_cuda}; CUDA's minor-version compatibility runs "
                "it, but kernels compiled at run time (Triton) may need a newer driver",
            )
        ]
    return []


def _driver_label(gpu: GpuFacts) -> str:
    return f"driver {gpu.driver_version or '(version unknown)'}"


def _visible_gpu_findings(gpu: GpuFacts, gpus_needed: int | None) -> list[Finding]:
    """torch sees a GPU, and at least as many as the preset asks for."""
    visible = (
        f"CUDA_VISIBLE_DEVICES={gpu.visible_devices!r}"
        if gpu.visible_devices is not None
        else "CUDA_VISIBLE_DEVICES unset"
    )
    if not gpu.cuda_available or gpu.device_count == 0:
        return [
            _error(
                "visible GPUs",
                0,
                f"torch sees no GPU ({visible}, {_driver_label(gpu)}): check `nvidia-smi` "
                "and CUDA_VISIBLE_DEVICES (an empty value hides every GPU)",
            )
        ]
    if gpus_needed is not None and gpu.device_count < gpus_needed:
        return [
            _error(
                "trainer.n_gpus_per_node",
                gpus_needed,
                f"this machine shows {gpu.device_count} GPU(s) ({visible}): set "
                f"trainer.n_gpus_per_node={gpu.device_count} (and scale the batch sizes and "
                "actor_rollout_ref.rollout.tensor_model_parallel_size to it), or make the GPUs visible",
            )
        ]
    return []


def is_cuda_run(config: DictConfig) -> bool:
    """An NVIDIA run: not the CPU preset, and verl's device is cuda (other devices, e.g. npu, are not checked here)."""
    return not OmegaConf.select(config, "sept.cpu", default=False) and config.trainer.device == "cuda"


def check_gpu(config: DictConfig, gpu: GpuFacts) -> list[Finding]:
    """``check_gpu_stack`` for a CUDA run (nothing otherwise); the GPU count only on one node (module doc)."""
    if not is_cuda_run(config):
        return []
    needed = int(config.trainer.n_gpus_per_node) if int(config.trainer.nnodes) == 1 else None
    return check_gpu_stack(gpu, needed)


def driver_cuda_version() -> tuple[int, int] | None:
    """The newest CUDA version the installed driver supports, from libcuda itself (no GPU context is created)."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    version = ctypes.c_int()
    if libcuda.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return None
    return version.value // 1000, (version.value % 1000) // 10


def driver_version() -> str | None:
    """The kernel module's version line ("NVRM version: ... 580.65.06 ..."), when the driver is loaded."""
    try:
        line = Path("/proc/driver/nvidia/version").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    words = [w for w in line.split() if w[:1].isdigit() and "." in w]
    return words[0] if words else None


def gather_gpu_facts() -> GpuFacts:
    import torch

    return GpuFacts(
        torch_version=torch.__version__,
        torch_cuda=torch.version.cuda,
        driver_cuda=driver_cuda_version(),
        driver_version=driver_version(),
        cuda_available=torch.cuda.is_available(),
        device_count=torch.cuda.device_count(),
        visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )


def check_attention(config: DictConfig, flash_attn_installed: bool) -> list[Finding]:
    """verl loads the actor with flash_attention_2 unless override_config says otherwise."""
    if not is_cuda_run(config):
        return []
    override = OmegaConf.select(config, "actor_rollout_ref.model.override_config", default=None) or {}
    attn = override.get("attn_implementation", "flash_attention_2")
    if attn == "flash_attention_2" and not flash_attn_installed:
        return [
            _error(
                "actor_rollout_ref.model.override_config.attn_implementation",
                attn,
                "verl's default, but flash-attn is not installed: install it (FLASH_ATTN_WHEEL=... "
                f"{SETUP_HINT}) or add {SDPA_OVERRIDE}",
            )
        ]
    return []


def flash_attn_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("flash_attn") is not None


# ---------------------------------------------------------------------------------------------------- model source


@dataclass(frozen=True)
class ModelFacts:
    path: str
    status: str  # one of the status constants above
    config: dict | None  # config.json, when it was read
    where: str  # the file read, or why nothing was read


def looks_like_local_path(path: str) -> bool:
    return path.startswith(("/", ".", "~")) or os.path.exists(path) or path.count("/") > 1


def check_model(model: ModelFacts) -> list[Finding]:
    """Errors for a model that cannot load; a note when a Hub id could not be checked."""
    fixes = {
        MISSING: "no such folder: point it at a model folder with a config.json or at a Hub id such as "
        "Qwen/Qwen2.5-0.5B-Instruct",
        NO_CONFIG: "no config.json there, so it is not a Hugging Face model folder (in a verl checkpoint the HF model "
        "is global_step_N/actor/huggingface/, written when save_contents has hf_model)",
        BAD_CONFIG: "config.json cannot be read as JSON; download the model again",
        NOT_ON_HUB: "no such model on the Hugging Face Hub, or a private one: check the spelling (e.g. "
        "Qwen/Qwen2.5-Math-1.5B) or log in (`hf auth login` or HF_TOKEN)",
        GATED: "a gated model: accept its terms on its Hub page, then log in (`hf auth login` or HF_TOKEN)",
        OFFLINE_MISS: "HF_HUB_OFFLINE=1 and the model is not fully in the Hugging Face cache: download it first "
        "(`hf download ID`) or unset HF_HUB_OFFLINE",
    }
    if model.status in fixes:
        return [_error(MODEL_KEY, model.path, f"{fixes[model.status]} ({model.where})")]
    if model.status == UNCHECKED:
        return [
            _note(
                MODEL_KEY,
                model.path,
                f"could not be checked ({model.where}); the run goes on and verl "
                "downloads it at start. Download it beforehand (`hf download ID`) to have it checked offline",
            )
        ]
    return []


def model_context(model_config: dict) -> int | None:
    """config.json's max_position_embeddings, or its text_config's (the key verl's rollout reads)."""
    for section in (model_config, model_config.get("text_config") or {}):
        value = section.get("max_position_embeddings")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def check_context(config: DictConfig, model: ModelFacts) -> list[Finding]:
    """Prompt + response and rollout.max_model_len fit in the model's context."""
    if model.config is None:
        return []
    context = model_context(model.config)
    if context is None:
        return [
            _error(
                MODEL_KEY,
                model.path,
                f"{model.where} has no max_position_embeddings, which verl's rollout "
                "needs to size the vLLM context: is it a causal language model?",
            )
        ]
    prompt, response = int(config.data.max_prompt_length), int(config.data.max_response_length)
    findings = []
    if prompt + response > context:
        fix = (
            f"data.max_response_length={context - prompt}"
            if context > prompt
            else f"data.max_prompt_length and data.max_response_length to sum to {context}"
        )
        findings.append(
            _error(
                "data.max_prompt_length + data.max_response_length",
                f"{prompt} + {response}",
                f"{prompt + response} tokens do not fit in the model's context of {context} "
                f"(max_position_embeddings in {model.where}): lower them (e.g. {fix}) or use a "
                "model with a longer context",
            )
        )
    max_model_len = OmegaConf.select(config, "actor_rollout_ref.rollout.max_model_len", default=None)
    if max_model_len is not None and int(max_model_len) > context:
        findings.append(
            _error(
                "actor_rollout_ref.rollout.max_model_len",
                int(max_model_len),
                f"above the model's context of {context} ({model.where}), which verl refuses in "
                f"the vLLM server: set it to at most {context} (or null for the model's context)",
            )
        )
    elif max_model_len is not None and int(max_model_len) < prompt + response:
        findings.append(
            _note(
                "actor_rollout_ref.rollout.max_model_len",
                int(max_model_len),
                f"below data.max_prompt_length + data.max_response_length = {prompt + response}: "
                "answers to long prompts are cut before max_response_length",
            )
        )
    return findings


def _read_config(path: Path) -> dict | str:
    """config.json as a dict, or why it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{path}: {exc}"
    return data if isinstance(data, dict) else f"{path}: not a JSON object"


def local_model_facts(path: str) -> ModelFacts:
    folder = Path(os.path.expanduser(path))
    if not folder.is_dir():
        return ModelFacts(path, MISSING, None, f"{folder} is not a folder")
    cfg = folder / "config.json"
    if not cfg.is_file():
        return ModelFacts(path, NO_CONFIG, None, f"{cfg} does not exist")
    read = _read_config(cfg)
    return (
        ModelFacts(path, LOCAL, read, str(cfg)) if isinstance(read, dict) else ModelFacts(path, BAD_CONFIG, None, read)
    )


def _has_weights(snapshot: Path) -> bool:
    return any(f.name.endswith(WEIGHT_SUFFIXES) for f in snapshot.iterdir())


def hub_model_facts(
    repo_id: str,
    *,
    endpoint: str | None = None,
    cache_dir: str | None = None,
    offline: bool | None = None,
    timeout: float = 10.0,
) -> ModelFacts:
    """Facts about a Hub id from the local cache, else from the Hub's metadata and config.json (never weights)."""
    from huggingface_hub import HfApi, constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    offline = constants.HF_HUB_OFFLINE if offline is None else offline
    try:
        cached = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir)
    except HFValidationError as exc:
        return ModelFacts(repo_id, MISSING, None, f"neither a folder nor a valid Hub id: {exc}")
    if isinstance(cached, str):
        read = _read_config(Path(cached))
        if not isinstance(read, dict):
            return ModelFacts(repo_id, BAD_CONFIG, None, read)
        if offline and not _has_weights(Path(cached).parent):
            return ModelFacts(repo_id, OFFLINE_MISS, read, f"only config.json is cached, in {Path(cached).parent}")
        return ModelFacts(repo_id, CACHED, read, cached)
    if offline:
        return ModelFacts(repo_id, OFFLINE_MISS, None, f"not in {cache_dir or constants.HF_HUB_CACHE}")
    try:
        info = HfApi(endpoint=endpoint).model_info(repo_id, timeout=timeout)
        if "config.json" not in {s.rfilename for s in info.siblings or []}:
            return ModelFacts(repo_id, NO_CONFIG, None, f"the Hub repository {repo_id} has no config.json")
        path = hf_hub_download(repo_id, "config.json", cache_dir=cache_dir, endpoint=endpoint, etag_timeout=timeout)
    except GatedRepoError:
        return ModelFacts(repo_id, GATED, None, f"the Hub at {endpoint or constants.ENDPOINT} refused config.json")
    except RepositoryNotFoundError:
        return ModelFacts(
            repo_id, NOT_ON_HUB, None, f"the Hub at {endpoint or constants.ENDPOINT} knows no such repository"
        )
    except Exception as exc:  # no network, timeout, 5xx: the model is neither confirmed nor refuted
        return ModelFacts(
            repo_id,
            UNCHECKED,
            None,
            f"not in the local Hugging Face cache and the Hub did not answer: {type(exc).__name__}: {_first_line(exc)}",
        )
    read = _read_config(Path(path))
    if not isinstance(read, dict):
        return ModelFacts(repo_id, BAD_CONFIG, None, read)
    return ModelFacts(repo_id, HUB, read, f"config.json of {repo_id} on the Hub")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def gather_model_facts(path: str, **hub_options) -> ModelFacts:
    """A local folder, a remote path verl copies itself (hdfs://...), or a Hub id (``hub_model_facts``; ModelScope
    ids, with verl's VERL_USE_MODELSCOPE, are not checked)."""
    if path in (None, "", "???"):
        return ModelFacts(str(path), MISSING, None, "no model given")
    path = str(path)
    if "://" in path:
        return ModelFacts(path, UNCHECKED, None, "a remote path, which verl copies to local disk at start")
    if looks_like_local_path(os.path.expanduser(path)):
        return local_model_facts(path)
    if os.environ.get("VERL_USE_MODELSCOPE", "false").lower() == "true":
        return ModelFacts(path, UNCHECKED, None, "VERL_USE_MODELSCOPE=true: verl fetches it from ModelScope")
    return hub_model_facts(path, **hub_options)


# ---------------------------------------------------------------------------------------------------- all together


def run_checks(config: DictConfig, gpu: GpuFacts | None, model: ModelFacts, has_flash_attn: bool) -> list[Finding]:
    """Every check on facts already gathered (``gpu`` is None for a run that is not on CUDA)."""
    findings = [] if gpu is None else check_gpu(config, gpu)
    findings += check_attention(config, has_flash_attn)
    findings += check_model(model)
    findings += check_context(config, model)
    return findings


def check_before_ray(config: DictConfig) -> list[Finding]:
    """Gather the facts, run every check, log the notes; raise PreflightError listing all errors. Returns the notes."""
    gpu = gather_gpu_facts() if is_cuda_run(config) else None
    model = gather_model_facts(config.actor_rollout_ref.model.path)
    findings = run_checks(config, gpu, model, flash_attn_installed())
    for finding in findings:
        if finding.level == NOTE:
            logger.warning("sept preflight: %s", finding)
    errors = [str(f) for f in findings if f.level == ERROR]
    if errors:
        raise PreflightError("\n  ".join(["the run cannot start:"] + errors))
    return [f for f in findings if f.level == NOTE]


# ---------------------------------------------------------------------------------------------------- report


def _imported_version(module: str, probe: str | None = None) -> str:
    """The module's version if it imports (and ``probe`` attribute, e.g. a compiled kernel, loads); else why not."""
    import importlib

    try:
        mod = importlib.import_module(module)
        if probe:
            getattr(mod, probe)
    except ModuleNotFoundError:
        return "not installed"
    except Exception as exc:  # a broken build (ABI, CUDA) shows here rather than inside a Ray worker
        return f"import failed: {type(exc).__name__}: {_first_line(exc)}"
    return str(getattr(mod, "__version__", "?"))


def environment_rows(gpu: GpuFacts) -> list[tuple[str, str]]:
    """(what, value) rows: interpreter, torch/CUDA, driver, the stack's packages (imported), and each GPU."""
    import platform

    import torch

    driver = (
        "not found"
        if gpu.driver_cuda is None
        else f"{gpu.driver_version or '?'} (CUDA {gpu.driver_cuda[0]}.{gpu.driver_cuda[1]})"
    )
    rows = [
        ("python", f"{platform.python_version()} ({platform.machine()})"),
        ("torch", f"{gpu.torch_version} (CUDA {gpu.torch_cuda or 'none: CPU-only build'})"),
        ("NVIDIA driver", driver),
        ("vllm", _imported_version("vllm")),
        ("verl", _imported_version("verl")),
        ("flash-attn", _imported_version("flash_attn", probe="flash_attn_func")),
        ("transformers", _imported_version("transformers")),
        ("CUDA_VISIBLE_DEVICES", "unset" if gpu.visible_devices is None else repr(gpu.visible_devices)),
    ]
    for i in range(gpu.device_count if gpu.cuda_available else 0):
        props = torch.cuda.get_device_properties(i)
        rows.append(
            (
                f"GPU {i}",
                f"{props.name}, {props.total_memory / 2**30:.1f} GiB, compute capability {props.major}.{props.minor}",
            )
        )
    if not gpu.cuda_available or gpu.device_count == 0:
        rows.append(("GPUs", "none visible"))
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m recipe.sept.preflight [--gpus N]``: the GPU stack's versions and GPUs, then its checks."""
    import argparse

    parser = argparse.ArgumentParser(description="Report the GPU stack and check it can run (no Ray, no model).")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs this machine must show (default 1)")
    args = parser.parse_args(argv)
    gpu = gather_gpu_facts()
    rows = environment_rows(gpu)
    findings = check_gpu_stack(gpu, args.gpus)
    findings += [
        _error(name, value, "the GPU stack's packages must import; reinstall: " + SETUP_HINT)
        for name, value in rows
        if name in ("vllm", "verl") and not value[:1].isdigit()
    ]
    flash = dict(rows)["flash-attn"]
    if flash == "not installed":
        findings.append(_note("flash-attn", flash, f"run with {SDPA_OVERRIDE}"))
    elif not flash[:1].isdigit():
        findings.append(
            _error(
                "flash-attn",
                flash,
                "rebuild it against this torch (FLASH_ATTN_WHEEL or the "
                f"default build in {SETUP_HINT}) or uninstall it and run with {SDPA_OVERRIDE}",
            )
        )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for finding in findings:
        print(f"{finding.level.upper()}: {finding}")
    ok = not any(f.level == ERROR for f in findings)
    print("GPU stack: OK" if ok else "GPU stack: NOT READY (see the errors above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
