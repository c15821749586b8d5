"""recipe/sept/preflight.py: bad GPU stacks, models and lengths stop the run before Ray, naming the value and the fix.

The GPU facts are hand-built (this machine has no GPU); the model facts come from real folders, a real Hugging Face
cache layout, and a real HTTP server on 127.0.0.1 that answers as the Hub does (status codes and X-Error-Code
headers, which huggingface_hub turns into its exceptions).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recipe.sept import preflight
from recipe.sept.preflight import ERROR, NOTE, GpuFacts, ModelFacts
from tests.helpers import REPO, compose_preset

GOOD_GPU = GpuFacts(
    torch_version="2.11.0+cu130",
    torch_cuda="13.0",
    driver_cuda=(13, 0),
    driver_version="580.65.06",
    cuda_available=True,
    device_count=8,
    visible_devices=None,
)


def gpu(**changes) -> GpuFacts:
    return GpuFacts(**{**GOOD_GPU.__dict__, **changes})


def errors(findings):
    return [str(f) for f in findings if f.level == ERROR]


def notes(findings):
    return [str(f) for f in findings if f.level == NOTE]


# ------------------------------------------------------------------------------------------------ GPU stack


def test_a_good_stack_passes():
    assert preflight.check_gpu_stack(GOOD_GPU, 8) == []


def test_cpu_only_torch_names_the_setup_script():
    (msg,) = errors(preflight.check_gpu_stack(gpu(torch_version="2.11.0+cpu", torch_cuda=None), 1))
    assert "torch = '2.11.0+cpu'" in msg and "scripts/setup_gpu_env.sh" in msg and "sept_cpu" in msg


def test_missing_driver():
    (msg,) = errors(
        preflight.check_gpu_stack(gpu(driver_cuda=None, driver_version=None, cuda_available=False, device_count=0), 1)
    )
    assert "NVIDIA driver = 'not found'" in msg and "R580" in msg and "nvidia-smi" in msg


def test_driver_older_than_torch_cuda_major_is_an_error_naming_both_versions():
    (msg,) = errors(
        preflight.check_gpu_stack(
            gpu(driver_cuda=(12, 4), driver_version="550.54.15", cuda_available=False, device_count=0), 1
        )
    )
    assert "550.54.15, CUDA 12.4" in msg and "CUDA 13.0" in msg and "R580" in msg


def test_driver_older_minor_is_only_a_note():
    findings = preflight.check_gpu_stack(gpu(torch_cuda="13.1", driver_cuda=(13, 0)), 1)
    assert errors(findings) == []
    (msg,) = notes(findings)
    assert "CUDA 13.0" in msg and "13.1" in msg


def test_no_visible_gpu_names_cuda_visible_devices():
    (msg,) = errors(preflight.check_gpu_stack(gpu(cuda_available=False, device_count=0, visible_devices=""), 1))
    assert "visible GPUs = 0" in msg and "CUDA_VISIBLE_DEVICES=''" in msg


def test_too_few_gpus_names_the_setting_to_use():
    (msg,) = errors(preflight.check_gpu_stack(gpu(device_count=1), 8))
    assert "trainer.n_gpus_per_node = 8" in msg and "trainer.n_gpus_per_node=1" in msg


def test_gpu_count_is_left_to_ray_on_several_nodes():
    config = compose_preset("sept_qwen2.5_math_7b_dsr", ["trainer.nnodes=2"])
    assert preflight.check_gpu(config, gpu(device_count=1)) == []
    assert errors(preflight.check_gpu(compose_preset("sept_qwen2.5_math_7b_dsr"), gpu(device_count=1)))


@pytest.mark.parametrize("preset, overrides", [("sept_cpu", []), ("sept_trainer", ["trainer.device=npu"])])
def test_runs_not_on_cuda_skip_the_gpu_and_attention_checks(preset, overrides):
    config = compose_preset(preset, ["actor_rollout_ref.model.path=/m", *overrides])
    no_gpu = gpu(torch_cuda=None)
    assert preflight.check_gpu(config, no_gpu) == [] and preflight.check_attention(config, False) == []


def test_real_facts_of_this_machine():
    import torch

    facts = preflight.gather_gpu_facts()
    assert facts.torch_version == torch.__version__ and facts.device_count == torch.cuda.device_count()
    if not torch.cuda.is_available():
        assert errors(preflight.check_gpu_stack(facts, 1)), "no GPU here, so the stack check must fail"


def test_flash_attention_default_without_flash_attn():
    config = compose_preset("sept_trainer", ["actor_rollout_ref.model.path=/m"])
    (msg,) = errors(preflight.check_attention(config, flash_attn_installed=False))
    assert "flash_attention_2" in msg and preflight.SDPA_OVERRIDE in msg
    assert preflight.check_attention(config, flash_attn_installed=True) == []
    sdpa = compose_preset("sept_trainer", ["actor_rollout_ref.model.path=/m", preflight.SDPA_OVERRIDE])
    assert preflight.check_attention(sdpa, flash_attn_installed=False) == []


# ------------------------------------------------------------------------------------------------ local models


def test_local_model_folder(tmp_path):
    from lab.tiny_model import write_tiny_model

    folder = write_tiny_model(tmp_path / "tiny")
    facts = preflight.gather_model_facts(str(folder))
    assert facts.status == preflight.LOCAL and facts.config["max_position_embeddings"] == 512
    assert preflight.check_model(facts) == []


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d / "absent", "no such folder"),
        (lambda d: d, "no config.json there"),
        (lambda d: (d / "config.json").write_text("{not json") and d, "cannot be read as JSON"),
    ],
)
def test_broken_local_models(tmp_path, make, expected):
    path = make(tmp_path)
    (msg,) = errors(preflight.check_model(preflight.gather_model_facts(str(path))))
    assert msg.startswith(f"actor_rollout_ref.model.path = '{path}'") and expected in msg


def test_remote_paths_are_noted_not_failed():
    facts = preflight.gather_model_facts("hdfs://cluster/models/qwen")
    assert errors(preflight.check_model(facts)) == [] and notes(preflight.check_model(facts))


def test_modelscope_ids_are_not_looked_up_on_the_hugging_face_hub(monkeypatch):
    monkeypatch.setenv("VERL_USE_MODELSCOPE", "True")
    (msg,) = notes(preflight.check_model(preflight.gather_model_facts("qwen/Qwen2.5-Math-1.5B")))
    assert "ModelScope" in msg


# ------------------------------------------------------------------------------------------------ Hub ids

SHA = "0123456789abcdef0123456789abcdef01234567"
HUB_CONFIG = json.dumps({"model_type": "qwen2", "max_position_embeddings": 4096}).encode()


class FakeHub(BaseHTTPRequestHandler):
    """The Hub's answers for: org/model (exists), org/gated (metadata public, files gated), org/weights-only (no
    config.json), anything else (no such repository)."""

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", headers=()):
        self.send_response(code)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        files = {
            "/api/models/org/model": ["config.json", "model.safetensors"],
            "/api/models/org/gated": ["config.json"],
            "/api/models/org/weights-only": ["model.safetensors"],
        }
        if path in files:
            info = {
                "id": path.removeprefix("/api/models/"),
                "sha": SHA,
                "siblings": [{"rfilename": f} for f in files[path]],
            }
            return self._send(200, json.dumps(info).encode(), [("Content-Type", "application/json")])
        if path.startswith("/org/model/resolve/"):
            etag = hashlib.sha1(HUB_CONFIG).hexdigest()
            return self._send(200, HUB_CONFIG, [("X-Repo-Commit", SHA), ("ETag", f'"{etag}"')])
        if path.startswith("/org/gated/resolve/"):
            return self._send(401, b'{"error": "gated"}', [("X-Error-Code", "GatedRepo")])
        return self._send(404, b'{"error": "Repository not found"}', [("X-Error-Code", "RepoNotFound")])

    do_HEAD = do_GET


@pytest.fixture(scope="module")
def hub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def hub_facts(repo_id, endpoint, cache, offline=False):
    return preflight.gather_model_facts(repo_id, endpoint=endpoint, cache_dir=str(cache), offline=offline, timeout=5)


def test_hub_model_is_checked_from_its_config_json_only(hub, tmp_path):
    facts = hub_facts("org/model", hub, tmp_path)
    assert facts.status == preflight.HUB and facts.config["max_position_embeddings"] == 4096
    assert preflight.check_model(facts) == []
    snapshot = tmp_path / "models--org--model" / "snapshots" / SHA
    assert sorted(p.name for p in snapshot.iterdir()) == ["config.json"], "no weights are downloaded"


def test_hub_id_that_does_not_exist(hub, tmp_path):
    (msg,) = errors(preflight.check_model(hub_facts("org/typo", hub, tmp_path)))
    assert "'org/typo'" in msg and "no such model on the Hugging Face Hub" in msg and "hf auth login" in msg


def test_gated_hub_model(hub, tmp_path):
    (msg,) = errors(preflight.check_model(hub_facts("org/gated", hub, tmp_path)))
    assert "gated" in msg and "HF_TOKEN" in msg


def test_hub_repository_without_config(hub, tmp_path):
    (msg,) = errors(preflight.check_model(hub_facts("org/weights-only", hub, tmp_path)))
    assert "no config.json" in msg


def test_no_network_is_a_note_never_an_error(tmp_path):
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused at once
    findings = preflight.check_model(hub_facts("Qwen/Qwen2.5-0.5B-Instruct", closed, tmp_path))
    assert errors(findings) == []
    (msg,) = notes(findings)
    assert "could not be checked" in msg and "the run goes on" in msg and "ConnectError" in msg


def write_cached_model(cache, repo_id, config: dict, weights: bool):
    """The Hugging Face cache layout: refs/main names the snapshot folder holding the files."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / SHA
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(SHA)
    (snapshot / "config.json").write_text(json.dumps(config))
    if weights:
        (snapshot / "model.safetensors").write_bytes(b"\0" * 8)


def test_cached_model_is_checked_without_any_network(tmp_path):
    write_cached_model(tmp_path, "org/cached", {"max_position_embeddings": 2048}, weights=True)
    for offline in (False, True):
        facts = hub_facts("org/cached", "http://127.0.0.1:9", tmp_path, offline=offline)
        assert facts.status == preflight.CACHED and facts.config["max_position_embeddings"] == 2048


def test_offline_without_the_model_in_the_cache(tmp_path):
    (msg,) = errors(preflight.check_model(hub_facts("org/absent", "http://127.0.0.1:9", tmp_path, offline=True)))
    assert "HF_HUB_OFFLINE=1" in msg and "hf download" in msg
    write_cached_model(tmp_path, "org/config-only", {"max_position_embeddings": 2048}, weights=False)
    (msg,) = errors(preflight.check_model(hub_facts("org/config-only", "http://127.0.0.1:9", tmp_path, offline=True)))
    assert "only config.json is cached" in msg


# ------------------------------------------------------------------------------------------------ context


def context_facts(config: dict) -> ModelFacts:
    return ModelFacts("org/model", preflight.HUB, config, "config.json of org/model on the Hub")


def paper_config(*overrides):
    return compose_preset("sept_qwen2.5_math_7b_dsr", list(overrides))


def test_paper_lengths_fit_qwen_math_context():
    # 1024 + 3072 = 4096 = Qwen2.5-Math-7B's max_position_embeddings, and rollout.max_model_len = 4096.
    assert preflight.check_context(paper_config(), context_facts({"max_position_embeddings": 4096})) == []


def test_lengths_longer_than_the_context():
    findings = preflight.check_context(
        paper_config("actor_rollout_ref.rollout.max_model_len=null"), context_facts({"max_position_embeddings": 2048})
    )
    (msg,) = errors(findings)
    assert "'1024 + 3072'" in msg and "4096 tokens" in msg and "context of 2048" in msg
    assert "data.max_response_length=1024" in msg


def test_prompt_alone_longer_than_the_context():
    config = paper_config("data.max_prompt_length=4096", "actor_rollout_ref.rollout.max_model_len=null")
    (msg,) = errors(preflight.check_context(config, context_facts({"max_position_embeddings": 2048})))
    assert "to sum to 2048" in msg


def test_context_of_a_multimodal_config_is_read_from_text_config():
    facts = context_facts({"text_config": {"max_position_embeddings": 32768}})
    assert preflight.check_context(paper_config(), facts) == []


def test_config_without_max_position_embeddings():
    (msg,) = errors(preflight.check_context(paper_config(), context_facts({"model_type": "x"})))
    assert "has no max_position_embeddings" in msg


def test_rollout_max_model_len_above_the_context():
    config = paper_config("data.max_response_length=1024", "actor_rollout_ref.rollout.max_model_len=8192")
    (msg,) = errors(preflight.check_context(config, context_facts({"max_position_embeddings": 4096})))
    assert "actor_rollout_ref.rollout.max_model_len = 8192" in msg and "at most 4096" in msg


def test_rollout_max_model_len_below_prompt_plus_response_is_a_note():
    findings = preflight.check_context(
        paper_config("actor_rollout_ref.rollout.max_model_len=2048"), context_facts({"max_position_embeddings": 4096})
    )
    assert errors(findings) == [] and "cut before max_response_length" in notes(findings)[0]


# ------------------------------------------------------------------------------------------------ together


def test_check_before_ray_lists_every_error_at_once(tmp_path):
    """The composed GPU config with the tiny model (context 512) on this GPU-less machine: all problems at once."""
    import torch

    from lab.tiny_model import write_tiny_model

    folder = write_tiny_model(tmp_path / "tiny")
    config = compose_preset("sept_trainer", [f"actor_rollout_ref.model.path={folder}"])
    if torch.cuda.is_available():
        pytest.skip("written for a machine without a GPU")
    with pytest.raises(preflight.PreflightError) as failure:
        preflight.check_before_ray(config)
    text = str(failure.value)
    assert "data.max_prompt_length + data.max_response_length = '1024 + 3072'" in text and "context of 512" in text
    assert "NVIDIA driver" in text or "visible GPUs" in text
    assert isinstance(failure.value, preflight.SePTConfigError)


def test_check_before_ray_passes_a_good_cpu_run(tmp_path):
    from lab.tiny_model import write_tiny_model

    folder = write_tiny_model(tmp_path / "tiny")
    config = compose_preset("sept_cpu", [f"actor_rollout_ref.model.path={folder}"])
    assert preflight.check_before_ray(config) == []


def test_report_command_on_this_machine():
    import torch

    proc = subprocess.run(
        [sys.executable, "-m", "recipe.sept.preflight"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    for row in ("torch ", "NVIDIA driver", "vllm ", "verl ", "flash-attn ", "transformers "):
        assert row in proc.stdout
    if not torch.cuda.is_available():
        assert proc.returncode == 1 and "GPU stack: NOT READY" in proc.stdout
