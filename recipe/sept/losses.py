"""SePT's loss and advantage estimator, registered in verl's registries.

Imported in every Ray process through ``VERL_USE_EXTERNAL_MODULES`` (set by ``main_sept``): the advantage
estimator runs in the trainer process, the policy loss inside the FSDP actor worker, where verl's ``ppo_loss``
(``verl/workers/utils/losses.py``) looks ``actor.policy_loss.loss_mode`` up in the registry.

Why a registered loss on verl's own worker rather than a worker subclass: verl 0.9.1's ``ppo_loss`` already does
everything else SePT needs (response-only masking, ``loss_agg_mode``, global token normalisation across
micro-batches and data-parallel ranks, logits divided by the trainer's temperature before ``log_softmax``); the
only SePT-specific piece is the per-token loss itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from verl.trainer.ppo.core_algos import agg_loss, register_adv_est, register_policy_loss

SEPT_ADV_ESTIMATOR = "sept"
SEPT_NLL_LOSS = "sept_nll"
EMFT_LOSS = "sept_emft"
# Loss modes that are reward-free and pair with the `sept` estimator.
REWARD_FREE_LOSSES = (SEPT_NLL_LOSS, EMFT_LOSS)


def token_nll(
    log_prob: torch.Tensor, response_mask: torch.Tensor, loss_agg_mode: str, **global_batch_info
) -> torch.Tensor:
    """NLL of the model's own response tokens: agg_loss(−log π_τt(y_t | x, y_<t)) over response tokens.

    ``log_prob`` is already at the training temperature τt (verl divides the logits by it); ``loss_agg_mode``
    is verl's (token-mean by default, as in the paper).
    """
    return agg_loss(loss_mat=-log_prob, loss_mask=response_mask, loss_agg_mode=loss_agg_mode, **global_batch_info)


@register_policy_loss(SEPT_NLL_LOSS)
def compute_policy_loss_sept_nll(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config: Any | None = None,
    rollout_is_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """SePT's update: supervised NLL on the model's own samples.

    Unlike verl's policy-gradient losses it reads neither ``advantages`` nor ``old_log_prob`` (no reward, no
    importance ratio, no clipping): with advantages all one, verl's ``gpg`` loss gives the same number, but this
    loss stays NLL whatever the estimator writes. ``rollout_is_weights`` must be absent: SePT samples from the
    current weights, so there is nothing to correct.
    """
    if rollout_is_weights is not None:
        raise ValueError(
            "sept_nll got rollout importance weights: set algorithm.rollout_correction.rollout_is=null "
            "(SePT samples on-policy from the current weights)."
        )
    global_batch_info = config.global_batch_info if config is not None else {}
    return token_nll(log_prob, response_mask, loss_agg_mode, **global_batch_info), {}


@register_policy_loss(EMFT_LOSS)
def compute_policy_loss_emft(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config: Any | None = None,
    rollout_is_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """EM-FT (paper Figure 3): minimise the token entropy of the model's own samples instead of their NLL.

    The policy term is zero; the objective is verl's own entropy term, which ``ppo_loss`` adds as
    ``-entropy_coeff * agg_loss(entropy)``: with ``actor.entropy_coeff = -1`` (required, checked at start-up) the
    loss is +1 × the token-mean entropy at τt. The zero keeps ``log_prob`` in the graph so every rank backpropagates
    through the same tensors.
    """
    return (log_prob * 0.0).sum(), {}


@register_adv_est(SEPT_ADV_ESTIMATOR)
def compute_sept_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | None = None,
    config: Any | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reward-free "advantage": 1 on every response token, so every own sample is imitated with weight one.

    verl's v1 step always computes advantages; registering this estimator keeps its pipeline unchanged while the
    reward (monitoring only) never reaches the update, and selecting it keeps ``need_critic()`` false.
    """
    ones = response_mask.to(torch.float32)
    return ones, ones
