"""The ``[deviation.example]`` table: parsed once with its entry, malformed ones refused in one line
naming the field, operands as given (non-finite values included) or seeded."""

import math

import numpy as np
import pytest

from conv_oracle.harness.deviations import DeviationFileError, Deviations, load

ENTRY = '''
[[deviation]]
id = "mine"
reason = "r"
kind = "wrong_value"

[deviation.example]
'''
CASE = 'case = { op = "conv", nd = 1, batch = 1, in_channels = 1, out_channels = 1, groups = 1, input_size = [5], kernel_size = [2], bias = false }'


def _load(tmp_path, body):
    path = tmp_path / "d.toml"
    path.write_text(ENTRY + body + "\n")
    return load(str(path))


def test_every_builtin_entry_keeps_an_example():
    entries = Deviations.from_files([]).entries
    assert [e.id for e in entries if not e.examples] == []
    assert all(x.entry.split("#")[0] == e.id for e in entries for x in e.examples)


def test_given_values_are_kept_and_the_rest_seeded(tmp_path):
    (entry,) = _load(tmp_path, f'property = "forward_nonfinite_input"\ndtype = "bfloat16"\n{CASE}\nx = [[[1, 1, inf, 1, -inf]]]\nseed = 4')
    (ex,) = entry.examples
    ops = ex.operands()
    assert ex.dtype == "bfloat16" and ex.case.batch == 1 and ex.seed == 4
    assert ops.x.tolist() == [[[1, 1, math.inf, 1, -math.inf]]] and ops.mode == "exact"
    assert ops.w.shape == (1, 1, 2) and np.all(np.abs(ops.w) <= 3) and ops.b is None
    assert np.array_equal(ops.w, ex.operands().w)  # seeded: the same every time


def test_an_output_gradient_is_given_with_a_nonfinite_gradient_property(tmp_path):
    (entry,) = _load(tmp_path, f'property = "gradient_nonfinite_weight"\n{CASE}\ngy = [[[0, inf, -inf, nan]]]')
    (ex,) = entry.examples
    gy = ex.operands().gy
    assert ex.wrt == "weight" and gy.shape == ex.case.output_shape == (1, 1, 4)
    assert gy[0, 0, 0] == 0 and gy[0, 0, 1] == math.inf and gy[0, 0, 2] == -math.inf and math.isnan(gy[0, 0, 3])


def test_no_batch_is_unbatched(tmp_path):
    (entry,) = _load(tmp_path, 'property = "forward_exact"\ncase = { op = "conv", nd = 1, in_channels = 2, out_channels = 2, groups = 2, input_size = [3], kernel_size = [1] }')
    assert entry.examples[0].case.batch is None and entry.examples[0].operands().x.shape == (2, 3)


def test_several_examples_are_numbered(tmp_path):
    path = tmp_path / "d.toml"
    one = f'property = "forward_exact"\n{CASE}\n'
    path.write_text(ENTRY.replace("[deviation.example]", "[[deviation.example]]") + one + "\n[[deviation.example]]\n" + one
                    + "seed = 2\n")
    (entry,) = load(str(path))
    assert [x.entry for x in entry.examples] == ["mine#1", "mine#2"] and entry.examples[1].seed == 2
    path.write_text(ENTRY.replace("[deviation.example]", "[[deviation.example]]") + one + "\n[[deviation.example]]\n"
                    + 'property = "forward_exact"\n')
    with pytest.raises(DeviationFileError, match=r"\(mine\): example #2: 'case' is required"):
        load(str(path))


@pytest.mark.parametrize("body, words", [
    (f'property = "forward"\n{CASE}', "property='forward' must be one of forward_exact"),
    ('property = "forward_exact"', "'case' is required"),
    (f'property = "forward_exact"\n{CASE}\ncolour = 1', "unknown key(s) ['colour']"),
    (f'property = "forward_exact"\n{CASE}\ndtype = "int8"', "dtype='int8' must be one of"),
    (f'property = "forward_exact"\n{CASE}\nx_layout = "diagonal"', "x_layout='diagonal' must be one of"),
    (f'property = "forward_exact"\n{CASE}\nx = [[[1, 2]]]', "x must be nested numbers of shape [1, 1, 5]"),
    (f'property = "forward_exact"\n{CASE}\nrule = "negative padding"', "'rule' goes with property 'error_parity'"),
    ('property = "error_parity"\n' + CASE, "'rule' goes with property 'error_parity'"),
    ('property = "error_parity"\nrule = "upside down"\n' + CASE, "rule='upside down' must be one of"),
    ('property = "forward_exact"\ncase = { op = "conv", nd = 1, batch = 1, in_channels = 1, out_channels = 1, groups = 1, input_size = [1], kernel_size = [3] }',
     "the case is not a valid call"),
    (f'property = "forward_exact"\n{CASE}\nseed = -1', "seed=-1 must be a non-negative integer"),
    (f'property = "gradient_weight"\n{CASE}\ngy = [[[1, 1, 1, 1]]]', "'gy' (the output gradient) goes with the gradient_nonfinite_*"),
    (f'property = "gradient_nonfinite_weight"\n{CASE}', "'gy' (the output gradient) goes with the gradient_nonfinite_*"),
    (f'property = "gradient_nonfinite_weight"\n{CASE}\ngy = [[[1, inf]]]', "gy must be nested numbers of shape [1, 1, 4] (the case's output)"),
])
def test_a_malformed_example_is_one_line_naming_the_field(tmp_path, body, words):
    with pytest.raises(DeviationFileError) as info:
        _load(tmp_path, body)
    text = str(info.value)
    assert words in text and "\n" not in text and "(mine): example" in text


class _Calls:
    """A call that gives each of ``outcomes`` in turn: a value, or the kind of the check's failure."""

    KINDS = ("wrong_value", "uninitialised", "crash")

    def __init__(self, *outcomes):
        self.outcomes, self.made = list(outcomes), 0

    def __call__(self):
        outcome = self.outcomes[self.made]
        self.made += 1
        if outcome in self.KINDS:
            exc = AssertionError(f"{outcome} on try {self.made}")
            exc.details = {"kind": outcome}
            raise exc
        return outcome


@pytest.mark.parametrize("outcomes, tries, result, made", [
    (("wrong_value", "uninitialised"), 3, "uninitialised on try 2", 2),  # the same garbage twice, then not
    ((1, 2, "uninitialised"), 3, "uninitialised on try 3", 3),
    ((1, 2, 3), 3, 1, 3),  # never shown: the first value, after every try
    (("wrong_value", 2, 3), 3, "wrong_value on try 1", 3),  # a later pass never hides the first failure
    (("crash", "wrong_value", "wrong_value"), 3, "crash on try 1", 3),
    (("wrong_value", "uninitialised"), 1, "wrong_value on try 1", 1),  # one try: as the suite checks
])
def test_a_replay_tries_again_only_until_uninitialised_memory_shows(outcomes, tries, result, made):
    from conv_oracle.harness.known_examples import replay
    call = _Calls(*outcomes)
    if isinstance(result, str):
        with pytest.raises(AssertionError, match=result) as info:
            replay(call, tries)
        assert info.value.details.get("tries") == (made if "uninitialised" in result else None)
    else:
        assert replay(call, tries) == (result, made)
    assert call.made == made


def test_only_an_entry_that_excuses_uninitialised_memory_replays_its_example_more_than_once(tmp_path):
    from conv_oracle.harness.known_examples import UNINITIALISED_TRIES
    body = f'property = "forward_exact"\n{CASE}'
    assert [x.tries for x in _load(tmp_path, body)[0].examples] == [1]
    path = tmp_path / "u.toml"
    path.write_text(ENTRY.replace('kind = "wrong_value"', 'kind = ["wrong_value", "uninitialised"]') + body + "\n")
    assert [x.tries for x in load(str(path))[0].examples] == [UNINITIALISED_TRIES] and UNINITIALISED_TRIES == 3
    builtin = Deviations.from_files([]).entries
    assert all(x.tries == (3 if "uninitialised" in e.lists["kind"] else 1) for e in builtin for x in e.examples)
    assert sum(x.tries == 3 for e in builtin for x in e.examples) >= 10  # the list's uninitialised-memory entries
