"""The CPU reproduction pipeline (lab/repro.py): its launches compose and validate, it skips what is
stored, fails naming the log, and its seed tables match hand-computed values."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from eval.regrade import regrade
from eval.store import Record, RunKey, write_generations
from eval.tables import ReportError, Table, load_metrics, seed_runs, seeds_table
from lab import repro as cpu_repro
from lab import repro_report
from lab.monitor import PeakMemory
from offline.main_offline import check_offline_settings
from recipe.sept.config import check_verl_settings, parse_sept_config
from recipe.sept.main_sept import validate_with_verl
from sweep.trainer import parse_sweep_config
from tests.helpers import compose_preset


def _plan(tmp_path, *args):
    return cpu_repro.make_plan(cpu_repro.parse_args(["--out", str(tmp_path), *args]))


@pytest.fixture
def launches(monkeypatch):
    """The command lines the pipeline would run, in order (nothing is launched)."""
    seen = []
    monkeypatch.setattr(cpu_repro, "run_stage", lambda plan, name, cmd: seen.append((name, cmd)))
    return seen


def _overrides(cmd: list[str]) -> tuple[str, list[str]]:
    """(preset, Hydra overrides) of a sweep.main_sweep / offline command line."""
    preset = cmd[cmd.index("--config-name") + 1]
    return preset, [a for a in cmd if "=" in a and not a.startswith("--")]


def test_every_training_launch_composes_and_passes_validation(tmp_path, launches):
    plan = _plan(tmp_path, "--seeds", "0,3")
    for seed in plan.seeds:
        for method in cpu_repro.METHODS:
            if method != "offline":
                cpu_repro.train_online(plan, method, seed)
    assert [name for name, _ in launches] == [f"{m}-s{s}" for s in (0, 3) for m in cpu_repro.METHODS if m != "offline"]
    for name, cmd in launches:
        preset, overrides = _overrides(cmd)
        assert cmd[1:3] == ["-m", "sweep.main_sweep"]
        config = compose_preset(preset, overrides)
        OmegaConf.resolve(config)
        sept, sweep = parse_sept_config(config), parse_sweep_config(config)
        check_verl_settings(config)
        validate_with_verl(config)
        method, seed = name.split("-s")
        assert (config.data.seed, config.actor_rollout_ref.rollout.seed) == (int(seed), int(seed))
        assert sweep.model_name == method and sweep.temperatures == [1.0] and sweep.n == plan.n
        assert config.data.val_files == str(plan.val_file) and plan.val_file.name == "val_256.parquet"
        # The paper's protocol shape: three epochs of 32 steps, two updates per step, an evaluation per epoch.
        assert cpu_repro.training_steps(config) == plan.steps == 96 and config.trainer.total_epochs == 3
        actor = config.actor_rollout_ref.actor
        assert 2 * actor.ppo_mini_batch_size == config.data.train_batch_size and config.trainer.test_freq == 32
        if method not in ("emft", "grpo"):
            assert (sept.tau_s.start, sept.tau_s.end, sept.tau_s.duration, sept.tau_s.unit) == (0.6, 1.0, 2, "epoch")
        # Figure 5: G samples per prompt at the same prompts per step.
        group = {"sept_g4": 4, "sept_g8": 8, "grpo": 8}.get(method, 1)
        assert config.actor_rollout_ref.rollout.n == group and config.data.train_batch_size == 32
        # GRPO trains at SePT's rate, not method=grpo's 7B rate; coupled ties tau_t to tau_s.
        assert config.actor_rollout_ref.actor.optim.lr == plan.lr
        assert sept.tau_t_mode == ("coupled" if method in ("coupled", "emft") else "fixed")
        assert config.algorithm.adv_estimator == ("grpo" if method == "grpo" else "sept")


def test_offline_launch_composes_with_the_offline_checks(tmp_path, launches, cpu_inputs):
    _, val = cpu_inputs
    plan = _plan(tmp_path, "--seeds", "2", "--methods", "offline", f"data.val_files={val}")
    final = tmp_path / "runs" / "offline-s2" / "checkpoints" / f"global_step_{plan.steps}"
    final.mkdir(parents=True)
    cpu_repro.train_offline(plan, 2)
    (train_name, train_cmd), (eval_name, eval_cmd) = launches
    assert (train_name, eval_name) == ("offline-s2", "offline-s2-eval")
    config = compose_preset(*_overrides(train_cmd))
    OmegaConf.resolve(config)
    check_offline_settings(config)
    validate_with_verl(config)
    assert config.data.seed == 2 and config.sept.tau_s.schedule == "constant"
    evaluation = compose_preset(*_overrides(eval_cmd))
    assert evaluation.actor_rollout_ref.model.path == str(final / "huggingface")
    assert parse_sweep_config(evaluation).checkpoint_name == f"step{plan.steps}" and evaluation.trainer.val_only


def _store(root: Path, model: str, checkpoint: str, tau: float, n: int, seed: int, correct: list[int]):
    responses = lambda c: [r"\boxed{7}"] * c + [r"\boxed{1}"] * (n - c)  # noqa: E731
    records = [
        Record("synthetic_arith", i, f"q{i}", "7", responses(c), ["stop"] * n, [5] * n) for i, c in enumerate(correct)
    ]
    write_generations(root, RunKey(model, checkpoint, "question", tau, n, seed, "synthetic_arith"), records)


def test_stored_runs_are_skipped(tmp_path, launches):
    plan = _plan(tmp_path, "--seeds", "0")
    _store(tmp_path / "generations", "sept", f"step{plan.steps}", 1.0, plan.n, 0, [1, 2])
    cpu_repro.train_online(plan, "sept", 0)
    cpu_repro.train_online(plan, "coupled", 0)
    assert [name for name, _ in launches] == ["coupled-s0"]


def test_a_failed_stage_names_its_log_and_says_how_to_continue(tmp_path):
    plan = _plan(tmp_path)
    with pytest.raises(cpu_repro.ReproError) as err:
        cpu_repro.run_stage(
            plan, "broken", [cpu_repro.sys.executable, "-c", "print('went wrong'); raise SystemExit(3)"]
        )
    message = str(err.value)
    assert "broken failed (exit 3)" in message and str(tmp_path / "logs" / "broken.log") in message
    assert "went wrong" in message and "rerun the same command" in message


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--seeds", "0,x"], "--seeds"),
        (["--methods", "sept,ppo"], "ppo"),
        (["trainer.no_such_key=1"], "trainer.no_such_key"),
    ],
)
def test_bad_arguments_are_named(tmp_path, args, problem, capsys):
    with pytest.raises((SystemExit, cpu_repro.ReproError)) as err:
        _plan(tmp_path, *args)
    assert problem in (str(err.value) + capsys.readouterr().err)


def test_the_default_is_the_headline_over_three_seeds_and_all_is_every_method(tmp_path):
    plan = _plan(tmp_path)
    assert (plan.seeds, plan.methods) == ([0, 1, 2], ["sept"])
    assert _plan(tmp_path, "--methods", "all").methods == list(cpu_repro.METHODS)


def test_held_out_questions_are_the_builders_own_then_ones_it_never_trained_on(tmp_path):
    from data_prep.synthetic import arithmetic_rows
    from lab.inputs import ensure_held_out, held_out_file
    from lab.tiny_base import Settings, split_rows

    settings = Settings()
    assert ensure_held_out(tmp_path, 256, "question") and not ensure_held_out(tmp_path, 256, "question")
    rows = pq.read_table(held_out_file(tmp_path, 256)).to_pylist()
    builder_train, builder_val = split_rows(settings)
    question = lambda row: row["prompt"][-1]["content"]  # noqa: E731
    assert len(rows) == 256 and [question(r) for r in rows[:64]] == [question(r) for r in builder_val]
    assert len({question(r) for r in rows}) == 256 and not {question(r) for r in rows} & set(
        map(question, builder_train)
    )
    # The presets' val.parquet is the builder's own set, written by the same function.
    assert held_out_file(tmp_path, settings.n_val).name == "val.parquet"
    assert arithmetic_rows(1024, 64, settings.data_seed, "question")["val"] == rows[:64]


def test_a_results_folder_made_on_another_held_out_set_is_refused(tmp_path):
    plan = _plan(tmp_path)
    cpu_repro.check_held_out_record(plan)  # a new folder: accepted
    (tmp_path / cpu_repro.HELD_OUT_RECORD).write_text(json.dumps(cpu_repro.held_out_record(plan)))
    cpu_repro.check_held_out_record(plan)  # its own record: accepted
    with pytest.raises(cpu_repro.ReproError, match="holds results on 256 held-out questions.*--held-out 256"):
        cpu_repro.check_held_out_record(_plan(tmp_path, "--held-out", "64"))
    # Generations stored before the record existed were made on the 64-question set.
    old = tmp_path / "old"
    (old / "generations").mkdir(parents=True)
    with pytest.raises(cpu_repro.ReproError, match="holds results on 64 held-out questions"):
        cpu_repro.check_held_out_record(_plan(old))
    cpu_repro.check_held_out_record(_plan(old, "--held-out", "64"))


def test_seed_table_matches_hand_computed_values():
    # Two seeds, two problems, n = 4: seed 0 solves problem 0 always and problem 1 never, seed 1 each half the time;
    # the reference solves problem 0 half the time and problem 1 never.
    def run(seed, counts):
        return {
            "model": "sept",
            "checkpoint": "step4",
            "style": "q",
            "tau": 1.0,
            "n": 4,
            "seed": seed,
            "benchmarks": {"b": {"n": 4, "correct_counts": {str(i): c for i, c in enumerate(counts)}}},
            "mean": {"pass": {"1": sum(counts) / 8}, "avg": None},
        }

    seeds = [run(0, [4, 0]), run(1, [2, 2])]
    table = seeds_table([("Baseline", [run(7, [2, 0])]), ("SePT", seeds)], ks=(1,))
    assert table.columns == ["method", "seeds", "pass@1", "Δpass@1 [95% CI]", "pass@1 per seed"]
    # Per problem, seeds minus reference: seed 0 (+0.5, 0), seed 1 (0, +0.5); any draw of seeds and problems
    # averages to 0, 0.25 or 0.5: mean +0.25.
    assert table.rows[0] == ["Baseline", 1, 25.0, None, "25.0"]
    assert table.rows[1] == ["SePT", 2, 50.0, "+25.0 [+0.0, +50.0]", "50.0 / 50.0"]
    assert seed_runs([seeds[1], seeds[0]], "sept", "step4", 1.0) == seeds
    with pytest.raises(ReportError, match="no runs of sept/step9"):
        seed_runs(seeds, "sept", "step9", 1.0)


def _regraded(tmp_path, plan) -> list[dict]:
    """Stored generations of a small reproduction (base sweep, SePT and coupled over two seeds), regraded."""
    root, n = tmp_path / "generations", plan.n
    for tau, correct in ((0.0, [1, 1, 0, 1]), (0.5, [30, 24, 8, 28]), (1.0, [8, 4, 0, 16])):
        _store(root, "base", "base", tau, 1 if tau == 0 else n, 42, correct)
    for seed, (sept, coupled) in enumerate((([32, 16, 0, 24], [8, 8, 0, 8]), ([24, 16, 0, 28], [8, 0, 0, 16]))):
        _store(root, "sept", "step32", 1.0, n, seed, [c // 2 for c in sept])
        _store(root, "sept", f"step{plan.steps}", 1.0, n, seed, sept)
        _store(root, "coupled", f"step{plan.steps}", 1.0, n, seed, coupled)
    (root / "metrics.json").write_text(json.dumps(regrade(root, workers=1)))
    return load_metrics(root / "metrics.json")


def test_report_tables_from_regraded_generations(tmp_path):
    plan = _plan(tmp_path, "--seeds", "0,1", "--methods", "sept,coupled")
    tables = dict(repro_report.report_tables(plan, _regraded(tmp_path, plan)))
    assert sorted(tables) == ["table1_main", "table5_coupling"]
    main = tables["table1_main"]
    # Greedy solves 3 of 4 (AVG 75); τ 0.5 has pass@1 90/128, pass@32 1 and pass@8 > 0.98: AVG 89.5, the best.
    assert [row[0] for row in main.rows] == ["Baseline (τ=0.5)", "Base model (τ=1)", "SePT"]
    assert main.rows[1][2] == pytest.approx(100 * 28 / 128)
    assert main.rows[2][1] == 2 and main.rows[2][2] == pytest.approx(100 * (72 / 128 + 68 / 128) / 2)
    assert main.rows[2][-1] == "56.2 / 53.1"
    assert [row[0] for row in tables["table5_coupling"].rows] == ["Baseline (τ=0.5)", "Coupling", "Decoupling"]
    assert isinstance(repro_report.sweep_table(load_metrics(tmp_path / "generations" / "metrics.json")), Table)


def test_the_report_holds_the_matched_comparison_and_the_step_curves(tmp_path):
    plan = _plan(tmp_path, "--seeds", "0,1", "--methods", "sept,coupled")
    runs = _regraded(tmp_path, plan)
    comparisons = repro_report.matched_comparisons(plan, runs)
    # SePT's mean pass@1 (140/256 = 0.547) lies between the base model's at τ 0.5 (0.703) and 1.0 (0.219).
    sept = comparisons["sept"]
    assert sept.match.lower == 0.5 and sept.match.upper == 1.0 and sept.match.inside
    assert sept.trained["pass@1"] == pytest.approx(140 / 256) == pytest.approx(sept.matched["pass@1"])
    # Coupled (48/256 = 0.19) is below every swept τ: compared with τ = 1 and marked as outside the sweep.
    assert not comparisons["coupled"].match.inside and comparisons["coupled"].match.tau == 1.0
    series = repro_report.step_series(plan, runs, {"sept": "SePT", "coupled": "Coupling"})
    assert [step for step, _ in series["SePT"]] == [0, 32, plan.steps]
    assert series["SePT"][0][1]["pass@1"] == pytest.approx(28 / 128)
    assert [step for step, _ in series["Coupling"]] == [0, plan.steps]
    steps = repro_report.step_table(plan, runs, {"sept": "SePT", "coupled": "Coupling"})
    assert [row[:3] for row in steps.rows] == [
        ["SePT", 0, 1],
        ["SePT", 32, 2],
        ["SePT", plan.steps, 2],
        ["Coupling", 0, 1],
        ["Coupling", plan.steps, 2],
    ]
    # Step 32 stores half of the final counts: seed 0 solves 36 of 128 samples, seed 1 34 of 128.
    assert steps.rows[1][3] == pytest.approx(100 * 70 / 256) and steps.rows[1][-1] == "28.1 / 26.6"
    assert steps.rows[0][-1] == "21.9"  # the base model at τ = 1, 28 of 128
    plan.timings.append(("a stage", 1.0))
    memory = PeakMemory()
    memory.stop()
    report = repro_report.write_report(plan, memory, 60.0, {"sept": "SePT", "coupled": "Coupling"}, "sept_cpu_repro")
    text = report.read_text()
    assert "Temperature-matched comparison" in text and "outside the sweep" in text
    assert "after every evaluation" in text and (tmp_path / "tables" / "passk_vs_step.csv").is_file()
    assert (tmp_path / "passk_vs_step.png").is_file() and (tmp_path / "tables" / "matched_questions.csv").is_file()
