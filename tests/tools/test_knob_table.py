"""The knob tables in README.md and docs/ are generated from the YAML that defines the values, and are current."""

from tools import knob_table


def test_leaves_carry_their_dotted_key_value_and_the_comment_above(tmp_path):
    yaml = tmp_path / "k.yaml"
    yaml.write_text(
        "# a header comment, not a knob's\n\n"
        "top:\n\n"
        "  # Inner group.\n"
        "  group:\n\n"
        "    # First knob: 1 is\n"
        "    # the default.\n"
        "    first: 1\n\n"
        "    second: [0.5, 1.0]\n\n"
        "  # Back at the top level.\n"
        "  third: text\n",
        encoding="utf-8",
    )
    assert knob_table.knobs(yaml, "x.") == [
        ("x.top.group.first", "1", "First knob: 1 is the default."),
        ("x.top.group.second", "[0.5, 1.0]", ""),
        ("x.top.third", "text", "Back at the top level."),
    ]


def test_the_sept_table_lists_every_sept_knob_with_its_yaml_value():
    from tests.helpers import compose_preset

    rows = {key: value for key, value, _ in knob_table.knobs(knob_table.REPO / "configs/sept_base.yaml")}
    sept = compose_preset("sept_trainer", ["actor_rollout_ref.model.path=/m"]).sept
    leaves = (
        {f"sept.tau_s.{k}": v for k, v in sept.tau_s.items()}
        | {f"sept.collapse.{k}": v for k, v in sept.collapse.items()}
        | {f"sept.{k}": sept[k] for k in ("tau_t", "tau_t_mode", "monitor_reward")}
    )
    assert set(leaves) <= set(rows)
    assert all(rows[key].lower() == str(value).lower() for key, value in leaves.items())


def test_the_documents_tables_are_current():
    stale = [
        str(path.relative_to(knob_table.REPO))
        for path in knob_table.documents()
        if knob_table.replace_tables(path.read_text(encoding="utf-8")) != path.read_text(encoding="utf-8")
    ]
    assert not stale, f"run `python tools/knob_table.py --write`: stale knob tables in {stale}"
