"""`rnnzoo study`: bad input is one line and exit code 2, nothing written."""

import pytest

from rnnzoo.cli.main import main


@pytest.mark.parametrize("arguments,message", [
    (["nonexistent.toml"], "nonexistent.toml: no such file"),
    (["claims", "--workers", "0"], "--workers: expected a positive integer, got 0"),
])
def test_bad_input_is_one_line_and_exit_code_2(arguments, message, capsys, tmp_path):
    assert main(["study", *arguments, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_bad_study_file_names_the_key(tmp_path, capsys):
    study = tmp_path / "bad.toml"
    study.write_text('name = "bad"\nseeds = [0]\n[[experiments]]\npreset = "lstmm"\n')
    assert main(["study", str(study), "--out", str(tmp_path / "out")]) == 2
    assert "experiments[0].preset: unknown preset 'lstmm'" in capsys.readouterr().err
