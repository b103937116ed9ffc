"""A cached property computed once per instance, even when threads race to read it first.

``functools.cached_property`` held one lock for every instance of a class up to Python
3.11 (two baselines' first copies waited on each other) and none from 3.12 (threads
reading a large baseline's ``state`` at once would each make the full copy: the CPU twice
and the memory twice for a moment). The API's engine threads do read a shared
``Baseline`` at once. ``cached_once`` takes a lock of the instance's own: the first reader
computes, the others wait for its value, other instances never wait.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

_GUARD = threading.Lock()  # held only to make an instance's lock, never while computing
# the locks live beside the instances, not in them: an instance stays picklable (Dask ships
# baselines to its workers); keyed by identity (an instance need not be hashable, equal
# ones do not share a lock) and dropped when the instance goes
_LOCKS: dict[int, dict[str, threading.Lock]] = {}


class cached_once(Generic[T]):  # noqa: N801 - named like the decorator it replaces
    """``cached_property`` with a per-instance, per-attribute lock (module doc). Works on
    frozen dataclasses, hashable or not: the value goes straight into the instance's
    ``__dict__``; the instance must be weak-referenceable (no ``__slots__``)."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached_once[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | cached_once[T]:
        if obj is None:
            return self
        d = obj.__dict__
        if self.name in d:
            value: T = d[self.name]
            return value
        with _GUARD:
            locks = _LOCKS.get(id(obj))
            if locks is None:
                locks = _LOCKS[id(obj)] = {}
                weakref.finalize(obj, _LOCKS.pop, id(obj), None)
            lock = locks.setdefault(self.name, threading.Lock())
        with lock:
            if self.name not in d:
                d[self.name] = self.func(obj)
            value = d[self.name]
        return value
