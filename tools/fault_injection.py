"""Kill a CPU training launch anywhere, relaunch it, and check that nothing was lost (issue 13, item 1).

    flock /tmp/sept-heavy.lock python -m tools.fault_injection [--workdir DIR]      (about 20 min on 2 cores)

Not part of the test suite (six launches). The tiny random model and a 16-prompt synthetic set are built in
WORKDIR (no downloads); every launch is ``recipe.sept.main_sept --config-name sept_cpu`` with 6 steps of 8 prompts
(2 steps per epoch, 3 epochs), a checkpoint after every step, validation every 2 steps, ``resume_mode=auto``.

1. A reference launch runs the 6 steps uninterrupted.
2. The fault chain, in another folder: each launch is SIGKILLed at one point (``FAULTS``), then relaunched with
   the same command; the last launch runs to the end. ``tools/fault_probe.py``, loaded in the trainer's process,
   records the prompts of every step and holds the chosen phase open until the kill lands: the driver (the
   ``main_sept`` process, Ray's driver: the whole job dies with it) or a worker (the FSDP actor's Ray process, or
   the vLLM server's; the trainer is released after the kill and runs into the dead worker). After a kill every process left in the
   launch's session is killed too, as a scheduler ending the job would.

After each relaunch it checks: resumed from the last complete checkpoint at the moment of the kill; the global
steps continue; τs(step), the learning rate and the prompts of every step equal the reference's (no prompt of an
epoch skipped, none repeated beyond the redone steps); the metrics files of earlier launches are byte-identical.
Prints (and writes to WORKDIR/fault_report.md) the table: fault, survived, steps lost, data lost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from recipe.sept.resume import TRACKER, Expected, check_folder

REPO = Path(__file__).resolve().parents[1]
STEPS, PROMPTS_PER_STEP, N_TRAIN, N_VAL, TEST_FREQ = 6, 8, 16, 4, 2
LAUNCH_TIMEOUT_S = 900
# How long a launch may take to notice a dead worker and exit before it counts as hung.
EXIT_AFTER_KILL_S = 180
# Ray process titles of the workers a fault may kill: verl's fused FSDP actor worker and the vLLM server.
WORKER_TITLES = {"actor worker": "WorkerDict", "rollout server": "vLLMHttpServer"}


@dataclass(frozen=True)
class Fault:
    name: str
    target: str  # "driver" or a key of WORKER_TITLES
    phase: str  # a phase of tools/fault_probe.py
    step: int


# In chain order: each launch resumes where the previous kill left it (in brackets, the checkpoint it resumes).
FAULTS = (
    Fault("driver killed during generation", "driver", "generation", 3),  # [2]: the last step of epoch 1
    Fault("actor worker killed before its update", "actor worker", "update", 4),  # [3]
    Fault("driver killed during a checkpoint save", "driver", "save", 4),  # [3]: global_step_4 half-written
    Fault("rollout server killed during validation", "rollout server", "validation", 4),  # [4]: saved before
)


def overrides(workdir: Path) -> list[str]:
    return [
        f"actor_rollout_ref.model.path={workdir.parent / 'model'}",
        f"data.train_files={workdir.parent / 'data' / 'train.parquet'}",
        f"data.val_files={workdir.parent / 'data' / 'val.parquet'}",
        f"trainer.default_local_dir={workdir / 'checkpoints'}",
        f"trainer.total_training_steps={STEPS}",
        f"trainer.total_epochs={STEPS * PROMPTS_PER_STEP // N_TRAIN}",
        "trainer.save_freq=1",
        f"trainer.test_freq={TEST_FREQ}",
        "trainer.val_before_train=false",
        "trainer.resume_mode=auto",
        "trainer.logger=[console,file]",
        f"data.train_batch_size={PROMPTS_PER_STEP}",
        "actor_rollout_ref.actor.ppo_mini_batch_size=4",
    ]


@dataclass
class Launch:
    tag: str
    fault: Fault | None
    returncode: int | None = None
    seconds: float = 0.0
    killed_pid: int | None = None
    exit_after_kill_s: float | None = None  # None: not killed, or hung
    hung: bool = False
    tracker_at_kill: int | None = None
    resume_notes: list[str] = field(default_factory=list)
    damaged_after_kill: list[str] = field(default_factory=list)
    metrics_file: Path | None = None  # the launch's own (None: it logged nothing)


def say(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


def read_events(path: Path) -> list[dict]:
    """The probe's events; a last line still being written is left for the next read."""
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except ValueError:
            break
    return events


def session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def worker_pid(sid: int, target: str) -> int:
    """The pid of ``target`` (its Ray process title, ``WORKER_TITLES``) in the launch's session."""
    for pid in session_pids(sid):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::") and WORKER_TITLES[target] in title:
            return pid
    raise RuntimeError(f"no process titled ray::{WORKER_TITLES[target]} in session {sid}")


def end_session(sid: int) -> None:
    """SIGKILL every process left in the session and wait until none is left (Ray's head included)."""
    for _ in range(100):
        pids = session_pids(sid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)


def tracker_step(checkpoints: Path) -> int | None:
    try:
        return int((checkpoints / TRACKER).read_text().strip())
    except (OSError, ValueError):
        return None


def run_launch(workdir: Path, tag: str, fault: Fault | None) -> Launch:
    """One launch; with a fault, the kill when the probe holds the phase, then the end of its session."""
    events, log = workdir / "events.jsonl", workdir / f"launch_{tag}.log"
    env = {k: v for k, v in os.environ.items() if k not in ("VERL_FILE_LOGGER_PATH", "SEPT_FAULT_PHASE")}
    env.update(VERL_USE_EXTERNAL_MODULES="tools.fault_probe", SEPT_FAULT_DIR=str(workdir), SEPT_FAULT_LAUNCH=tag)
    if fault is not None:
        env.update(SEPT_FAULT_PHASE=fault.phase, SEPT_FAULT_STEP=str(fault.step))
    cmd = [sys.executable, "-m", "recipe.sept.main_sept", "--config-name", "sept_cpu", *overrides(workdir)]
    launch = Launch(tag, fault)
    earlier = set(metrics_files(workdir))
    say(f"launch {tag}: {fault.name + f' at step {fault.step}' if fault else 'no fault'}; log {log}")
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        killed_at = None
        while proc.poll() is None:
            time.sleep(0.1)
            now = time.monotonic()
            if fault is not None and killed_at is None and _held(events, tag):
                killed_at = now
                launch.tracker_at_kill = tracker_step(workdir / "checkpoints")
                launch.killed_pid = proc.pid if fault.target == "driver" else worker_pid(proc.pid, fault.target)
                os.kill(launch.killed_pid, signal.SIGKILL)
                if fault.target != "driver":
                    # The trainer goes on into the dead worker. Not after a driver kill: the held trainer must not
                    # finish the phase (the save) while Ray tears the job down.
                    (workdir / f"release_{tag}").touch()
                say(f"launch {tag}: SIGKILL {fault.target} (pid {launch.killed_pid}) in {fault.phase}")
            if killed_at is not None and now - killed_at > EXIT_AFTER_KILL_S:
                launch.hung = True
                break
            if now - start > LAUNCH_TIMEOUT_S:
                break
        if killed_at is not None and not launch.hung and proc.poll() is not None:
            launch.exit_after_kill_s = round(time.monotonic() - killed_at, 1)
        end_session(proc.pid)
        launch.returncode = proc.wait()
    launch.metrics_file = next(iter(sorted(set(metrics_files(workdir)) - earlier)), None)
    if fault is not None:
        launch.damaged_after_kill = half_written_saves(workdir / "checkpoints", workdir.parent / "model")
    launch.seconds = round(time.monotonic() - start, 1)
    launch.resume_notes = [
        line.split("sept resume: ", 1)[1] for line in log.read_text().splitlines() if "sept resume: " in line
    ]
    say(f"launch {tag}: exit {launch.returncode} after {launch.seconds} s")
    return launch


def _held(events: Path, tag: str) -> bool:
    return any(e["event"] == "hold" and e["launch"] == tag for e in read_events(events))


# ---------------------------------------------------------------- what the launches left (pure: tested fast)

LR_SUFFIX = "/lr"


def step_prompts(events: list[dict], launch: str | None = None) -> dict[int, list[int]]:
    """{step: prompt indices} in event order, the last draw of a step winning (a relaunch redraws a lost step);
    only ``launch``'s draws when given."""
    drawn: dict[int, list[int]] = {}
    for event in events:
        if event["event"] == "batch" and (launch is None or event["launch"] == launch):
            drawn[int(event["step"])] = list(event["index"])
    return drawn


def first_step(events: list[dict], launch: str) -> int | None:
    steps = [int(e["step"]) for e in events if e["event"] == "batch" and e["launch"] == launch]
    return min(steps) if steps else None


def metrics_rows(files: list[Path]) -> list[list[dict]]:
    """The JSON rows of each metrics file; a line cut short by a kill ends the file's rows (and is reported)."""
    out = []
    for path in files:
        rows = []
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                break
        out.append(rows)
    return out


def step_metrics(per_file: list[list[dict]]) -> dict[int, dict]:
    """{step: training metrics}: the last logged row of each step over the files in launch order."""
    final: dict[int, dict] = {}
    for rows in per_file:
        for row in rows:
            if "sept/tau_s" in row["data"]:
                final[int(row["step"])] = row["data"]
    return final


def learning_rate(metrics: dict) -> float | None:
    values = [v for k, v in metrics.items() if k.endswith(LR_SUFFIX)]
    return values[0] if values else None


def compare_to_reference(reference: dict, got: dict, ref_prompts: dict, got_prompts: dict) -> list[str]:
    """What differs between the fault chain's final run and the reference: prompts, τs, lr per step; [] if
    nothing."""
    problems = []
    for step in sorted(set(reference) | set(got)):
        if step not in got:
            problems.append(f"step {step}: no metrics row in any launch")
            continue
        if step not in reference:
            problems.append(f"step {step}: not in the reference run")
            continue
        for name, value in (("tau_s", lambda m: m["sept/tau_s"]), ("lr", learning_rate)):
            if value(reference[step]) is None:
                problems.append(f"step {step}: the reference logged no {name}")
            elif value(got[step]) != value(reference[step]):
                problems.append(f"step {step}: {name} {value(got[step])} != reference {value(reference[step])}")
    for step in sorted(set(ref_prompts) | set(got_prompts)):
        if ref_prompts.get(step) != got_prompts.get(step):
            problems.append(f"step {step}: prompts {got_prompts.get(step)} != reference {ref_prompts.get(step)}")
    return problems


def prompts_off(reference: dict[int, list[int]], drawn: dict[int, list[int]]) -> int:
    """Prompts of ``drawn``'s steps that are not the reference's at that step and position (skipped, repeated
    or reordered)."""
    off = 0
    for step, got in drawn.items():
        want = reference.get(step, [])
        off += sum(a != b for a, b in zip(got, want)) + abs(len(got) - len(want))
    return off


@dataclass
class Outcome:
    fault: Fault
    survived: bool
    resumed_from: int | None
    steps_lost: int | None
    data_lost: int
    rows_lost: list[int]
    notes: list[str]


def judge_fault(
    killed: Launch, relaunch: Launch, events: list[dict], killed_rows: list[dict], ref_prompts: dict, intact: bool
) -> Outcome:
    """One fault: did the relaunch resume from the last complete checkpoint at the kill, how many finished steps
    were redone (steps lost), how many prompts the relaunch drew off the reference's order (data lost), and which
    saved steps never got their metrics row (killed between the save and verl's logging)."""
    expected = killed.tracker_at_kill
    start = first_step(events, relaunch.tag)
    resumed = None if start is None else start - 1
    logged = {int(r["step"]) for r in killed_rows if "sept/tau_s" in r["data"]}
    last_logged = max(logged, default=0)
    steps_lost = None if resumed is None else max(0, last_logged - resumed)
    # Steps of the killed launch inside the checkpoint the relaunch resumed from, but never logged.
    rows_lost = [s for s in range(first_step(events, killed.tag) or 1, (resumed or 0) + 1) if s not in logged]
    data_lost = prompts_off(ref_prompts, step_prompts(events, relaunch.tag)) + (0 if intact else 1)
    notes = []
    if killed.hung:
        notes.append(f"did not exit within {EXIT_AFTER_KILL_S} s of the kill (hung; its session was killed)")
    elif killed.exit_after_kill_s is not None:
        notes.append(f"exited {killed.exit_after_kill_s} s after the kill")
    if resumed != expected:
        notes.append(f"resumed from step {resumed}, but the last complete checkpoint was {expected}")
    if not intact:
        notes.append("an earlier launch's metrics file changed")
    notes += [f"left {d}" for d in killed.damaged_after_kill]
    notes += [f"relaunch: {n}" for n in relaunch.resume_notes if not n.startswith("resuming from")]
    survived = resumed is not None and resumed == expected and intact and data_lost == 0
    return Outcome(killed.fault, survived, resumed, steps_lost, data_lost, rows_lost, notes)


def render_table(outcomes: list[Outcome], final_problems: list[str], facts: list[tuple[str, str]]) -> str:
    lines = ["## Fault injection (python -m tools.fault_injection)", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in facts]
    lines += [
        "",
        "| fault | survived | resumed from | steps lost | data lost | metrics rows lost | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        f = o.fault
        lines.append(
            f"| {f.name} (step {f.step}) | {'yes' if o.survived else 'NO'} | "
            f"{'-' if o.resumed_from is None else f'global_step_{o.resumed_from}'} | "
            f"{'-' if o.steps_lost is None else o.steps_lost} | {o.data_lost} | "
            f"{', '.join(f'step {r}' for r in o.rows_lost) or 0} | {'; '.join(o.notes)} |"
        )
    lines += ["", "Final run against the uninterrupted reference (prompts, tau_s and lr of every step):"]
    lines += [f"- {p}" for p in final_problems] or ["- identical at every step"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the command


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def metrics_files(workdir: Path) -> list[Path]:
    """This run's metrics files in launch order (``main_sept`` names one per launch by its start time)."""
    return sorted((workdir / "metrics").glob("*.jsonl"))


def build_inputs(root: Path) -> None:
    from data_prep.synthetic import write_arithmetic_sets
    from lab.tiny_model import write_tiny_model

    write_tiny_model(root / "model", seed=0)
    write_arithmetic_sets(root / "data", n_train=N_TRAIN, n_val=N_VAL, seed=0)


def run_chain(chain: Path, ref_prompts: dict) -> tuple[list[Outcome], list[Launch]]:
    """The fault launches and the final one; each fault judged on its relaunch."""
    launches = [run_launch(chain, f"k{i}", fault) for i, fault in enumerate(FAULTS[:1], start=1)]
    outcomes = []
    for i in range(1, len(FAULTS) + 1):
        before = {p: digest(p) for p in metrics_files(chain)}
        killed = launches[i - 1]
        killed_rows = metrics_rows([killed.metrics_file])[0] if killed.metrics_file else []
        fault = FAULTS[i] if i < len(FAULTS) else None
        relaunch = run_launch(chain, f"k{i + 1}" if fault else "final", fault)
        launches.append(relaunch)
        intact = all(p.exists() and digest(p) == d for p, d in before.items())
        events = read_events(chain / "events.jsonl")
        outcomes.append(judge_fault(killed, relaunch, events, killed_rows, ref_prompts, intact))
    return outcomes, launches


def half_written_saves(checkpoints: Path, model: Path) -> list[str]:
    """Checkpoint folders a kill left incomplete (the resume checks skip them)."""
    expected = Expected(
        1, ("model", "optimizer", "extra"), model_config=json.loads((model / "config.json").read_text())
    )
    out = []
    for folder in sorted(checkpoints.glob("global_step_*")):
        damage, _ = check_folder(folder, expected)
        out += [f"{folder.name}: {'; '.join(damage)}"] if damage else []
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="an empty folder (default: results/faults/<date>)")
    args = parser.parse_args(argv)
    root = Path(args.workdir or REPO / "results" / "faults" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    if root.exists() and any(root.iterdir()):
        print(f"faults: --workdir {root} is not empty; give a new folder", file=sys.stderr)
        return 2
    started = time.monotonic()
    build_inputs(root)
    reference, chain = root / "reference", root / "chain"
    reference.mkdir(parents=True)
    chain.mkdir()
    ref = run_launch(reference, "ref", None)
    if ref.returncode != 0:
        print(f"faults: the reference launch failed; see {reference / 'launch_ref.log'}", file=sys.stderr)
        return 1
    ref_prompts = step_prompts(read_events(reference / "events.jsonl"))
    ref_metrics = step_metrics(metrics_rows(metrics_files(reference)))
    outcomes, launches = run_chain(chain, ref_prompts)
    events = read_events(chain / "events.jsonl")
    final = launches[-1]
    problems = compare_to_reference(
        ref_metrics, step_metrics(metrics_rows(metrics_files(chain))), ref_prompts, step_prompts(events)
    )
    if final.returncode != 0:
        problems.insert(0, f"the final launch failed (exit {final.returncode}, {chain / 'launch_final.log'})")
    facts = [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("run", f"sept_cpu, tiny random Qwen2, {STEPS} steps x {PROMPTS_PER_STEP} prompts, {N_TRAIN} prompts"),
        ("launches", f"reference {ref.seconds:.0f} s; chain {', '.join(f'{x.seconds:.0f} s' for x in launches)}"),
        ("wall time", f"{(time.monotonic() - started) / 60:.1f} min"),
    ]
    report = render_table(outcomes, problems, facts)
    (root / "fault_report.md").write_text(report)
    print("\n" + report)
    return 0 if all(o.survived for o in outcomes) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
