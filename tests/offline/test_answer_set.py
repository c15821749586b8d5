"""The offline set on real parquet files and the tiny tokenizer (no vLLM): the prompts are the online run's, the
rows are what verl's SFT dataset trains on, and the manifest makes a relaunch reuse or refuse a set."""

import json

import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf
from transformers.convert_slow_tokenizer import bytes_to_unicode

from offline.answer_set import (
    MANIFEST_FILE,
    SET_FILE,
    OfflineSetError,
    Sample,
    build_rows,
    load_set,
    read_source_rows,
    sample_rows,
    select_prompts,
    sha256_file,
    source_fingerprints,
    write_set,
)
from offline.main_offline import Tokenization
from tests.helpers import compose_preset

# The offline presets with the tiny model: ChatML (the tiny tokenizer's own) and the paper's Qwen2.5-Math template.
PRESETS = {"chatml": "offline_sept_cpu", "qwen2.5-math": "offline_sept_qwen2.5_math_7b_dsr"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from data_prep.synthetic import write_arithmetic_sets
    from lab.tiny_model import write_tiny_model

    tmp = tmp_path_factory.mktemp("offline_set")
    write_tiny_model(tmp / "model", seed=0)
    paths = write_arithmetic_sets(tmp / "data", n_train=24, n_val=4, seed=0)
    return {"model": tmp / "model", "train": paths["train"]}


@pytest.fixture(scope="module")
def toks(inputs):
    out = {}
    for name, preset in PRESETS.items():
        config = compose_preset(preset, [f"actor_rollout_ref.model.path={inputs['model']}"])
        OmegaConf.resolve(config)
        out[name] = Tokenization(config)
    return out


def _answers(tok):
    """A finished answer, a cut-off one, and one whose bytes are not valid UTF-8 (cannot round-trip as text)."""
    t = tok.tokenizer
    done = "So 12 - 11 = 1. \\boxed{1}"
    cut = "Let me think: 12 minus"
    lone_byte = [t.convert_tokens_to_ids(bytes_to_unicode()[0xFF])]
    done_ids = t.encode(done, add_special_tokens=False) + [t.eos_token_id]
    # Sampler log-probs: -1 per token, -4 for the end of turn.
    done_logprobs = [-1.0] * (len(done_ids) - 1) + [-4.0]
    return [
        Sample(done, done_ids, "stop", done_logprobs),
        Sample(cut, t.encode(cut, add_special_tokens=False), "length"),
        Sample(t.decode(lone_byte, skip_special_tokens=False), lone_byte, "length"),
    ]


def _verl_rl_dataset_ids(train, tokenizer, max_prompt_length, max_samples, tmp_path):
    from verl.utils.dataset.rl_dataset import RLHFDataset

    data_config = OmegaConf.create(
        {
            "max_prompt_length": max_prompt_length,
            "filter_overlong_prompts": True,
            "shuffle": True,
            "seed": 7,
            "cache_dir": str(tmp_path / "cache"),
            "filter_overlong_prompts_workers": 1,
        }
    )
    dataset = RLHFDataset([str(train)], tokenizer, data_config, max_samples=max_samples)
    return [row["extra_info"]["id"] for row in dataset.dataframe]


@pytest.mark.parametrize("max_samples", [-1, 16])
def test_prompts_are_the_online_datasets(inputs, toks, max_samples, tmp_path):
    tok = toks["chatml"]
    rows = read_source_rows([inputs["train"]])
    limit = max(len(tok.encode(list(r["prompt"]))) for r in rows) - 1  # drops the longest prompts
    keep = sample_rows(len(rows), max_samples, shuffle=True, seed=7)
    prompts, dropped = select_prompts(rows, tok.encode, limit, filter_overlong=True, keep=keep)
    expected = _verl_rl_dataset_ids(inputs["train"], tok.tokenizer, limit, max_samples, tmp_path)
    assert [p.row["extra_info"]["id"] for p in prompts] == expected
    assert dropped == len(keep) - len(expected) > 0
    first = prompts[0]
    rendered = tok.tokenizer.apply_chat_template(list(first.row["prompt"]), add_generation_prompt=True, tokenize=False)
    assert first.prompt_ids == tok.tokenizer.encode(rendered, add_special_tokens=False)


def test_overlong_prompts_keep_their_tail_without_the_filter(inputs, toks):
    tok = toks["chatml"]
    rows = read_source_rows([inputs["train"]])[:3]
    prompts, dropped = select_prompts(rows, tok.encode, 20, filter_overlong=False)
    assert dropped == 0 and [p.prompt_ids for p in prompts] == [tok.encode(list(r["prompt"]))[-20:] for r in rows]


@pytest.mark.parametrize("template", sorted(PRESETS))
def test_rows_are_what_verls_sft_dataset_trains_on(inputs, toks, template, tmp_path):
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    tok = toks[template]
    rows = read_source_rows([inputs["train"]])[:2]
    prompts, _ = select_prompts(rows, tok.encode, 400, filter_overlong=True)
    answers = _answers(tok)
    set_rows = build_rows(prompts, [answers, answers[:1]], tok.render)
    assert [(r["index"], r["sample"]) for r in set_rows] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert [r["token_exact"] for r in set_rows] == [True, True, False, True]
    nll = 1 + 3 / len(answers[0].token_ids)
    assert [r["sampler_nll"] for r in set_rows] == [pytest.approx(nll), None, None, pytest.approx(nll)]
    manifest = write_set(tmp_path, set_rows, {"k": 1}, {})
    dataset = MultiTurnSFTDataset(
        str(tmp_path / SET_FILE),
        tok.tokenizer,
        OmegaConf.create(
            {
                "messages_key": "messages",
                "max_length": manifest["max_sft_tokens"],
                "truncation": "error",
                "pad_mode": "no_padding",
            }
        ),
    )
    for i, row in enumerate(set_rows):
        item = dataset[i]
        ids, mask = item["input_ids"].tolist(), item["loss_mask"].tolist()
        assert ids == tok.render(row["messages"]) and len(ids) == row["sft_tokens"]
        trained = tok.tokenizer.decode([t for t, m in zip(ids, mask) if m], skip_special_tokens=False)
        # The loss covers the answer and the template's end of turn, the latter also after a cut-off answer.
        assert trained == row["messages"][-1]["content"] + "<|im_end|>\n"
    sampled = prompts[0].prompt_ids + answers[0].token_ids
    assert dataset[0]["input_ids"].tolist()[: len(sampled)] == sampled


def _written_set(tmp_path, toks, inputs):
    tok = toks["chatml"]
    rows = read_source_rows([inputs["train"]])[:3]
    prompts, _ = select_prompts(rows, tok.encode, 400, filter_overlong=True)
    request = {"tau_s": 0.6, "n": 2, "sources": source_fingerprints([inputs["train"]])}
    set_rows = build_rows(prompts, [_answers(tok)[:2]] * 3, tok.render)
    return request, write_set(tmp_path, set_rows, request, {"prompts": 3})


def test_manifest_describes_the_written_set(tmp_path, toks, inputs):
    request, manifest = _written_set(tmp_path, toks, inputs)
    on_disk = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert on_disk == manifest and manifest["sha256"] == sha256_file(tmp_path / SET_FILE)
    assert manifest["request"]["sources"][0]["sha256"] == sha256_file(inputs["train"])
    assert (manifest["rows"], manifest["prompts"], manifest["finish_reasons"]) == (6, 3, {"length": 3, "stop": 3})
    done = _answers(toks["chatml"])[0]
    nll = 1 + 3 / len(done.token_ids)
    assert (manifest["token_exact_rows"], manifest["mean_sampler_nll"]) == (6, pytest.approx(nll))
    table = pq.read_table(tmp_path / SET_FILE)
    assert table.num_rows == 6 and table.column("messages")[0].as_py()[-1]["role"] == "assistant"
    assert table.column("response_ids").to_pylist()[:2] == [a.token_ids for a in _answers(toks["chatml"])[:2]]


def test_a_complete_set_is_reused(tmp_path, toks, inputs):
    request, manifest = _written_set(tmp_path, toks, inputs)
    assert load_set(tmp_path, request) == manifest
    assert load_set(tmp_path / "elsewhere", request) is None


def test_a_set_from_other_settings_is_refused(tmp_path, toks, inputs):
    request, _ = _written_set(tmp_path, toks, inputs)
    with pytest.raises(OfflineSetError, match=r"other settings \(tau_s: 0.6 -> 0.7\): delete"):
        load_set(tmp_path, {**request, "tau_s": 0.7})


def test_a_changed_parquet_is_refused(tmp_path, toks, inputs):
    request, _ = _written_set(tmp_path, toks, inputs)
    table = pq.read_table(tmp_path / SET_FILE)
    pq.write_table(table.slice(1), tmp_path / SET_FILE)
    with pytest.raises(OfflineSetError, match="does not match the sha256"):
        load_set(tmp_path, request)


def test_an_interrupted_write_leaves_no_set(tmp_path, toks, inputs, monkeypatch):
    request, _ = _written_set(tmp_path, toks, inputs)
    rows = pq.read_table(tmp_path / SET_FILE).to_pylist()
    (tmp_path / MANIFEST_FILE).unlink()  # a set whose manifest was never written is not complete
    assert load_set(tmp_path, request) is None

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    fresh = tmp_path / "fresh"
    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        write_set(fresh, rows, request, {})
    assert sorted(p.name for p in fresh.iterdir()) == [] and load_set(fresh, request) is None


def test_an_empty_set_is_an_error(tmp_path):
    with pytest.raises(OfflineSetError, match="no rows to write"):
        write_set(tmp_path, [], {}, {})
