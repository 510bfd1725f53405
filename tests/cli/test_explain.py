"""`conv-oracle explain`: formula, coverage map, torch vs oracle (conv_oracle.cli.explain, conv_oracle.cli.explanation)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conv_oracle import cli
from conv_oracle.cli import explain as cmd
from conv_oracle.cli import UsageError
from conv_oracle.machine.settings import reload as reload_settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = ["explain", "conv_transpose2d", "--input", "2x2", "--kernel", "2", "--stride", "4",
        "--x", "1 2; 3 4", "--w", "1 2; 0 1", "--no-bias"]
SEED_MATRIX = ["1 2 0 0 2 4", "0 1 0 0 0 2", "0 0 0 0 0 0", "0 0 0 0 0 0", "3 6 0 0 4 8", "0 3 0 0 0 4"]


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def block(out: str, heading: str) -> list[str]:
    """The lines after the line starting with ``heading``, up to the next blank line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_seed_case_prints_the_matrix_exactly(capsys):
    code, out, err = run(SEED, capsys)
    assert code == 0 and err == ""
    assert block(out, "torch (") == SEED_MATRIX
    assert block(out, "oracle (") == SEED_MATRIX
    assert "torch and the oracle agree bit for bit (36 cells)." in out


def test_seed_case_formula_and_coverage(capsys):
    _, out, _ = run(SEED, capsys)
    assert "  L_out = (L - 1)*s - 2*p + d*(k - 1) + 1 + a" in out
    assert "  H: (2 - 1)*4 - 2*0 + 1*(2 - 1) + 1 + 0 = 6" in out
    assert "  W: (2 - 1)*4 - 2*0 + 1*(2 - 1) + 1 + 0 = 6" in out
    assert block(out, "coverage of the output (6x6)") == [
        "# # . . # #", "# # . . # #", ". . . . . .", ". . . . . .", "# # . . # #", "# # . . # #",
        "bias-only: 20 of 36 cells (55.6%); bias-only indices per dimension: H [2, 3], W [2, 3]"]


def test_seed_case_as_a_command(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "conv_oracle.cli", *SEED], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\n".join(SEED_MATRIX) in proc.stdout


def test_conv2d_stride_greater_than_kernel_shows_skipped_pixels(capsys):
    code, out, _ = run(["explain", "conv2d", "--input", "7x7", "--kernel", "2", "--stride", "3"], capsys)
    assert code == 0
    assert "  H: floor((7 + 0 + 0 - 1*(2 - 1) - 1) / 3) + 1 = 2" in out
    assert block(out, "coverage of the input (7x7)") == [
        "# # . # # . .", "# # . # # . .", ". . . . . . .", "# # . # # . .", "# # . # # . .",
        ". . . . . . .", ". . . . . . .",
        "skipped: 33 of 49 cells (67.3%); skipped indices per dimension: H [2, 5, 6], W [2, 5, 6]"]
    # x = 1..9 repeating, w = [[1, 2], [3, 1]], bias -1: out[0, 0] = 1 + 4 + 24 + 9 - 1
    assert block(out, "torch (")[0].split()[0] == "37"
    assert "agree bit for bit (4 cells)" in out


def test_module_only_options_use_torch_modules(capsys):
    code, out, _ = run(["explain", "conv_transpose1d", "--input", "3", "--kernel", "2", "--stride", "3",
                        "--output-size", "9"], capsys)
    assert code == 0 and "torch (torch.nn module, float64):" in out
    assert "  L: (3 - 1)*3 - 2*0 + 1*(2 - 1) + 1 + 1 = 9" in out
    assert ". bias-only" in out.replace("= bias-only", ". bias-only") and "L [2, 5, 8]" in out
    code, out, _ = run(["explain", "conv2d", "--input", "4", "--kernel", "3", "--padding", "1",
                        "--padding-mode", "circular"], capsys)
    assert code == 0 and "padding_mode='circular'" in out and "agree bit for bit" in out


def test_channels_groups_batch_and_3d(capsys):
    code, out, _ = run(["explain", "conv3d", "--input", "3", "--kernel", "2", "--stride", "2", "--batch", "2",
                        "--in-channels", "2", "--out-channels", "4", "--groups", "2"], capsys)
    assert code == 0 and "conv3d(input[2, 2, 3, 3, 3], weight[4, 1, 2, 2, 2]" in out
    assert "[D=2]\n. . .\n. . .\n. . ." in out and "D [2], H [2], W [2]" in out
    assert "[n=1, c=3, D=0]" in out and "agree bit for bit (8 cells)" in out


@pytest.mark.parametrize("argv, message", [
    (["conv2d", "--input", "2x2", "--kernel", "3"], "must be at least the effective kernel"),
    (["conv_transpose2d", "--input", "2", "--kernel", "2", "--output-padding", "1"],
     "output_padding=1: must be smaller than either stride"),
    (["conv2d", "--input", "3", "--padding", "same", "--stride", "2"], "not supported for strided"),
    (["conv2d", "--input", "3", "--stride", "0"], "stride=0: must be positive"),
    (["conv_transpose2d", "--input", "3", "--padding-mode", "reflect"], "support only 'zeros'"),
    (["conv2d", "--input", "3", "--output-size", "3"], "only transposed convolutions take output_size"),
    (["conv2d", "--input", "3", "--groups", "2", "--in-channels", "3"], "expected 2 input channels"),
    (["conv2d", "--input", "2x2x2"], "3 values, but the operator has 2 spatial dimension(s)"),
    (["conv2d", "--x", "1 2; 3"], "rows of different lengths"),
    (["conv2d", "--x", "1 2; 3 4", "--input", "3"], "--x has shape 2x2, --input says 3x3"),
    (["conv1d", "--input", "5", "--stride", "a"], "--stride 'a': expected an int"),
    (["conv2d", "--kernel", "3"], "--input SIZE (or --x VALUES) is required"),
])
def test_invalid_configuration_is_one_line_exit_2(argv, message, capsys):
    code, out, err = run(["explain", *argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith("conv-oracle explain: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_invalid_configuration_as_a_command_has_no_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "conv_oracle.cli", "explain", "conv2d", "--input", "2x2",
                           "--kernel", "3"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "conv-oracle explain: error: input.shape=(1, 2, 2): padded input size (2, 2) must be at least the "
        "effective kernel (3, 3) (output size would be (0, 0))"]


def test_disagreement_is_reported_with_exit_1(monkeypatch, capsys):
    from conv_oracle.targets import execution
    real = execution.run

    def off_by_one(*args, **kwargs):
        call = real(*args, **kwargs)
        call.out = call.out + (call.out.new_tensor(1.0))
        return call

    monkeypatch.setattr(execution, "run", off_by_one)
    monkeypatch.setenv("CONV_ORACLE_ISOLATION", "off")  # the planted fault lives in this process
    reload_settings()
    code, out, _ = run(SEED, capsys)
    assert code == 1
    assert "DISAGREE in 36 of 36 cells; first at (0, 0, 0): torch 2.0, oracle 1.0." in out


def test_default_operands_are_small_counting_integers():
    from conv_oracle.definition.case import Case
    from conv_oracle.cli.explanation import default_operands
    x, w, b = default_operands(Case("conv", 1, None, 2, 3, 1, (6,), (2,)))
    assert x.tolist() == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 1, 2, 3]]
    assert w.shape == (3, 2, 2) and w.ravel().tolist() == [1, 2, 3] * 4
    assert b.tolist() == [-1, -2, -3]


@pytest.mark.parametrize("text, nd, expected", [
    ("1 2 3", 1, [1, 2, 3]), ("1 2; 3 4", 2, [[1, 2], [3, 4]]), (" 1  -2 ;0.5 4 ", 2, [[1, -2], [0.5, 4]]),
    ("1 2; 3 4 | 5 6; 7 8", 3, [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]), ("nan inf", 1, [np.nan, np.inf]),
])
def test_parse_values(text, nd, expected):
    np.testing.assert_array_equal(cmd.parse_values(text, "--x", nd), np.array(expected))


def test_parse_per_dimension_values():
    assert cmd.per_dim("2", "--stride", 2) == 2
    assert cmd.per_dim("2,3", "--stride", 2) == (2, 3) == cmd.per_dim("2x3", "--stride", 2)
    assert cmd.sizes("5", "--input", 3) == (5, 5, 5)
    with pytest.raises(UsageError):
        cmd.per_dim("2,3", "--stride", 3)
    with pytest.raises(UsageError):
        cmd.parse_values("1 2; 3 4", "--x", 1)


def test_signed_zero_difference_is_named(monkeypatch):
    from conv_oracle.definition.case import Case
    from conv_oracle.cli.explanation import Result, render
    case = Case("conv", 1, None, 1, 1, 1, (2,), (1,), bias=False)
    res = Result(case, np.zeros((1, 2)), np.zeros((1, 1, 1)), None, np.array([[0.0, 1.0]]),
                 np.array([[-0.0, 1.0]]), None)
    assert res.equal_values and not res.agree
    assert "agree in value (2 cells); 1 zero(s) differ only in sign." in render(res)
