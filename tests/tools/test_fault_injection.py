"""The pure parts of tools/fault_injection.py: what it reads from the probe's events and the metrics files, and
how it judges a fault (the launches themselves are the script's, not the suite's)."""

from __future__ import annotations

import json

from tools.fault_injection import (
    FAULTS,
    Fault,
    Launch,
    compare_to_reference,
    first_step,
    judge_fault,
    metrics_rows,
    prompts_off,
    render_table,
    step_metrics,
    step_prompts,
)


def batch(launch, step, index):
    return {"event": "batch", "launch": launch, "step": step, "index": index}


def row(step, tau_s, lr=0.001):
    return {"step": step, "data": {"sept/tau_s": tau_s, "actor/lr": lr}}


REFERENCE = {1: [3, 1], 2: [0, 2], 3: [2, 3], 4: [1, 0]}
# Launch k1 drew steps 1-3 and was killed in step 3; k2 resumed from the step-2 checkpoint and redrew step 3.
EVENTS = [
    batch("k1", 1, [3, 1]),
    batch("k1", 2, [0, 2]),
    batch("k1", 3, [2, 3]),
    {"event": "hold", "launch": "k1", "phase": "generation", "step": 3},
    batch("k2", 3, [2, 3]),
    batch("k2", 4, [1, 0]),
]


def test_the_last_draw_of_a_step_wins_and_launches_are_told_apart():
    assert step_prompts(EVENTS) == REFERENCE
    assert step_prompts(EVENTS, "k2") == {3: [2, 3], 4: [1, 0]}
    assert first_step(EVENTS, "k2") == 3 and first_step(EVENTS, "k9") is None


def test_prompts_off_counts_skipped_repeated_and_reordered_prompts():
    assert prompts_off(REFERENCE, {3: [2, 3], 4: [1, 0]}) == 0
    # A resume that restarted the epoch's data order: step 3 got step 1's prompts.
    assert prompts_off(REFERENCE, {3: [3, 1]}) == 2
    assert prompts_off(REFERENCE, {4: [0, 1]}) == 2
    assert prompts_off(REFERENCE, {4: [1]}) == 1


def test_a_line_cut_short_by_a_kill_ends_the_rows_and_later_launches_win(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(row(1, 0.6)) + "\n" + json.dumps(row(2, 0.7)) + "\n" + '{"step": 3, "da')
    second.write_text(json.dumps(row(2, 0.75)) + "\n" + json.dumps({"step": 2, "data": {"val/x": 1}}) + "\n")
    per_file = metrics_rows([first, second])
    assert [len(rows) for rows in per_file] == [2, 2]
    assert step_metrics(per_file) == {1: row(1, 0.6)["data"], 2: row(2, 0.75)["data"]}


def test_compare_to_reference_names_each_difference():
    ref = {1: row(1, 0.6)["data"], 2: row(2, 0.7)["data"]}
    assert compare_to_reference(ref, dict(ref), REFERENCE, REFERENCE) == []
    got = {1: row(1, 0.6, lr=0.002)["data"]}
    problems = compare_to_reference(ref, got, REFERENCE, {**REFERENCE, 4: [0, 1]})
    assert problems == [
        "step 1: lr 0.002 != reference 0.001",
        "step 2: no metrics row in any launch",
        "step 4: prompts [0, 1] != reference [1, 0]",
    ]


def test_judge_fault_resume_steps_lost_and_rows_lost():
    fault = Fault("driver killed during generation", "driver", "generation", 3)
    killed = Launch("k1", fault, returncode=-9, exit_after_kill_s=0.1, tracker_at_kill=2)
    relaunch = Launch("k2", None, returncode=0, resume_notes=["resuming from /x/global_step_2 (checked: ...)"])
    rows = [row(1, 0.6), row(2, 0.7)]
    outcome = judge_fault(killed, relaunch, EVENTS, rows, REFERENCE, intact=True)
    assert (outcome.survived, outcome.resumed_from, outcome.steps_lost, outcome.data_lost) == (True, 2, 0, 0)
    assert outcome.rows_lost == []
    # Killed after step 2's save but before its metrics row: resumed right, the row is reported lost.
    outcome = judge_fault(killed, relaunch, EVENTS, rows[:1], REFERENCE, intact=True)
    assert outcome.survived and outcome.rows_lost == [2]
    # Resumed from an older checkpoint than the last complete one, or an earlier metrics file changed: not survived.
    older = Launch("k1", fault, tracker_at_kill=3)
    assert not judge_fault(older, relaunch, EVENTS, rows, REFERENCE, intact=True).survived
    assert not judge_fault(killed, relaunch, EVENTS, rows, REFERENCE, intact=False).survived


def test_the_chain_resumes_into_every_phase_and_the_table_has_a_row_per_fault():
    assert {f.phase for f in FAULTS} == {"generation", "update", "save", "validation"}
    assert {f.target for f in FAULTS} == {"driver", "actor worker", "rollout server"}
    killed = Launch("k1", FAULTS[0], tracker_at_kill=2)
    outcome = judge_fault(killed, Launch("k2", None), EVENTS, [row(1, 0.6), row(2, 0.7)], REFERENCE, True)
    table = render_table([outcome], [], [("date", "today")])
    assert "| driver killed during generation (step 3) | yes | global_step_2 | 0 | 0 | 0 |" in table
    assert "identical at every step" in table
