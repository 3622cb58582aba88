"""The fast path of :mod:`~sparkify_dagster.ingest.parse`: decode and type-check in C (msgspec).

Most records are already well typed (strings are strings, integers fit their column), and checking
them one field at a time in Python costs more than reading them. :func:`record_decoder` builds a
msgspec decoder from the same field list the careful path uses; it returns the typed row of a
record it fully understands and ``None`` for anything else (a missing required field, a bad value,
invalid JSON, a key it cannot rule out is given twice, a quirk such as a number given as a string
that it cannot settle). The caller then takes the careful path, which gives the exact result or the
exact error message: so the fast path changes how quickly a record is read, never what it means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Protocol

import msgspec

Row = tuple[Any, ...]


class FieldLike(Protocol):
    """What the fast path needs of a field (:class:`sparkify_dagster.ingest.parse.Field`)."""

    @property
    def key(self) -> str: ...

    @property
    def convert(self) -> Callable[[Any], Any]: ...

    @property
    def required(self) -> bool: ...


# What the fast path accepts for each kind of field, and whether a value it decoded must still
# go through the field's converter (numbers given as strings, integral floats for integers).
TEXT = "text"
DOUBLE = "double"


def integer(low: int, high: int) -> tuple[int, int]:
    """The kind of an integer field whose values must lie in ``[low, high]``."""
    return (low, high)


Kind = str | tuple[int, int]


def record_decoder(
    fields: Sequence[FieldLike], kinds: Mapping[Callable[[Any], Any], Kind], name: str
) -> Callable[[bytes], Row | None]:
    """A function from one JSON record's bytes to its typed row, or ``None`` to mean "not sure".

    ``kinds`` says what each converter of ``fields`` produces; a converter it does not name is
    always called on the raw value, so new fields stay correct (only slower).
    """
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    every: list[tuple[str, Any]] = []  # the same, every key present (as in eventsim's records)
    # (index, converter, the type that needs no converting or None for "always convert", bounds)
    recheck: list[tuple[int, Callable[[Any], Any], type | None, tuple[int, int] | None]] = []
    for index, field in enumerate(fields):
        kind = kinds.get(field.convert)
        if kind == TEXT:
            strict: Any = str
        elif kind == DOUBLE:
            strict = float | str  # ints arrive as floats; strings go to the converter
            recheck.append((index, field.convert, float, None))
        elif isinstance(kind, tuple):
            bounded = Annotated[int, msgspec.Meta(ge=kind[0], le=kind[1])]
            strict = bounded | float | str
            recheck.append((index, field.convert, int, kind))
        else:
            strict = Any
            recheck.append((index, field.convert, None, None))
        if field.required:
            spec.append((field.key, strict))
            every.append((field.key, strict))
        else:  # UNSET, not None, when absent: the keys present are counted (each_key_once)
            spec.append((field.key, strict | None | msgspec.UnsetType, msgspec.UNSET))
            every.append((field.key, strict | None))
    # Unknown fields are the careful path's to count, so a record with any is "not sure".
    struct = msgspec.defstruct(name, spec, kw_only=True, forbid_unknown_fields=True)
    complete = msgspec.defstruct(name, every, kw_only=True, forbid_unknown_fields=True)
    decode = msgspec.json.Decoder(struct).decode
    decode_complete = msgspec.json.Decoder(complete).decode
    as_tuple = msgspec.structs.astuple
    unset = msgspec.UNSET
    count = len(fields)

    def fast(data: bytes) -> Row | None:
        if b"\\u0000" in data:  # NUL, which the careful path refuses in text
            return None
        try:
            try:  # most records give every key: then none need be counted
                values = as_tuple(decode_complete(data))
                absent = 0
            except msgspec.ValidationError:
                values = as_tuple(decode(data))
                absent = values.count(unset)
            if not each_key_once(data, count - absent):
                return None
            if absent:
                values = tuple(None if value is unset else value for value in values)
            if not recheck:
                return values
            row = list(values)
            for index, convert, settled, bounds in recheck:
                value = row[index]
                kind = type(value)
                if settled is not None and (value is None or kind is settled):
                    continue
                if bounds is not None and (kind is str or (kind is float and value.is_integer())):
                    # The careful path's rule for integer text and integral floats, inline.
                    try:
                        number = int(value)
                    except ValueError:
                        row[index] = convert(value)  # "", "1e3", or a bad value
                        continue
                    if not bounds[0] <= number <= bounds[1]:
                        return None
                    row[index] = number
                else:
                    row[index] = convert(value)
            return tuple(row)
        except (msgspec.DecodeError, ValueError, OverflowError):
            return None

    return fast


def each_key_once(data: bytes, keys: int) -> bool:
    """Whether the JSON object ``data``, whose distinct keys are ``keys``, surely gives each once.

    Each key is followed by a colon: with no more colons than distinct keys, none is repeated.
    Else, when no colon follows whitespace, each key is followed by ``":``: with no more of those
    than distinct keys, none is repeated. False means "not sure" (a string holding ``\\":`` or
    `` :``, a nested object, whitespace before a colon, or indeed a repeated key).
    """
    # Counting one byte is several times faster than counting two, and colons in values are few.
    if data.count(b":") <= keys:
        return True
    if data.count(b'":') > keys:
        return False
    return not (
        b" :" in data
        or (b"\n" in data and b"\n:" in data)
        or (b"\t" in data and b"\t:" in data)
        or (b"\r" in data and b"\r:" in data)
    )
