"""The pytest plugin: target selection and report header (known deviations: test_deviations.py)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = os.path.join(ROOT, "conv_oracle", "suite", "test_shapes.py")  # one module keeps start-up short


def pytest_run(*args, env=None):
    full_env = {k: v for k, v in os.environ.items() if k != "CONV_ORACLE_TARGET"}
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)


def test_report_header_names_targets_torch_backends_and_profile():
    r = pytest_run("--co", "--target", "torch", "--target", "torch-no-mkldnn", "--hypothesis-profile", "dev")
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    import torch
    assert "conv_oracle targets: torch, torch-no-mkldnn" in out
    assert f"torch {torch.__version__}" in out and "environment: " in out and "oneDNN" in out
    assert "isolation: on" in out
    assert "hypothesis profile: dev" in out and "derandomize=False" in out
    assert "test_output_shape[torch-no-mkldnn]" in out  # every test is parametrized per target
    assert "test_output_shape[torch]" in out


def test_target_from_environment_variable():
    r = pytest_run("--co", env={"CONV_ORACLE_TARGET": "torch-no-mkldnn"})
    assert "conv_oracle targets: torch-no-mkldnn" in r.stdout
    assert "test_output_shape[torch-no-mkldnn]" in r.stdout and "test_output_shape[torch]" not in r.stdout


def test_unknown_target_is_a_clear_error():
    r = pytest_run("-q", "--target", "no_such_module_xyz", "-k", "test_output_shape")
    out = r.stdout + r.stderr
    assert r.returncode == 4 and "Traceback" not in out and len(out.splitlines()) <= 3
    assert "no_such_module_xyz" in out and "neither a built-in target" in out


def test_seed_is_honoured_and_printed():
    r = pytest_run("--co", "--hypothesis-profile", "dev", "--hypothesis-seed", "1234")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "seed: 1234" in r.stdout


def test_pyargs_with_a_profile_from_anywhere(tmp_path):
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "conv_oracle.suite", "-p", "no:cacheprovider", "--co",
           "--hypothesis-profile", "thorough"]
    r = subprocess.run(cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "hypothesis profile: thorough (max_examples=600, derandomize=False" in r.stdout


def test_plugin_is_quiet_in_an_unrelated_project(tmp_path):
    """No header, no torch or Hypothesis import, no thread count, no warning filter; a conftest that
    uses torch's TF32 API still works."""
    (tmp_path / "test_other.py").write_text(
        "import sys\n"
        "def test_nothing_heavy(pytestconfig):\n"
        "    assert 'torch' not in sys.modules and 'hypothesis' not in sys.modules\n"
        "    assert not pytestconfig.getini('filterwarnings')\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_other.py"], cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "conv_oracle" not in r.stdout.replace("plugins: conv_oracle", "")


def test_plugin_state_lives_on_the_config_stash():
    """No module globals: each session's tallies live on its own config.stash (as pytest-xdist keeps
    its state), summed from the "call" reports only (teardown reports repeat the user_properties)."""
    from types import SimpleNamespace

    import pytest
    from conv_oracle.harness import pytest_plugin as plugin

    mutable = [name for name, value in vars(plugin).items()
               if isinstance(value, (dict, list, set)) and not name.startswith("__") and value is not plugin.NAMES]
    assert not mutable, mutable

    def report(when, delta):
        return SimpleNamespace(when=when, user_properties=[("conv_oracle_deviations", delta)])

    first, second = SimpleNamespace(stash=pytest.Stash()), SimpleNamespace(stash=pytest.Stash())
    tallies = plugin.DeviationTallies(first)
    tallies.pytest_runtest_logreport(report("call", {"a": [3, 0], "b": [2, 1]}))
    tallies.pytest_runtest_logreport(report("teardown", {"a": [3, 0], "b": [2, 1]}))
    tallies.pytest_runtest_logreport(report("call", {"a": [1, 0]}))
    plugin.DeviationTallies(second).pytest_runtest_logreport(report("call", {"a": [1, 1]}))
    assert first.stash[plugin.DEVIATION_TOTALS] == {"a": [4, 0], "b": [2, 1]}
    assert plugin.not_reproduced(first) == ["a"] and plugin.not_reproduced(second) == []
