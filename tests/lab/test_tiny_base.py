"""The tiny base model's builder: held-out data, worked targets with slips, answer-only loss, short training."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from collections import Counter
from dataclasses import asdict

import pyarrow.parquet as pq
import pytest

from data_prep.synthetic import DATA_SOURCE, write_arithmetic_sets
from eval.grader import compute_score
from lab import tiny_base
from lab.tiny_base import (
    IGNORE_INDEX,
    Batches,
    Settings,
    build_base_model,
    collate,
    encode,
    prompt_text,
    solution_steps,
    split_rows,
    target_text,
)
from lab.tiny_model import build_model, build_tokenizer

EOS = "<|im_end|>"


def _question(row: dict) -> str:
    return row["prompt"][-1]["content"]


def _score(target: str, row: dict) -> float:
    return compute_score(DATA_SOURCE, target, row["reward_model"]["ground_truth"])["score"]


def _step_values(target: str) -> list[int]:
    return [int(v) for v in re.findall(r"=(\d+)", target)]


def test_validation_is_held_out_and_is_what_data_prep_writes(tmp_path):
    train, val = split_rows(Settings())
    assert len(val) == 64 and not {_question(r) for r in val} & {_question(r) for r in train}
    paths = write_arithmetic_sets(tmp_path, n_train=256, n_val=64, seed=0, style="question")
    assert pq.read_table(paths["val"]).to_pylist() == val
    assert pq.read_table(paths["train"]).to_pylist() == train[:256]


def test_worked_targets_grade_right_and_every_slip_grades_wrong():
    train, val = split_rows(Settings())
    rng = random.Random(0)
    for row in train + val:
        clean, slipped = target_text(_question(row), EOS), target_text(_question(row), EOS, rng)
        assert clean.endswith(EOS) and slipped.endswith(EOS)
        assert _score(clean, row) == 1.0 and _score(slipped, row) == 0.0
        # One step's result is off by 1 or 2; the expressions themselves are unchanged.
        diffs = [abs(a - b) for a, b in zip(_step_values(clean), _step_values(slipped)) if a != b]
        assert len(diffs) == 1 and diffs[0] in (1, 2)
        assert re.sub(r"=\d+", "=", clean.split(" ")[0]) == re.sub(r"=\d+", "=", slipped.split(" ")[0])
    assert target_text("What is 37 + 58?", EOS) == "7+8=15,3+5+1=9 \\boxed{95}" + EOS
    assert target_text("What is 53 - 17?", EOS) == "3-7=6,5-1-1=3 \\boxed{36}" + EOS
    assert target_text("What is 7 * 11?", EOS) == target_text("What is 11 * 7?", EOS) == "11*7=77 \\boxed{77}" + EOS
    with pytest.raises(ValueError, match="not a data_prep.synthetic arithmetic question"):
        solution_steps("What is 3 / 4?")


def test_epochs_are_deterministic_with_the_exact_noise_fraction():
    settings = Settings(n_train=600, noise=0.5, product_repeats=3)
    tok = build_tokenizer()
    train, _ = split_rows(settings)
    first, again = list(Batches(tok, train, settings).targets(0)), list(Batches(tok, train, settings).targets(0))
    assert first == again and first != list(Batches(tok, train, settings).targets(1))
    counts = Counter(i for i, _ in first)
    for i, row in enumerate(train):
        assert counts[i] == (3 if solution_steps(_question(row))[0] == "*" else 1)
    wrong = sum(_score(target, train[i]) == 0.0 for i, target in first)
    assert wrong == round(0.5 * len(first))


def test_loss_covers_the_answer_tokens_only():
    tok = build_tokenizer()
    row = split_rows(Settings(n_train=4))[0][0]
    prompt = prompt_text(tok, row)
    assert prompt == f"<|im_start|>user\n{_question(row)}<|im_end|>\n<|im_start|>assistant\n"
    target = target_text(_question(row), tok.eos_token)
    ids, labels = encode(tok, prompt, target)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt and IGNORE_INDEX not in labels[n_prompt:]
    assert labels[n_prompt:] == ids[n_prompt:] and tok.decode(ids[n_prompt:]) == target
    assert ids[-1] == tok.eos_token_id
    short = encode(tok, prompt, target_text("What is 2 * 3?", tok.eos_token))
    batch = collate([(ids, labels), short], tok.pad_token_id)
    pad = len(ids) - len(short[0])
    assert pad > 0 and batch["attention_mask"][1, -pad:].sum() == 0
    assert (batch["labels"][1, -pad:] == IGNORE_INDEX).all()
    assert (batch["input_ids"][1, -pad:] == tok.pad_token_id).all()


def _digest(path):
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_short_training_lowers_the_loss_reproducibly_on_any_thread_count_and_saves_a_loadable_model(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    settings = Settings(n_train=800, n_val=6, steps=200, batch_size=16, warmup_steps=20, eval_samples=2)
    record = build_base_model(tmp_path / "a", settings, threads=1)
    # The suite builds on one thread beside the fast tests, the demo on every core: the weights must not differ.
    build_base_model(tmp_path / "b", settings, threads=2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert record["threads"] == 1
    losses = [loss for _, loss in record["loss_curve"]]
    assert record["steps_done"] == 200 and losses[-1] < 0.5 * losses[0] and losses[-1] < 0.6
    assert record["noise_fraction_seen"] == pytest.approx(0.5, abs=0.01)
    saved = json.loads((tmp_path / "a" / tiny_base.EVAL_FILE).read_text())
    assert [r["temperature"] for r in saved["accuracy"]] == list(tiny_base.EVAL_TEMPERATURES)
    assert saved["settings"] == record["settings"] and saved["val_rows"] == 6
    tok = AutoTokenizer.from_pretrained(tmp_path / "a")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "a")
    assert tok.eos_token == EOS and model.generation_config.eos_token_id == tok.eos_token_id
    assert tok.apply_chat_template(
        [{"role": "user", "content": "What is 2 * 3?"}], tokenize=False, add_generation_prompt=True
    ).endswith("<|im_start|>assistant\n")


def test_time_cap_stops_early_and_bad_settings_fail_clearly(capsys):
    settings = Settings(n_train=50, steps=50, batch_size=4)
    tok = build_tokenizer()
    model = build_model(len(tok), tok.eos_token_id, tok.pad_token_id, 0)
    summary = tiny_base.train(model, Batches(tok, split_rows(settings)[0], settings), settings, max_seconds=0)
    assert summary["steps_done"] == 1 and "time cap" in capsys.readouterr().err
    with pytest.raises(ValueError, match="noise must be in"):
        Settings(noise=1.0)
    with pytest.raises(SystemExit):
        tiny_base.parse_args(["--out", "x", "--steps", "0"])
    assert "steps=0" in capsys.readouterr().err


TINY = Settings(n_train=60, n_val=4, steps=3, batch_size=4, warmup_steps=1, eval_samples=1, max_new_tokens=4)


def test_ensure_reuses_a_complete_build_rebuilds_a_half_written_one_and_refuses_other_settings(tmp_path, capsys):
    out = tmp_path / "base"
    tiny_base.ensure_base_model(out, TINY)
    assert "building" in capsys.readouterr().out and not (tmp_path / "base.partial").exists()
    digest, mtime = _digest(out), (out / "model.safetensors").stat().st_mtime_ns
    assert tiny_base.ensure_base_model(out, TINY) == json.loads((out / tiny_base.EVAL_FILE).read_text())
    assert (out / "model.safetensors").stat().st_mtime_ns == mtime and "building" not in capsys.readouterr().out

    # Half-written: weights gone, or the eval JSON (written last) never finished.
    for damage in ("model.safetensors", tiny_base.EVAL_FILE):
        (out / damage).write_bytes(b"")
        tiny_base.ensure_base_model(out, TINY)
        assert "half-written" in capsys.readouterr().out and _digest(out) == digest

    # A build killed before its rename leaves only the .partial sibling, which the next build replaces.
    shutil.rmtree(out)
    (tmp_path / "base.partial").mkdir()
    (tmp_path / "base.partial" / "config.json").write_text("{")
    tiny_base.ensure_base_model(out, TINY)
    assert not (tmp_path / "base.partial").exists() and _digest(out) == digest

    # A build the CLI's time cap stopped early is not the seed's model.
    record = json.loads((out / tiny_base.EVAL_FILE).read_text())
    (out / tiny_base.EVAL_FILE).write_text(json.dumps({**record, "steps_done": 2}))
    tiny_base.ensure_base_model(out, TINY)
    assert "stopped at step 2 of 3" in capsys.readouterr().out and _digest(out) == digest

    with pytest.raises(tiny_base.BaseModelError, match=r"steps: 3 there, 4 here.*delete the folder"):
        tiny_base.ensure_base_model(out, Settings(**{**asdict(TINY), "steps": 4}))
    assert _digest(out) == digest


def test_mkl_reproducible_sets_the_strict_mode_only_inside_and_keeps_a_users_value(monkeypatch):
    name, value = tiny_base.MKL_REPRODUCIBLE
    monkeypatch.delenv(name, raising=False)
    with tiny_base.mkl_reproducible():
        assert os.environ[name] == "AUTO,STRICT" == value
    assert name not in os.environ  # the launches a demo starts after its build do not inherit it
    monkeypatch.setenv(name, "COMPATIBLE")
    with tiny_base.mkl_reproducible():
        assert os.environ[name] == "COMPATIBLE"
    assert os.environ[name] == "COMPATIBLE"
