"""A read-only dict: the mappings of definitions and of history records.

Cheaper than ``MappingProxyType(dict(...))`` (no second object per mapping: a history of
thousands of records holds one per record), and still a ``dict`` to ``json`` and to
``{**a, **b}``. Standard library only.
"""

from __future__ import annotations

from typing import NoReturn, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class FrozenDict(dict[_K, _V]):
    """A dict that refuses every change (``TypeError``)."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("this mapping is read-only (it belongs to a definition or a history)")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict[_K, _V]], tuple[dict[_K, _V]]]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict[_K, _V]:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> FrozenDict[_K, _V]:
        return self


__all__ = ["FrozenDict"]
