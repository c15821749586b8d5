"""The grader mode is one config value, reward.custom_reward_function.reward_kwargs.grader_mode, which verl's own
reward-function loader hands to the recipe's reward function on every call (training samples and validation)."""

from __future__ import annotations

import pytest
from verl.trainer.ppo.reward import get_custom_reward_fn

from eval import grader
from recipe.sept.config import SePTConfigError, check_verl_settings
from tests.helpers import compose_preset

# 1,999.99999999 is 2000 only when rounded (strict rule comma_rounding); faithful truncates it to 1999.
RESPONSE, TRUTH = "Adding up: \\boxed{1,999.99999999}", "2000"


def test_presets_grade_faithfully_by_default_and_verl_passes_the_mode_to_the_reward_function():
    config = compose_preset("sept_cpu")
    assert config.reward.custom_reward_function.reward_kwargs.grader_mode == "faithful"
    check_verl_settings(config)
    faithful = get_custom_reward_fn(config)(data_source="minerva", solution_str=RESPONSE, ground_truth=TRUTH)
    assert (faithful["acc"], faithful["reason"]) == (False, "mismatch")

    strict_config = compose_preset("sept_cpu", ["reward.custom_reward_function.reward_kwargs.grader_mode=strict"])
    check_verl_settings(strict_config)
    strict = get_custom_reward_fn(strict_config)(data_source="minerva", solution_str=RESPONSE, ground_truth=TRUTH)
    assert (strict["acc"], strict["reason"]) == (True, "correct_exact")
    grader.close_shared_pools()


def test_an_unknown_grader_mode_fails_at_start_up_naming_the_key_and_value():
    config = compose_preset("sept_cpu", ["reward.custom_reward_function.reward_kwargs.grader_mode=lenient"])
    with pytest.raises(SePTConfigError, match=r"reward_kwargs.grader_mode = 'lenient': unknown grader mode"):
        check_verl_settings(config)
