"""SePT's loss through verl's own loss path (``ppo_loss``) equals a hand-computed NLL; the estimator gives ones."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from tensordict import TensorDict

import recipe.sept.losses  # noqa: F401  registers sept_nll and the sept estimator
from tests.helpers import compose_preset


def _actor_config(overrides=()):
    from verl.utils.config import omega_conf_to_dataclass

    config = compose_preset("sept_cpu", list(overrides))
    OmegaConf.resolve(config)
    return omega_conf_to_dataclass(config.actor_rollout_ref.actor)


def _batch():
    """Two sequences: prompt lengths 2 and 3 (padded to 3), response lengths 3 and 2 (padded to 3)."""
    prompts = torch.tensor([[0, 11, 12], [13, 14, 15]])
    responses = torch.tensor([[21, 22, 23], [24, 25, 0]])
    attention_mask = torch.tensor([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]])
    response_mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    # Packed model output: one log-prob per real token, left-shifted by one (position i predicts token i+1).
    # Sequence 1 has 5 real tokens, sequence 2 has 5; response log-probs sit at offsets prompt_len-1 ...
    lp = torch.tensor([-9.0, -0.5, -1.0, -2.0, -9.0, -9.0, -9.0, -0.25, -0.75, -9.0])
    data = TensorDict(
        {
            "prompts": prompts,
            "responses": responses,
            "attention_mask": attention_mask,
            "response_mask": response_mask,
            "old_log_probs": torch.full((2, 3), -100.0),
            "advantages": torch.full((2, 3), 7.0),
        },
        batch_size=2,
    )
    from verl.utils import tensordict_utils as tu

    # What verl's engine attaches to each micro-batch: global normalisers of the loss.
    tu.assign_non_tensor(data, dp_size=1, batch_num_tokens=5, global_batch_size=2)
    return lp, data


def test_ppo_loss_with_sept_nll_is_token_mean_nll():
    from verl.workers.utils.losses import ppo_loss

    lp, data = _batch()
    loss, metrics = ppo_loss(_actor_config(), {"log_probs": lp}, data)
    # Hand-computed: response tokens' log-probs are (-0.5, -1, -2) and (-0.25, -0.75); token-mean NLL = 4.5 / 5.
    assert loss.item() == pytest.approx(0.9)
    assert metrics["actor/pg_loss"].aggregate() == pytest.approx(0.9)


def test_sept_nll_ignores_advantages_and_old_log_probs():
    from verl.workers.utils.losses import ppo_loss

    lp, data = _batch()
    data["advantages"] = torch.full((2, 3), -3.0)
    data["old_log_probs"] = torch.zeros(2, 3)
    loss, _ = ppo_loss(_actor_config(), {"log_probs": lp}, data)
    assert loss.item() == pytest.approx(0.9)


def test_seq_mean_token_mean_mode_is_respected():
    from verl.workers.utils.losses import ppo_loss

    lp, data = _batch()
    loss, _ = ppo_loss(
        _actor_config(["actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean"]), {"log_probs": lp}, data
    )
    # Per-sequence means 3.5/3 and 1/2, averaged over the 2 sequences.
    assert loss.item() == pytest.approx((3.5 / 3 + 0.5) / 2)


def test_gradient_is_minus_mask_over_tokens():
    from verl.workers.utils.losses import ppo_loss

    lp, data = _batch()
    lp.requires_grad_(True)
    loss, _ = ppo_loss(_actor_config(), {"log_probs": lp}, data)
    loss.backward()
    expected = torch.zeros(10)
    expected[[1, 2, 3, 7, 8]] = -1.0 / 5
    assert torch.allclose(lp.grad, expected)


def test_rollout_importance_weights_are_refused():
    from verl.trainer.ppo.core_algos import get_policy_loss_fn

    fn = get_policy_loss_fn("sept_nll")
    with pytest.raises(ValueError, match="rollout_is=null"):
        fn(None, torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2), rollout_is_weights=torch.ones(1, 2))


def test_sept_estimator_gives_ones_on_response_tokens_through_verl():
    from verl import DataProto
    from verl.trainer.ppo.ray_trainer import compute_advantage

    mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.float32)
    data = DataProto.from_dict(
        tensors={"response_mask": mask, "token_level_rewards": torch.tensor([[0, 0, 0], [0, 5.0, 0]])},
        non_tensors={"uid": np.array(["a", "b"], dtype=object)},
    )
    out = compute_advantage(data, adv_estimator="sept")
    assert torch.equal(out.batch["advantages"], mask)
    assert torch.equal(out.batch["returns"], mask)
