from __future__ import annotations

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_check_ok():
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 0, result.output
    assert "programs" in result.output and "7 schedules" in result.output


def test_check_reports_file_line_field_and_fails(data_copy):
    path = data_copy / "programs_2022.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("companies: 20\n", "companies: 스무\n", 1), encoding="utf-8")
    line = next(i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "companies: 스무" in row)
    result = runner.invoke(app, ["kb", "check", "--path", str(data_copy)])
    assert result.exit_code == 1
    assert f"{path}:{line}: programs[2].companies:" in result.output
