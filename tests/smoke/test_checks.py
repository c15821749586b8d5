"""smoke/checks.py on hand-built probe records, metrics rows and checkpoint folders: each check passes on a run that
did what SePT must do and fails, saying why, on one that did not."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from smoke import checks

N = 4  # requests per step
TAU = {1: 0.5, 2: 0.75, 3: 1.0}


def probe(temps_per_step: dict[int, float], n: int = N, validation: int = 3) -> list[dict]:
    """Greedy validation requests (temperature 0) around the training requests, as a launch records them."""
    train = [{"temperature": t, "pid": 1} for _, t in sorted(temps_per_step.items()) for _ in range(n)]
    val = [{"temperature": 0.0, "pid": 1}] * validation
    return val + train + val


def step_row(
    step: int, tau_s: float, nll: float = 0.80, rollout_nll: float = 0.80, entropy: float = 1.2, tau_t: float = 1.0
) -> dict:
    return {
        "step": step,
        "data": {
            "sept/tau_s": tau_s,
            "sept/tau_t": tau_t,
            "sept/nll": nll,
            "sept/rollout_nll": rollout_nll,
            "sept/entropy": entropy,
        },
    }


def good_rows() -> list[dict]:
    val = {
        "step": 0,
        "data": {"val-passk/math500/pass@1": 0.25, "val-core/math500/acc/mean@1": 0.25, "val-passk/mean/pass@1": 0.25},
    }
    return [
        val,
        step_row(1, 0.5, nll=0.9, rollout_nll=0.5),
        step_row(2, 0.75, nll=0.85, rollout_nll=0.7),
        step_row(3, 1.0, nll=0.80, rollout_nll=0.805),
    ]


# ------------------------------------------------------------------------------------------------ temperatures


def test_tau_s_reached_vllm():
    result = checks.tau_s_reached_vllm(probe(TAU), checks.train_steps(good_rows()), TAU, N)
    assert result.passed and "0.5 x4, 0.75 x4, 1 x4" in result.message


def test_tau_s_not_reaching_vllm_fails():
    # The bug the probe exists for: every request at the launch's rollout temperature (1.0), whatever the step's τs.
    result = checks.tau_s_reached_vllm(probe({1: 1.0, 2: 1.0, 3: 1.0}), checks.train_steps(good_rows()), TAU, N)
    assert not result.passed and "vLLM received 1 x12; expected 0.5 x4, 0.75 x4, 1 x4" in result.message


def test_missing_requests_fail():
    records = probe(TAU)[:-4]  # the last step lost a request (and the closing validation)
    assert not checks.tau_s_reached_vllm(records, checks.train_steps(good_rows()), TAU, N).passed


def test_logged_tau_s_must_match_what_vllm_got():
    rows = good_rows()
    rows[2]["data"]["sept/tau_s"] = 0.6
    result = checks.tau_s_reached_vllm(probe(TAU), checks.train_steps(rows), TAU, N)
    assert not result.passed and "(2, 0.6, 1.0)" in result.message


def test_logged_tau_t_must_be_the_fixed_one():
    rows = good_rows()
    rows[1]["data"]["sept/tau_t"] = 0.5  # coupled by mistake
    assert not checks.tau_s_reached_vllm(probe(TAU), checks.train_steps(rows), TAU, N).passed


def test_a_missing_step_is_named():
    rows = [r for r in good_rows() if r["step"] != 2]
    result = checks.tau_s_reached_vllm(probe(TAU), checks.train_steps(rows), TAU, N)
    assert not result.passed and "step(s) [2]" in result.message


# ------------------------------------------------------------------------------------------------ NLL


def test_nll_matches_vllm_within_tolerance():
    train = checks.train_steps(good_rows())
    result = checks.nll_matches_vllm(train, 3, rel=0.02)
    assert result.passed and "0.8000 vs sept/rollout_nll 0.8050" in result.message and "0.62%" in result.message


def test_nll_mismatch_fails():
    rows = good_rows()
    rows[3]["data"]["sept/nll"] = 0.90  # e.g. the trainer's logits at another temperature, or stale vLLM weights
    result = checks.nll_matches_vllm(checks.train_steps(rows), 3, rel=0.02)
    assert not result.passed and "> 2%" in result.message


def test_nll_check_names_a_missing_metric():
    rows = good_rows()
    del rows[3]["data"]["sept/rollout_nll"]
    result = checks.nll_matches_vllm(checks.train_steps(rows), 3, rel=0.02)
    assert not result.passed and "sept/rollout_nll" in result.message


def test_sharper_sampler_has_lower_nll():
    train = checks.train_steps(good_rows())
    assert checks.sharper_sampler_has_lower_nll(train, 1, margin=0.05).passed
    assert not checks.sharper_sampler_has_lower_nll(train, 1, margin=0.5).passed
    rows = good_rows()
    rows[1]["data"]["sept/rollout_nll"] = 0.95  # samples not sharper than tau_t: tau_s did not apply
    assert not checks.sharper_sampler_has_lower_nll(checks.train_steps(rows), 1, margin=0.0).passed


def test_entropy():
    assert checks.entropy_positive(checks.train_steps(good_rows()), [1, 2, 3]).passed
    for bad in (0.0, float("nan")):
        rows = good_rows()
        rows[2]["data"]["sept/entropy"] = bad
        assert not checks.entropy_positive(checks.train_steps(rows), [1, 2, 3]).passed


# ------------------------------------------------------------------------------------------------ validation


def test_validation_pass_at_1_equals_verls_mean_at_1():
    result = checks.validation_pass_at_1(good_rows())
    assert result.passed and "math500: pass@1 0.2500 vs mean@1 0.2500" in result.message


def test_validation_mismatch_and_absence_fail():
    rows = good_rows()
    rows[0]["data"]["val-core/math500/acc/mean@1"] = 0.5
    assert not checks.validation_pass_at_1(rows).passed
    del rows[0]["data"]["val-core/math500/acc/mean@1"]
    assert "mean@1 missing" in checks.validation_pass_at_1(rows).message
    assert not checks.validation_pass_at_1(good_rows()[1:]).passed


# ------------------------------------------------------------------------------------------------ checkpoints


def write_checkpoint(root, step, tensors: dict[str, torch.Tensor], shards: int = 1):
    folder = root / f"global_step_{step}"
    hf = folder / "actor" / "huggingface"
    hf.mkdir(parents=True)
    (folder / "data.pt").write_bytes(b"dataloader state")
    names = sorted(tensors)
    for i in range(shards):
        part = {k: tensors[k] for k in names[i::shards]}
        save_file(part, str(hf / f"model-{i + 1:05d}-of-{shards:05d}.safetensors"))
    return hf


def initial_model(folder) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    tensors = {"embed.weight": torch.randn(8, 4), "norm.weight": torch.ones(4), "lm_head.weight": torch.randn(8, 4)}
    folder.mkdir()
    save_file({k: v.to(torch.bfloat16) for k, v in tensors.items()}, str(folder / "model.safetensors"))
    return {k: v.to(torch.bfloat16).float() for k, v in tensors.items()}


def test_checkpoint_written(tmp_path):
    write_checkpoint(tmp_path, 3, {"w": torch.zeros(2)})
    assert checks.checkpoint_written(tmp_path, 3).passed
    (tmp_path / "global_step_3" / "data.pt").unlink()
    result = checks.checkpoint_written(tmp_path, 3)
    assert not result.passed and "data.pt" in result.message
    assert not checks.checkpoint_written(tmp_path, 4).passed


def test_checkpoint_without_hf_weights_fails(tmp_path):
    hf = write_checkpoint(tmp_path, 3, {"w": torch.zeros(2)})
    for f in hf.glob("*.safetensors"):
        f.unlink()
    assert "actor/huggingface/*.safetensors" in checks.checkpoint_written(tmp_path, 3).message


def test_all_parameters_changed_across_shards_and_dtypes(tmp_path):
    # bf16 initial weights, fp32 export (verl's FSDP master weights), split over two shards; the tied lm_head is
    # dropped from the export, as verl does, and is not compared.
    before = initial_model(tmp_path / "model")
    after = {k: v + 1e-6 for k, v in before.items() if k != "lm_head.weight"}
    hf = write_checkpoint(tmp_path / "ckpt", 3, after, shards=2)
    result = checks.parameters_changed(tmp_path / "model", hf)
    assert result.passed and "2 of 2 shared tensors changed" in result.message


def test_an_unchanged_tensor_is_named(tmp_path):
    before = initial_model(tmp_path / "model")
    after = {**before, "embed.weight": before["embed.weight"] + 1e-3}  # norm and lm_head equal in value
    hf = write_checkpoint(tmp_path / "ckpt", 3, after)
    result = checks.parameters_changed(tmp_path / "model", hf)
    assert not result.passed and "2 of 3 tensors unchanged" in result.message and "norm.weight" in result.message


def test_no_tensor_in_common_fails(tmp_path):
    initial_model(tmp_path / "model")
    hf = write_checkpoint(tmp_path / "ckpt", 3, {"other.weight": torch.zeros(2)})
    assert "no tensor names in common" in checks.parameters_changed(tmp_path / "model", hf).message


# ------------------------------------------------------------------------------------------------ resume


def resumed_run(tmp_path, latest="4", steps=(4,), temps=None, nll=0.8, rollout_nll=0.8):
    (tmp_path / checks.LATEST).write_text(latest + "\n")
    rows = [step_row(s, 1.0, nll=nll, rollout_nll=rollout_nll) for s in steps]
    records = probe(temps or {s: 1.0 for s in steps})
    return checks.resumed_from_checkpoint(records, checks.train_steps(rows), tmp_path, [4], {4: 1.0}, N, rel=0.02)


def test_resumed(tmp_path):
    result = resumed_run(tmp_path)
    assert result.passed and "ran step(s) [4] only" in result.message


def test_a_relaunch_that_started_over_fails(tmp_path):
    result = resumed_run(tmp_path, steps=(1, 2, 3, 4), temps={1: 0.5, 2: 0.75, 3: 1.0, 4: 1.0})
    assert not result.passed and "it ran step(s) [1, 2, 3, 4]; expected only [4]" in result.message


def test_resume_without_restored_weights_in_vllm_fails(tmp_path):
    result = resumed_run(tmp_path, nll=0.8, rollout_nll=1.6)  # vLLM kept the initial weights
    assert not result.passed and "restored weights" in result.message


def test_resume_marker_must_move(tmp_path):
    result = resumed_run(tmp_path, latest="3")
    assert not result.passed and "expected 4" in result.message


def test_resumed_at_the_wrong_temperature_fails(tmp_path):
    assert not resumed_run(tmp_path, temps={4: 0.5}).passed


@pytest.mark.parametrize("records, expected", [([{"temperature": 0.0}], []), ([{"temperature": 0.7500001}], [0.75])])
def test_train_temperatures_skip_greedy_validation(records, expected):
    assert checks.train_temperatures(records) == expected
