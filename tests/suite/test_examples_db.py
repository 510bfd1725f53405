"""The shared example database (conv_oracle.harness.examples): keys shared across targets, machines and
checkouts, Hypothesis' directory and Redis databases, read-only replay. Cheap: no suite run (the end-to-end
replay through ``conv-oracle fuzz`` / ``run`` is tests/cli/test_fuzz.py, marked fuzz)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st
from hypothesis.database import InMemoryExampleDatabase

from conv_oracle.harness import examples as ex


def _linked(db=None):
    """A shared database over ``db`` with keys A and B (two targets' keys) linked to one shared key."""
    shared = ex.SharedExampleDatabase(db or InMemoryExampleDatabase(), "memory")
    shared.link(b"A", b"S")
    shared.link(b"B", b"S")
    return shared


def test_a_failure_saved_under_one_key_is_fetched_under_every_key_linked_to_the_same_shared_key():
    db = _linked()
    db.save(b"A", b"fail-1")
    assert list(db.fetch(b"A")) == [b"fail-1"]
    assert list(db.fetch(b"B")) == [b"fail-1"]  # another target's key replays it
    assert list(db.fetch(b"C")) == []  # an unlinked key does not
    db.save(b"B", b"fail-2")
    assert sorted(db.fetch(b"A")) == [b"fail-1", b"fail-2"]
    assert list(db.fetch(b"A"))[0] == b"fail-1"  # a key's own examples come first
    assert db.members(b"S") == [b"A", b"B"]


def test_a_target_that_passes_another_targets_failure_does_not_remove_it():
    db = _linked()
    db.save(b"A", b"fail")
    db.delete(b"B", b"fail")  # what Hypothesis does when B replays it and it passes
    assert list(db.fetch(b"B")) == [b"fail"] and list(db.fetch(b"A")) == [b"fail"]
    db.delete(b"A", b"fail")  # the target that saved it passes it: it is gone everywhere
    assert list(db.fetch(b"B")) == [] and list(db.fetch(b"A")) == []


def test_values_are_fetched_once_and_secondary_keys_are_not_shared():
    db = _linked()
    db.save(b"A", b"same")
    db.save(b"B", b"same")
    assert list(db.fetch(b"A")) == [b"same"]
    db.save(b"A.secondary", b"intermediate")  # Hypothesis' non-minimal examples stay the key's own
    assert list(db.fetch(b"B.secondary")) == []


def test_the_database_a_process_opens_again_finds_the_links_another_process_saved(tmp_path):
    first = ex.open_database(str(tmp_path / "db"))
    first.link(b"key-on-avx512", b"S")
    first.save(b"key-on-avx512", b"fail")
    second = ex.open_database(str(tmp_path / "db"))  # another machine class: another key, the same shared key
    second.link(b"key-on-avx2", b"S")
    assert list(second.fetch(b"key-on-avx2")) == [b"fail"]


def test_read_only_replays_and_writes_nothing(tmp_path):
    rw = ex.open_database(str(tmp_path / "db"))
    rw.link(b"A", b"S")
    rw.save(b"A", b"fail")
    ro = ex.open_database(str(tmp_path / "db"), read_only=True)
    ro.link(b"B", b"S")
    ro.save(b"B", b"new")
    ro.delete(b"A", b"fail")
    assert ro.read_only and list(ro.fetch(b"B")) == [b"fail"]
    assert list(rw.fetch(b"A")) == [b"fail"] and list(rw.db.fetch(b"B")) == [] and rw.members(b"S") == [b"A"]
    assert ex.describe(ro).endswith("(read-only)") and ex.describe(None) == "none"


def test_read_only_does_not_create_a_missing_folder(tmp_path):
    db = ex.open_database(str(tmp_path / "missing"), read_only=True)
    assert list(db.fetch(b"A")) == [] and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("location, words", [
    ("http://example.invalid/db", "must be a folder or a redis://host:port/N URL"),
    ("redis://127.0.0.1:1/0", "--db redis://127.0.0.1:1/0:"),  # nothing listens on port 1
])
def test_bad_locations_are_one_line_errors(location, words):
    with pytest.raises(ex.DatabaseError) as info:
        ex.open_database(location)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_folder_that_is_a_file_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ex.DatabaseError, match="the example folder must be writable"):
        ex.open_database(str(tmp_path / "file" / "db"))


# ---- the shared key ----------------------------------------------------------------------------

@given(st.integers())
def _prop_a(x):
    pass


@given(st.integers())
def _prop_b(x):
    pass


def _item(fn, path="/checkout/conv_oracle/suite/test_forward.py", **params):
    return SimpleNamespace(obj=fn, path=path, originalname=fn.__name__, callspec=SimpleNamespace(params=params),
                           nodeid=f"{os.path.basename(path)}::{fn.__name__}[{'-'.join(map(str, params.values()))}]")


def test_the_shared_key_leaves_out_the_target_and_the_checkout_and_keeps_the_rest():
    key = ex.shared_key(_item(_prop_a, target="torch", record=print, dtype="float32"))
    assert key == ex.shared_key(_item(_prop_a, target="torch@isa=avx2,threads=1", record=len, dtype="float32"))
    assert key == ex.shared_key(_item(_prop_a, "/site-packages/conv_oracle/suite/test_forward.py", target="x",
                                      dtype="float32"))
    assert key != ex.shared_key(_item(_prop_a, target="torch", dtype="float64"))
    assert key != ex.shared_key(_item(_prop_b, target="torch", dtype="float32"))
    assert key != ex.shared_key(_item(_prop_a, "/checkout/conv_oracle/suite/test_skips.py", target="torch",
                                      dtype="float32"))


def test_hypothesis_keys_name_the_target_where_the_shared_key_does_not():
    """Hypothesis (and HypoFuzz) mix the node id, which names the target, into the key; the function's own
    attribute is left as it was."""
    a, b = _item(_prop_a, target="torch", dtype="float32"), _item(_prop_a, target="torch@isa=avx2", dtype="float32")
    assert ex.hypothesis_key(a, by_nodeid=True) != ex.hypothesis_key(b, by_nodeid=True)
    assert ex.hypothesis_key(a, by_nodeid=False) == ex.hypothesis_key(b, by_nodeid=False)
    assert "_hypothesis_internal_add_digest" not in _prop_a.hypothesis.inner_test.__dict__


def _draws(derandomize: bool) -> list:
    from hypothesis import Phase, settings
    from hypothesis.internal.reflection import function_digest
    out = []

    @settings(max_examples=25, database=None, derandomize=derandomize, phases=[Phase.generate])
    @given(st.integers(), st.text(max_size=5))
    def prop(x, y):
        out.append((x, y))
    if not derandomize:  # what the plugin does for a derandomized profile with the example database
        prop._hypothesis_internal_use_seed = ex.derandomized_seed(function_digest(prop.hypothesis.inner_test))
    prop()
    return out


def test_the_derandomized_seed_draws_what_derandomize_draws():
    """The plugin runs a derandomized profile without ``derandomize`` (which turns the database off), seeded
    so that it draws exactly the examples ``derandomize=True`` draws."""
    derandomized = _draws(True)
    assert len(set(derandomized)) > 5 and _draws(False) == derandomized


# ---- Redis -----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """A real Redis server on a free local port (no persistence), stopped after the module."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    pytest.importorskip("redis", reason="the redis client package is not installed (pip install 'conv_oracle[redis]')")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_shares_failures_between_machines_and_replays_read_only(redis_url):
    ci = ex.open_database(redis_url)          # a CI machine (AVX512) saves a failure under its key
    ci.link(b"key-avx512", b"S-redis")
    ci.save(b"key-avx512", b"fail")
    other = ex.open_database(redis_url)       # another machine class, another key
    other.link(b"key-avx2", b"S-redis")
    assert list(other.fetch(b"key-avx2")) == [b"fail"]
    laptop = ex.open_database(redis_url, read_only=True)  # a machine that must not write
    laptop.link(b"key-laptop", b"S-redis")
    laptop.save(b"key-laptop", b"local")
    laptop.delete(b"key-avx512", b"fail")
    assert list(laptop.fetch(b"key-laptop")) == [b"fail"]
    assert ex.open_database(redis_url).members(b"S-redis") == [b"key-avx512"]
    import redis
    keys = redis.Redis.from_url(redis_url).keys()
    assert keys and all(k.startswith(ex.REDIS_PREFIX) for k in keys)  # conv_oracle's keys only, under its prefix


@pytest.mark.e2e
def test_the_plugin_opens_a_redis_database_from_the_environment(redis_url):
    """``CONV_ORACLE_DB`` names the database when --db is not given; the header says which."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONV_ORACLE_")}
    env["CONV_ORACLE_DB"] = redis_url
    r = subprocess.run([sys.executable, "-m", "pytest", os.path.join(root, "conv_oracle", "suite", "test_shapes.py"),
                        "-p", "no:cacheprovider", "--co", "--target", "torch"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"example database: {redis_url}" in r.stdout
    assert "seed: derandomized (seeded per test as Hypothesis would, with the example database)" in r.stdout


def test_hypofuzz_bookkeeping_goes_to_the_fuzz_state_and_the_examples_stay_shared():
    main, state = InMemoryExampleDatabase(), InMemoryExampleDatabase()
    db = ex.SharedExampleDatabase(main, "memory", state)
    db.link(b"A", b"S")
    db.save(b"A", b"fail")  # Hypothesis' / HypoFuzz's failure: replayed by every run
    db.save(b"A.hypofuzz.corpus", b"input")
    db.save(b"hypofuzz.worker_uuids", b"uuid")
    assert list(main.fetch(b"A")) == [b"fail"] and list(main.fetch(b"A.hypofuzz.corpus")) == []
    assert list(state.fetch(b"A.hypofuzz.corpus")) == [b"input"] and list(db.fetch(b"hypofuzz.worker_uuids")) == [b"uuid"]
    db.move(b"A.hypofuzz.corpus", b"A.secondary", b"input")
    assert list(main.fetch(b"A.secondary")) == [b"input"] and list(state.fetch(b"A.hypofuzz.corpus")) == []
