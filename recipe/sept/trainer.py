"""SePT on verl's v1 synchronous trainer.

``PPOTrainerSync`` already is SePT's outer loop: sample from the current weights (colocated vLLM), put the rollout
to sleep, update the actor, push the fresh weights to vLLM. This subclass adds only what SePT needs on top:

* τs(step) from the schedule, attached to every training prompt so the agent loop samples at it
  (``recipe/sept/agent_loop.py``); the driver's rollout config cannot reach the agent-loop workers.
* τt(step) written to ``actor_rollout_ref.rollout.temperature`` in this process, which is the temperature verl
  passes to the actor's forward pass (logits / τt) for the loss and the entropy; fixed, or equal to τs (coupled).
* Metrics under ``sept/``; the training reward is monitoring only, and is dropped when ``sept.monitor_reward``
  is off. Metrics constant by construction under the reward-free estimator and losses are not logged (see
  ``_CONSTANT_METRICS``).
* Validation: unbiased pass@k next to verl's metrics; verl's resampled best@/worst@/maj@N only on request
  (``sept.verl_resampled_val_metrics``), as they cost the trainer 14 s per 1,024 samples.
* The count of prompts dropped for length (verl prints only how many remain).
* A collapse warning (``recipe/sept/collapse.py``): the online loop can diverge at too high a learning rate.

The old-log-prob forward pass verl runs every step is removed by configuration, not code: the YAML sets
``algorithm.rollout_correction.bypass_mode=true`` so verl copies vLLM's log-probs instead of recomputing them,
which ``sept_nll`` never reads (``recipe/sept/losses.py``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import transfer_queue as tq
from omegaconf import open_dict
from verl.trainer.ppo.v1 import PPOTrainerSync
from verl.utils import tensordict_utils as tu

from recipe.sept.agent_loop import TAU_S_FIELD
from recipe.sept.collapse import ACCURACY_METRIC, ENTROPY_METRIC, CollapseHistory, detect_collapse
from recipe.sept.config import parse_sept_config, warn_if_not_sharpening
from recipe.sept.losses import EMFT_LOSS, SEPT_ADV_ESTIMATOR, SEPT_NLL_LOSS
from recipe.sept.resume import apply_decision, resolve_resume, save_failure

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "INFO"))

# verl's metric names, renamed where under SePT's loss they measure something more specific (pg_loss is the NLL
# only under sept_nll; under GRPO it keeps verl's name).
_RENAMED = {"actor/pg_loss": "sept/nll", "actor/entropy_loss": ENTROPY_METRIC}
_REWARD_PREFIXES = ("critic/score/", "critic/rewards/")
# Constant by construction, so not logged: the sept estimator's advantages and returns are 1 on every token, and
# EM-FT's policy term is 0 (its objective is verl's entropy term, logged as sept/entropy).
_CONSTANT_METRICS = {
    SEPT_ADV_ESTIMATOR: ("critic/advantages/", "critic/returns/"),
    EMFT_LOSS: ("actor/pg_loss",),
}


def parquet_rows(files) -> int:
    """Rows in one or several parquet files (their footers only)."""
    import pyarrow.parquet as pq

    files = [files] if isinstance(files, str) else list(files)
    return sum(pq.ParquetFile(os.path.expanduser(f)).metadata.num_rows for f in files)


def report_overlong(split: str, files, kept: int, max_prompt_length: int) -> int:
    """Log how many prompts verl's ``data.filter_overlong_prompts`` dropped; an empty split is an error."""
    total = parquet_rows(files)
    dropped = total - kept
    logger.warning(
        "sept: %s: dropped %d of %d prompts longer than data.max_prompt_length=%d tokens (after the chat template)",
        split,
        dropped,
        total,
        max_prompt_length,
    )
    if kept == 0:
        raise ValueError(
            f"data.{split}_files = {files}: every prompt is longer than data.max_prompt_length={max_prompt_length}; "
            "raise data.max_prompt_length or shorten the prompts"
        )
    return dropped


def mean_std_metrics(data_sources, sample_uids, infos, expected_acc_counts=None) -> dict[str, float]:
    """verl's validation mean@N and std@N without its resampled best@/worst@/maj@ metrics.

    As ``verl.trainer.ppo.metric_utils.process_validation_metrics``: per data source, uid and numeric variable the
    mean (std) of its N values, then the mean over uids; ``acc`` (else ``reward``) mean@N under ``val-core/``, the
    rest under ``val-aux/``; with ``expected_acc_counts``, sessions that never materialised count as acc = 0 and
    ``acc_success_only`` keeps the observed ones. verl's 1,000 resamples per n in 2, 4, ..., N per uid and
    variable cost 14 s of the trainer's single core per 1,024 samples on the CPU preset, and minutes per
    validation of the paper's six benchmarks at n = 32, while the accelerators wait. verl's num_turns metrics,
    constant in SePT's single-turn loop, are not logged.
    """
    from collections import defaultdict

    import numpy as np

    grouped: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for i, (source, uid) in enumerate(zip(data_sources, sample_uids, strict=True)):
        for name, values in infos.items():
            grouped[source][uid][name].append(values[i])
    with_acc = {
        src for src, by_uid in grouped.items() for u in by_uid.values() for v in u.get("acc", []) if v is not None
    }
    for (source, uid), expected in (expected_acc_counts or {}).items():
        if source in with_acc:
            observed = [v for v in grouped[source][uid].get("acc", []) if v is not None]
            grouped[source][uid]["acc_success_only"] = observed
            grouped[source][uid]["acc"] = observed + [0.0] * max(expected - len(observed), 0)
    out = {}
    for source, by_uid in grouped.items():
        per_var: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for var2vals in by_uid.values():
            for name, values in var2vals.items():
                values = [v for v in values if v is not None]
                if not values or isinstance(values[0], str):
                    continue
                per_var[name][f"mean@{len(values)}"].append(float(np.mean(values)))
                if len(values) > 1:
                    per_var[name][f"std@{len(values)}"].append(float(np.std(values)))
        core = "acc" if "acc" in per_var else "reward"
        n_max = {name: max(int(m.split("@")[1]) for m in metrics) for name, metrics in per_var.items()}
        for name, metrics in per_var.items():
            for metric, values in metrics.items():
                section = "val-core" if name == core and metric == f"mean@{n_max[name]}" else "val-aux"
                out[f"{section}/{source}/{name}/{metric}"] = float(np.mean(values))
    return out


def passk_metrics(data_sources, sample_uids, accs) -> dict[str, float]:
    """Unbiased pass@k per data source and their unweighted mean, from one validation pass's graded samples.

    Samples are grouped into problems by uid; k runs over the paper's ks (1, 2, 4, ..., 32) up to the smallest n
    of any problem. Keys: ``val-passk/<data_source>/pass@k``, ``val-passk/mean/pass@k`` and, when k = 1, 8, 32
    are all available, ``val-passk/mean/avg`` (the paper's AVG). Uses eval.metrics, as offline evaluation does.
    """
    from collections import defaultdict

    from eval.metrics import AVG_KS, PAPER_KS, avg_score, macro_mean, mean_pass_at_k

    problems: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for source, uid, acc in zip(data_sources, sample_uids, accs, strict=True):
        counts = problems[str(source)][str(uid)]
        counts[0] += 1
        counts[1] += int(bool(acc))
    per_source = {}
    for source, by_uid in problems.items():
        counts = [tuple(c) for c in by_uid.values()]
        n_min = min(n for n, _ in counts)
        per_source[source] = {k: mean_pass_at_k(counts, k) for k in PAPER_KS if k <= n_min}
    out = {f"val-passk/{src}/pass@{k}": v for src, ks in per_source.items() for k, v in ks.items()}
    mean = macro_mean(per_source)
    out.update({f"val-passk/mean/pass@{k}": v for k, v in mean.items()})
    if all(k in mean for k in AVG_KS):
        out["val-passk/mean/avg"] = avg_score(mean)
    return out


def masked_token_mean(values: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean of ``values`` over the tokens where ``mask`` is 1."""
    mask = mask.to(values.dtype)
    return float((values * mask).sum() / mask.sum().clamp(min=1))


class SePTTrainer(PPOTrainerSync):
    """Self-training: SFT on the model's own τs-samples with logits at τt (see the module docstring)."""

    def __init__(self, config):
        super().__init__(config)
        self._init_sept()
        self._check_resume()

    def _init_sept(self) -> None:
        """SePT's state, from ``self.config`` alone (tests build a trainer without Ray through this)."""
        config = self.config
        self.sept = parse_sept_config(config)
        self.tau_s = self.sept.tau_s.start
        self.tau_t = self.sept.tau_t
        self._loss_mode = config.actor_rollout_ref.actor.policy_loss.loss_mode
        # verl's metrics not logged: the constant ones, and the reward's when monitoring is off.
        self._dropped_metrics = (
            _CONSTANT_METRICS.get(config.algorithm.adv_estimator, ())
            + _CONSTANT_METRICS.get(self._loss_mode, ())
            + (() if self.sept.monitor_reward else _REWARD_PREFIXES)
        )
        # Starts empty on a resume too: the entropy reference is then the first steps after the resume.
        self._collapse = CollapseHistory()

    def _check_resume(self) -> None:
        """Check the checkpoint verl is about to resume from before any worker starts (``recipe/sept/resume.py``):
        a damaged or half-written one is skipped for the newest complete one, saying so, or refused; verl's own
        ``_load_checkpoint`` then loads the folder chosen here."""
        apply_decision(self.config, resolve_resume(self.config, self.use_critic))

    def _save_checkpoint(self):
        """verl's save; running out of space (which verl reports as torch's ``unexpected pos`` from a worker) is
        an error naming the folder, the free space and the checkpoint a relaunch resumes from."""
        try:
            super()._save_checkpoint()
        except Exception as exc:
            root = Path(os.path.abspath(os.path.expanduser(self.config.trainer.default_local_dir)))
            clear = save_failure(exc, root, self.global_steps)
            if clear is None:
                raise
            raise clear from exc

    def _init_dataloader(self):
        """verl's dataloaders, plus the count of prompts dropped for length (verl prints only what remains)."""
        super()._init_dataloader()
        if self.config.data.filter_overlong_prompts:
            limit = self.config.data.max_prompt_length
            report_overlong("train", self.config.data.train_files, len(self.train_dataset), limit)
            report_overlong("val", self.config.data.val_files, len(self.val_dataset), limit)

    def on_init_end(self):
        """verl's weight sync after loading, plus the τs ≥ τt start-up warning (needs the run's length)."""
        super().on_init_end()
        warn_if_not_sharpening(self.sept, self.total_training_steps, self.steps_per_epoch)

    def on_step_begin(self):
        """Set this step's τs and τt; τt goes into the config the actor's forward passes read."""
        super().on_step_begin()
        self.tau_s = self.sept.tau_s_for_step(self.global_steps, self.steps_per_epoch)
        self.tau_t = self.sept.tau_t_for_step(self.global_steps, self.steps_per_epoch)
        with open_dict(self.config):
            self.config.actor_rollout_ref.rollout.temperature = self.tau_t

    def _next_train_batch(self, num_prompts: int | None = None):
        """verl's batch, with this step's τs attached to every prompt (read by ``SePTAgentLoop``)."""
        batch = super()._next_train_batch(num_prompts)
        tu.assign_non_tensor_data(batch, TAU_S_FIELD, float(self.tau_s))
        return batch

    def _val_metrics_update(self, data_sources, sample_uids, reward_extra_infos_dict, sample_turns, **kwargs):
        """verl's validation metrics (all of them with ``sept.verl_resampled_val_metrics``, else mean@n and std@n),
        plus unbiased pass@k (verl has none) under val-passk/."""
        if self.sept.verl_resampled_val_metrics:
            metrics = super()._val_metrics_update(
                data_sources, sample_uids, reward_extra_infos_dict, sample_turns, **kwargs
            )
        else:
            metrics = mean_std_metrics(
                data_sources, sample_uids, reward_extra_infos_dict, kwargs.get("expected_acc_counts")
            )
        accs = reward_extra_infos_dict.get("acc") or [score > 0 for score in reward_extra_infos_dict["reward"]]
        metrics.update(passk_metrics(data_sources, sample_uids, accs))
        return metrics

    def _rollout_nll(self, batch) -> float:
        """Token-mean NLL of the samples under the sampler itself (vLLM's log-probs, at τs)."""
        data = tq.kv_batch_get(
            keys=batch.keys, partition_id=batch.partition_id, select_fields=["rollout_log_probs", "response_mask"]
        ).to_padded_tensor()
        return masked_token_mean(-data["rollout_log_probs"], data["response_mask"])

    def _compute_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        """verl's metrics, renamed or dropped (see the module constants), plus ``sept/*``; and the collapse check
        (verl has none), here because this is the last point where the step's metrics are complete before verl's
        ``fit`` logs them."""
        super()._compute_metrics(batch, metrics, timing_raw, global_steps=global_steps, epoch=epoch)
        renamed = _RENAMED if self._loss_mode == SEPT_NLL_LOSS else {"actor/entropy_loss": ENTROPY_METRIC}
        for old, new in renamed.items():
            if old in metrics:
                metrics[new] = metrics.pop(old)
        for key in [k for k in metrics if k.startswith(self._dropped_metrics)]:
            del metrics[key]
        metrics["sept/tau_s"] = self.tau_s
        metrics["sept/tau_t"] = self.tau_t
        if self.config.actor_rollout_ref.rollout.calculate_log_probs:
            metrics["sept/rollout_nll"] = self._rollout_nll(batch)
        if self.sept.collapse.enabled:
            metrics["sept/collapse_warning"] = self._check_collapse(global_steps, metrics)

    def _check_collapse(self, step: int, metrics: dict) -> float:
        """Add this step's entropy and accuracy to the history and judge it (``recipe/sept/collapse.py``); the
        WARNING is logged once per onset, not at every step of a collapsed run. Returns 1.0 when firing, else 0.0."""
        history = self._collapse
        if ENTROPY_METRIC in metrics:
            history.entropy.append(float(metrics[ENTROPY_METRIC]))
        if ACCURACY_METRIC in metrics:
            history.accuracy.append(float(metrics[ACCURACY_METRIC]))
        status = detect_collapse(history.entropy, history.accuracy, self.sept.collapse)
        if status.fired and not history.firing:
            logger.warning(
                "sept: step %d: the run looks collapsed (%s): %s. The self-training loop diverges at too high a "
                "learning rate: lower actor_rollout_ref.actor.optim.lr (now %g).",
                step,
                " and ".join(status.signals),
                status.describe(),
                self.config.actor_rollout_ref.actor.optim.lr,
            )
        history.firing = status.fired
        return float(status.fired)
