"""The Keras verbose=2 lines and the terminal-only live bar."""

import io
import re

import pytest
import torch
from rich.console import Console

from rnnzoo.training import KerasAdam, KerasLogger, evaluate, fit
from rnnzoo.training.logger import format_step_time, format_value, keras_line

VALUE = r"\d+\.\d{4}(e[+-]\d\d)?"
LINE = rf"^(\d+)/\1 - \d+s - loss: {VALUE} - accuracy: {VALUE} - \d+(s|ms|us)/step$"


def run_fit(model, x, y, **kwargs):
    out = io.StringIO()
    history = fit(model, x, y, optimizer=KerasAdam(model.parameters()), console=out, **kwargs)
    return out.getvalue().splitlines(), history


def test_fit_prints_keras_lines(mean_linear, toy_data):
    x, y = toy_data(n=100)
    lines, history = run_fit(mean_linear(3, 3), x, y, batch_size=32, epochs=3)
    assert len(lines) == 6
    for epoch in range(3):
        assert lines[2 * epoch] == f"Epoch {epoch + 1}/3"
        line = lines[2 * epoch + 1]
        assert re.match(LINE, line), line
        assert line.startswith("4/4 - ")
        assert f"loss: {history.loss[epoch]:.4f} - accuracy: {history.metric('accuracy')[epoch]:.4f}" in line


def test_single_epoch_has_no_header_like_keras(mean_linear, toy_data):
    x, y = toy_data(n=40)
    lines, _ = run_fit(mean_linear(3, 3), x, y, batch_size=32, epochs=1)
    assert len(lines) == 1 and re.match(LINE, lines[0])


def test_verbose_zero_is_silent(mean_linear, toy_data, capsys):
    x, y = toy_data(n=40)
    lines, _ = run_fit(mean_linear(3, 3), x, y, epochs=2, verbose=0)
    assert lines == []
    assert capsys.readouterr().out == ""


def test_default_console_is_stdout(mean_linear, toy_data, capsys):
    x, y = toy_data(n=40)
    model = mean_linear(3, 3)
    evaluate(model, x, y, batch_size=16)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and re.match(LINE, out[0]) and out[0].startswith("3/3 - ")


def test_evaluate_prints_one_line(mean_linear, toy_data):
    x, y = toy_data(n=100)
    out = io.StringIO()
    result = evaluate(mean_linear(3, 3), x, y, batch_size=64, console=out)
    (line,) = out.getvalue().splitlines()
    assert re.match(LINE, line) and line.startswith("2/2 - ")
    assert f"loss: {result['loss']:.4f} - accuracy: {result['accuracy']:.4f}" in line


def test_keras_number_and_time_formats():
    assert keras_line(938, 97.4, 0.15714, {"accuracy": 0.95521}, 0.1043) == (
        "938/938 - 97s - loss: 0.1571 - accuracy: 0.9552 - 104ms/step"
    )
    assert format_value(0.0005) == "5.0000e-04"  # Keras switches to %.4e at <= 1e-3
    assert format_value(0.0) == "0.0000e+00"
    assert format_step_time(2.4) == "2s/step"
    assert format_step_time(0.0384) == "38ms/step"
    assert format_step_time(0.00085) == "850us/step"


def test_no_live_bar_when_not_a_terminal(mean_linear, toy_data):
    x, y = toy_data(n=100)
    assert not KerasLogger(io.StringIO()).live
    lines, _ = run_fit(mean_linear(3, 3), x, y, batch_size=8, epochs=2)
    text = "\n".join(lines)
    assert "\x1b" not in text and "━" not in text


def test_live_bar_on_a_terminal_keeps_the_keras_lines(mean_linear, toy_data):
    x, y = toy_data(n=100)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    logger = KerasLogger(console)
    assert logger.live
    model = mean_linear(3, 3)
    fit(model, x, y, optimizer=KerasAdam(model.parameters()), batch_size=8, epochs=2, console=console)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.getvalue())  # drop cursor/colour codes
    assert re.search(r"Epoch 2/2", text)
    assert len(re.findall(r"13/13 - \d+s - loss: ", text)) == 2


def test_bar_is_stopped_when_training_fails(mean_linear, toy_data):
    class Boom(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    x, y = toy_data(n=20)
    console = Console(file=io.StringIO(), force_terminal=True)
    model = mean_linear(3, 3)
    logger = KerasLogger(console)
    with pytest.raises(RuntimeError, match="boom"):
        fit(Boom(), x, y, optimizer=KerasAdam(model.parameters()), callbacks=[logger], verbose=0)
    assert logger._progress is None
