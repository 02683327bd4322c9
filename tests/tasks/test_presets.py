"""The shipped presets: every one valid, and on each task the models' budgets comparable."""

from collections import defaultdict

import pytest

from rnnzoo.cli.main import main
from rnnzoo.presets import PRESETS, catalogue, load_preset

TASK_MODELS = ("simple_rnn", "lstm", "gru", "mingru", "minlstm", "transformer")


def test_one_preset_per_task_and_model_besides_the_notebooks():
    expected = {f"{task}_{model}" for task in ("rows", "pixels", "permuted", "adding", "copy") for model in TASK_MODELS}
    assert expected | {"simple_rnn", "lstm", "gru", "bilstm"} == set(PRESETS)


def test_models_on_a_task_have_the_lstm128s_budget_within_six_percent():
    budgets = defaultdict(dict)
    for row in catalogue():
        if "_" in row["name"] and row["name"] not in ("simple_rnn",):
            task, model = row["name"].split("_", 1)
            budgets[task][model] = row["params"]
    assert set(budgets) == {"rows", "pixels", "permuted", "adding", "copy"}
    for task, models in budgets.items():
        reference = models["lstm"]
        for model, params in models.items():
            assert abs(params / reference - 1) < 0.06, (task, model, params, reference)


@pytest.mark.parametrize("name, task, features", [("adding_lstm", "adding", 2), ("copy_gru", "copy", 10),
                                                   ("permuted_mingru", "mnist", 1), ("rows_transformer", "mnist", 28)])
def test_presets_read_their_task(name, task, features):
    experiment = load_preset(name)
    assert experiment.data.dataset == task and experiment.task().features == features


def test_rnnzoo_presets_lists_them_with_task_and_parameters(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["preset", "task", "params", "epochs", "model"]
    assert len(lines) == 1 + len(PRESETS)
    adding = next(line for line in lines if line.startswith("adding_lstm "))
    assert "adding, T = 100" in adding and "67,201" in adding and "LSTM(128) → Dense(1)" in adding
    assert "Bidirectional(LSTM(256, relu, seq)) → Dropout(0.2)" in next(line for line in lines if line.startswith("bilstm "))
