"""What a SePT launch must show, as pure functions over what it recorded (shared by the CPU e2e and the GPU smoke).

Inputs: the vLLM probe's records (``smoke/vllm_probe.py``: one ``{"temperature": ...}`` per request vLLM's engine
received, in order), the rows of verl's ``file`` logger (``{"step": k, "data": {metric: value}}``), and folders
on disk (the initial model, the checkpoint root). Each check returns a ``CheckResult`` with its name, whether it
passed, and a message giving the values it compared, so a failing smoke test can be read without the logs.

The claims, for a run with τs annealed from below τt up to τt (e.g. 0.25, 0.625, 1.0 at τt = 1):
- vLLM sampled each training request at the step's τs, and the trainer logged the same τs (and τt);
- at a step with τs = τt the trainer's NLL of the samples (FSDP, logits / τt) equals vLLM's own NLL of them: the
  same tokens under the same weights and temperature, so a mismatch means the temperature or the weight sync is off;
- at a step with τs < τt the samples are likelier under the sharper sampler than under τt: ``rollout_nll < nll``
  (Gibbs' inequality in expectation; the margin keeps sampling noise out);
- the HF export of the checkpoint differs from the initial weights in every tensor they share;
- a second launch of the same command resumes: it runs only the steps after the checkpoint, at their τs, with the
  restored weights in vLLM (NLL equality again), and moves the latest-checkpoint marker on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

TAU_S, TAU_T, NLL, ROLLOUT_NLL, ENTROPY = "sept/tau_s", "sept/tau_t", "sept/nll", "sept/rollout_nll", "sept/entropy"
LATEST = "latest_checkpointed_iteration.txt"


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    message: str


def train_steps(rows: list[dict]) -> dict[int, dict]:
    """{step: metrics} of the training steps (rows with ``sept/tau_s``; validation-only rows have none)."""
    return {int(r["step"]): r["data"] for r in rows if TAU_S in r["data"]}


def train_temperatures(records: list[dict]) -> list[float]:
    """Temperatures of the training requests, in order. Validation runs greedy (temperature 0) in the smoke and CPU
    presets, so every request above 0 is a training one."""
    return [round(float(r["temperature"]), 6) for r in records if r["temperature"] > 0]


def _runs(values: list[float]) -> str:
    """'0.5 x8, 0.75 x8' for consecutive equal values."""
    out: list[list] = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return ", ".join(f"{v:g} x{n}" for v, n in out) or "none"


def _missing(train: dict[int, dict], steps, keys) -> str | None:
    """Why the metrics cannot be compared (a step or a key absent), or None."""
    absent = [s for s in steps if s not in train]
    if absent:
        return f"no training metrics for step(s) {absent}; logged steps: {sorted(train)}"
    gaps = [(s, k) for s in steps for k in keys if k not in train[s]]
    return f"metric(s) missing: {gaps}" if gaps else None


def tau_s_reached_vllm(
    records: list[dict], train: dict[int, dict], expected: dict[int, float], requests_per_step: int, tau_t: float = 1.0
) -> CheckResult:
    """Every training request of step k reached vLLM at ``expected[k]``, and the trainer logged τs = expected[k]
    and τt = ``tau_t``."""
    name = "tau_s reached vLLM"
    steps = sorted(expected)
    want = [round(expected[s], 6) for s in steps for _ in range(requests_per_step)]
    got = train_temperatures(records)
    if got != want:
        return CheckResult(
            name,
            False,
            f"vLLM received {_runs(got)}; expected {_runs(want)} (steps {steps}, {requests_per_step} requests each)",
        )
    why = _missing(train, steps, (TAU_S, TAU_T))
    if why:
        return CheckResult(name, False, why)
    wrong = [
        (s, train[s][TAU_S], train[s][TAU_T])
        for s in steps
        if not (
            math.isclose(train[s][TAU_S], expected[s], abs_tol=1e-6)
            and math.isclose(train[s][TAU_T], tau_t, abs_tol=1e-6)
        )
    ]
    if wrong:
        return CheckResult(
            name, False, f"logged (step, tau_s, tau_t) {wrong}; expected tau_s {expected}, tau_t {tau_t:g}"
        )
    return CheckResult(
        name,
        True,
        f"vLLM received {_runs(got)} (steps {steps[0]}-{steps[-1]}); "
        f"sept/tau_s and sept/tau_t = {tau_t:g} logged the same",
    )


def nll_matches_vllm(
    train: dict[int, dict], step: int, rel: float, name: str = "NLL at tau_s = tau_t equals vLLM's"
) -> CheckResult:
    """|nll - rollout_nll| <= rel * rollout_nll at a step sampled at τs = τt."""
    why = _missing(train, [step], (NLL, ROLLOUT_NLL))
    if why:
        return CheckResult(name, False, why)
    nll, rollout = train[step][NLL], train[step][ROLLOUT_NLL]
    diff = abs(nll - rollout) / abs(rollout) if rollout else math.inf
    verdict = "<=" if diff <= rel else ">"
    return CheckResult(
        name,
        diff <= rel,
        f"step {step}: sept/nll {nll:.4f} vs sept/rollout_nll {rollout:.4f}, "
        f"relative difference {diff:.2%} {verdict} {rel:.0%}",
    )


def sharper_sampler_has_lower_nll(train: dict[int, dict], step: int, margin: float) -> CheckResult:
    """rollout_nll < nll - margin at a step sampled at τs < τt."""
    name = "NLL at tau_s < tau_t above vLLM's"
    why = _missing(train, [step], (NLL, ROLLOUT_NLL))
    if why:
        return CheckResult(name, False, why)
    nll, rollout = train[step][NLL], train[step][ROLLOUT_NLL]
    ok = rollout < nll - margin
    return CheckResult(
        name,
        ok,
        f"step {step}: sept/rollout_nll {rollout:.4f} {'<' if ok else 'not <'} sept/nll {nll:.4f} - {margin:g}",
    )


def entropy_positive(train: dict[int, dict], steps: list[int]) -> CheckResult:
    name = "entropy logged"
    why = _missing(train, steps, (ENTROPY,))
    if why:
        return CheckResult(name, False, why)
    values = [train[s][ENTROPY] for s in steps]
    ok = all(v > 0 and math.isfinite(v) for v in values)
    return CheckResult(name, ok, f"sept/entropy at steps {steps}: " + ", ".join(f"{v:.4f}" for v in values))


def validation_pass_at_1(rows: list[dict], step: int = 0) -> CheckResult:
    """The validation at ``step`` logged unbiased pass@1 per data source, equal to verl's own mean@1 accuracy
    (greedy, n = 1: both are the fraction answered correctly, computed independently)."""
    name = "validation pass@1 = verl's mean@1"
    found = [r["data"] for r in rows if int(r["step"]) == step and any(k.startswith("val-passk/") for k in r["data"])]
    if not found:
        return CheckResult(name, False, f"no validation metrics (val-passk/*) logged at step {step}")
    data = found[0]
    sources = sorted(
        k.split("/")[1]
        for k in data
        if k.startswith("val-passk/") and k.endswith("/pass@1") and k.split("/")[1] != "mean"
    )
    if not sources:
        return CheckResult(name, False, f"no val-passk/<source>/pass@1 at step {step}")
    parts, ok = [], True
    for src in sources:
        ours, verls = data[f"val-passk/{src}/pass@1"], data.get(f"val-core/{src}/acc/mean@1")
        same = verls is not None and math.isclose(ours, verls, abs_tol=1e-9)
        ok &= same
        parts.append(f"{src}: pass@1 {ours:.4f} vs mean@1 {'missing' if verls is None else f'{verls:.4f}'}")
    return CheckResult(name, ok, f"step {step}: " + "; ".join(parts))


def checkpoint_written(ckpt_root: Path, step: int) -> CheckResult:
    """verl's checkpoint layout at ``step``: actor shards, dataloader state, and the HF export."""
    name = f"checkpoint written (step {step})"
    folder = Path(ckpt_root) / f"global_step_{step}"
    need = {
        "actor/": folder / "actor",
        "data.pt": folder / "data.pt",
        "actor/huggingface/": folder / "actor" / "huggingface",
    }
    absent = [label for label, path in need.items() if not path.exists()]
    if not absent and not list((folder / "actor" / "huggingface").glob("*.safetensors")):
        absent.append("actor/huggingface/*.safetensors")
    if absent:
        return CheckResult(name, False, f"{folder}: missing {absent}")
    return CheckResult(name, True, f"{folder}: actor shards, data.pt, HF export")


def _tensor_files(folder: Path) -> dict[str, Path]:
    """{tensor name: safetensors file} over every shard in ``folder``."""
    from safetensors import safe_open

    index = {}
    for shard in sorted(Path(folder).glob("*.safetensors")):
        with safe_open(str(shard), framework="pt") as handle:
            index.update({key: shard for key in handle.keys()})
    return index


def _load(path: Path, key: str):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.get_tensor(key)


def parameters_changed(initial: Path, exported: Path) -> CheckResult:
    """Every tensor the initial model and the HF export share has changed (compared in float32, one at a time, so a
    large model is never held in memory twice)."""
    import torch

    name = "all parameters changed"
    before, after = _tensor_files(initial), _tensor_files(exported)
    shared = sorted(set(before) & set(after))
    if not shared:
        return CheckResult(
            name,
            False,
            f"no tensor names in common between {initial} ({len(before)} tensors) "
            f"and {exported} ({len(after)} tensors)",
        )
    same = [k for k in shared if torch.equal(_load(before[k], k).float(), _load(after[k], k).float())]
    if same:
        shown = ", ".join(same[:5]) + (f" and {len(same) - 5} more" if len(same) > 5 else "")
        return CheckResult(name, False, f"{len(same)} of {len(shared)} tensors unchanged: {shown}")
    return CheckResult(name, True, f"{len(shared)} of {len(shared)} shared tensors changed ({exported})")


def resumed_from_checkpoint(
    records: list[dict],
    train: dict[int, dict],
    ckpt_root: Path,
    steps: list[int],
    expected_tau_s: dict[int, float],
    requests_per_step: int,
    rel: float,
) -> CheckResult:
    """The second launch ran exactly ``steps`` (those after the checkpoint) at their τs, vLLM held the restored
    weights (NLL at τs = τt equals vLLM's), and the latest-checkpoint marker moved to the last step."""
    name = "second launch resumed"
    if sorted(train) != steps:
        return CheckResult(
            name,
            False,
            f"it ran step(s) {sorted(train)}; expected only {steps} (resume from global_step_{steps[0] - 1})",
        )
    want = [round(expected_tau_s[s], 6) for s in steps for _ in range(requests_per_step)]
    got = train_temperatures(records)
    if got != want:
        return CheckResult(name, False, f"vLLM received {_runs(got)}; expected {_runs(want)}")
    equal_steps = [s for s in steps if math.isclose(expected_tau_s[s], train[s].get(TAU_T, math.nan), abs_tol=1e-6)]
    if not equal_steps:
        return CheckResult(name, False, "no resumed step at tau_s = tau_t to compare the NLLs at")
    nll = nll_matches_vllm(train, equal_steps[-1], rel)
    if not nll.passed:
        return CheckResult(name, False, f"restored weights: {nll.message}")
    marker = Path(ckpt_root) / LATEST
    latest = marker.read_text().strip() if marker.is_file() else "missing"
    if latest != str(steps[-1]):
        return CheckResult(name, False, f"{marker}: {latest}; expected {steps[-1]}")
    return CheckResult(
        name, True, f"ran step(s) {steps} only, vLLM at {_runs(got)}; {nll.message}; {LATEST} = {latest}"
    )
