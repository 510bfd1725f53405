"""The example database shared by every ``conv-oracle run`` and ``fuzz``: Hypothesis' own database classes
(a directory, or Redis for a ``redis://host:port/N`` URL; read-only through ``ReadOnlyDatabase``),
keyed so that a failure found by one target, machine class or checkout is replayed on the others.

Hypothesis keys its database per test: a digest of the test function's source and signature and, for a
parametrized test under pytest (for every test under HypoFuzz), its node id. The suite's node ids name the
target (``test_forward_exact[torch-float32]``, ``...[torch@isa=avx2-float32]``) and the folder pytest
collected from, so each target and checkout gets keys of its own. :class:`SharedExampleDatabase` links each
test's own key to a **shared key** (:func:`shared_key`: the property's file, function and parametrization
without the target, and the function's source): a key that saves a failing example registers itself under
its shared key, and fetching a linked key returns its own examples and then those of every other key
registered there. Deleting and moving act on a key's own examples only, so a target that passes another
target's failure never removes it; each example leaves the database when the target that saved it passes it.

Derandomized profiles (``ci``, ``meta``) would switch the database off (Hypothesis: ``derandomize=True``
implies ``database=None``). The plugin runs them as a non-derandomized copy with the database, each test
seeded exactly as ``derandomize=True`` seeds it (:func:`derandomized_seed`): the same draws as before, run
after run, with the database's examples replayed first.
"""

from __future__ import annotations

import hashlib
import inspect
import os

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, ReadOnlyDatabase

__all__ = ["SharedExampleDatabase", "DatabaseError", "open_database", "shared_key", "hypothesis_key", "derandomized_seed",
           "describe", "REDIS_SCHEMES", "REDIS_PREFIX"]

#: the suffix of the key under which the test keys that saved a failure are listed
MEMBERS = b".conv_oracle.keys"
#: HypoFuzz's keys: a test key + ``.hypofuzz.corpus`` and the like, and its global ``hypofuzz.worker_uuids`` ...
HYPOFUZZ_KEYS, HYPOFUZZ_GLOBAL = b".hypofuzz.", b"hypofuzz."
REDIS_SCHEMES = ("redis://", "rediss://")
#: Redis keys are ``REDIS_PREFIX + key``
REDIS_PREFIX = b"conv_oracle:"
#: the parametrized arguments that name the implementation, left out of the shared key
TARGET_ARGS = ("target", "record")


class DatabaseError(Exception):
    """The database cannot be opened: one line naming the location and the reason."""


class SharedExampleDatabase(ExampleDatabase):
    """Wraps an :class:`~hypothesis.database.ExampleDatabase`; :meth:`link` joins a test's key to its shared key."""

    def __init__(self, db: ExampleDatabase, location: str = "", fuzz_state: ExampleDatabase | None = None):
        super().__init__()
        self.db, self.location, self.fuzz_state = db, location, fuzz_state
        self._links: dict[bytes, bytes] = {}

    def _store(self, key: bytes) -> ExampleDatabase:
        """HypoFuzz's own bookkeeping (corpus, observations, reports: tens of MB in minutes) goes to
        ``fuzz_state`` when there is one; the examples Hypothesis replays stay in the shared database."""
        if self.fuzz_state is not None and (key.startswith(HYPOFUZZ_GLOBAL) or HYPOFUZZ_KEYS in key):
            return self.fuzz_state
        return self.db

    def __repr__(self) -> str:
        return f"SharedExampleDatabase({self.db!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedExampleDatabase) and self.db == other.db

    __hash__ = None

    @property
    def read_only(self) -> bool:
        return isinstance(self.db, ReadOnlyDatabase)

    def link(self, key: bytes, shared: bytes) -> None:
        """Replay, under ``key``, the failures that every key linked to ``shared`` saved (here or elsewhere)."""
        self._links[key] = shared

    def members(self, shared: bytes) -> list[bytes]:
        """The test keys registered under ``shared`` (those that saved a failure)."""
        return sorted(self.db.fetch(shared + MEMBERS))

    def fetch(self, key: bytes):
        seen = set()
        for value in self._store(key).fetch(key):
            seen.add(value)
            yield value
        shared = self._links.get(key)
        if shared is None:
            return
        for other in self.members(shared):
            if other == key:
                continue
            for value in self.db.fetch(other):
                if value not in seen:
                    seen.add(value)
                    yield value

    def save(self, key: bytes, value: bytes) -> None:
        self._store(key).save(key, value)
        shared = self._links.get(key)
        if shared is not None:
            self.db.save(shared + MEMBERS, key)

    def delete(self, key: bytes, value: bytes) -> None:
        self._store(key).delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        if self._store(src) is self._store(dest):
            self._store(src).move(src, dest, value)
        else:
            self._store(dest).save(dest, value)
            self._store(src).delete(src, value)

    def _start_listening(self) -> None:
        for db in {id(d): d for d in (self.db, self.fuzz_state) if d is not None}.values():
            db.add_listener(self._broadcast_change)

    def _stop_listening(self) -> None:
        for db in {id(d): d for d in (self.db, self.fuzz_state) if d is not None}.values():
            db.remove_listener(self._broadcast_change)


def open_database(location: str, read_only: bool = False, fuzz_state: str | None = None) -> SharedExampleDatabase:
    """The database at ``location``: a ``redis://host:port/N`` URL (the server must answer) or a folder
    (created if missing; it must be writable unless ``read_only``); HypoFuzz's bookkeeping in the folder
    ``fuzz_state`` if given. Raises :class:`DatabaseError`."""
    if location.startswith(REDIS_SCHEMES):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError as exc:
            raise DatabaseError(f"--db {location}: needs the redis package (pip install 'conv_oracle[redis]'): "
                                f"{exc}") from None
        try:
            client = redis.Redis.from_url(location)
            client.ping()
        except (ValueError, redis.RedisError) as exc:
            raise DatabaseError(f"--db {location}: {exc}") from None
        db = RedisExampleDatabase(client, key_prefix=REDIS_PREFIX)
    elif "://" in location:
        raise DatabaseError(f"--db {location!r}: must be a folder or a redis://host:port/N URL")
    else:
        path = os.path.abspath(location)
        if not read_only:
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"--db {location}: {exc.strerror} (the example folder must be writable)") from None
            if not os.access(path, os.W_OK | os.X_OK):
                raise DatabaseError(f"--db {location}: not writable (use --db-read-only to replay it without writing)")
        db = DirectoryBasedExampleDatabase(path)
    state = DirectoryBasedExampleDatabase(os.path.abspath(fuzz_state)) if fuzz_state else None
    return SharedExampleDatabase(ReadOnlyDatabase(db) if read_only else db, location, state)


def describe(db: SharedExampleDatabase | None) -> str:
    """One line for headers and reports."""
    if db is None:
        return "none"
    return f"{db.location}{' (read-only)' if db.read_only else ''}"


def _inner(item):
    return item.obj.hypothesis.inner_test


def shared_key(item) -> bytes:
    """The key a property shares across targets, machines and checkouts: its file name, function name,
    parametrization without the target, and the function's source."""
    inner = _inner(item)
    params = getattr(getattr(item, "callspec", None), "params", {})
    args = ",".join(f"{k}={params[k]!r}" for k in sorted(params) if k not in TARGET_ARGS)
    try:
        source = inspect.getsource(inner)
    except (OSError, TypeError):
        source = inner.__qualname__
    text = f"{os.path.basename(str(item.path))}::{item.originalname}[{args}]\n{source}"
    return b"conv_oracle:" + hashlib.sha384(text.encode()).digest()


_UNSET = object()


def hypothesis_key(item, by_nodeid: bool | None = None) -> bytes:
    """The key Hypothesis uses for ``item``: as things stand (``by_nodeid=None``, e.g. once Hypothesis' pytest
    plugin has prepared the call), or with / without the node id mixed in (HypoFuzz always mixes it in)."""
    from hypothesis.internal.reflection import function_digest
    inner = _inner(item)
    if by_nodeid is None:
        return function_digest(inner)
    saved = inner.__dict__.get("_hypothesis_internal_add_digest", _UNSET)
    try:
        if by_nodeid:
            inner._hypothesis_internal_add_digest = item.nodeid.encode()
        else:
            inner.__dict__.pop("_hypothesis_internal_add_digest", None)
        return function_digest(inner)
    finally:
        if saved is _UNSET:
            inner.__dict__.pop("_hypothesis_internal_add_digest", None)
        else:
            inner._hypothesis_internal_add_digest = saved


def derandomized_seed(key: bytes) -> int:
    """The seed ``derandomize=True`` gives the test whose key (:func:`hypothesis_key`) is ``key``: Hypothesis
    seeds a derandomized test with its key's digest as an integer, so a run seeded with this draws exactly the
    examples a derandomized one would."""
    return int.from_bytes(key, "big")
