"""The constructor parameters of every detector, generated from the config's fields (config/schema.py).

A detector's parameters are the config keys its method reads, minus the keys of a whole run
(`RUN_KEYS`: where the data comes from and where the run is written, which an estimator receives as `X`
instead), plus the input parameters every detector shares (`INPUT_PARAMETERS`). They are never listed by
hand a second time: `constructor` builds each class's `__init__` with a real signature (names, types,
defaults, so `help()`, IDEs that introspect and `inspect.signature` show them) and a docstring from the
schema's doc lines. As scikit-learn requires, `__init__` only stores the values; `fit` checks them.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from angular_dino.config.schema import FIELDS, HINTS, RUN_KEYS
from angular_dino.errors import UserError


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: Any
    default: Any
    doc: str
    key: str | None = None  # the config key it comes from; None for a parameter of the Python API only


INPUT_PARAMETERS = (
    Parameter("value_range", tuple[float, float] | None, None,
              "Scale (low, high) of non-uint8 images, mapped to 0..255; None = detect [0, 1] or [0, 255] (values on "
              "neither scale are an error)."),
    Parameter("image_shape", tuple[int, ...] | None, None,
              "Shape (H, W) or (C, H, W) of each row of flat N×D images; None = square grayscale rows (D = S·S)."),
    Parameter("verbose", int, 0, "1 or more: print one line per training epoch (loss, validation figures, time)."),
)


class UnknownParameter(UserError, TypeError):
    """A keyword the detector does not take (a TypeError, as Python raises for any function)."""


def config_parameter(key: str, name: str | None = None) -> Parameter:
    """The parameter of config key `key` (named `name`, when the detector names it differently)."""
    field = FIELDS[key]
    return Parameter(name or key, HINTS[key], field.default, field.metadata["doc"], key)


def method_keys(method: str) -> tuple[str, ...]:
    """The config keys `method` reads that are not keys of a whole run: its estimator's parameters."""
    return tuple(name for name, f in FIELDS.items() if method in f.metadata["methods"] and name not in RUN_KEYS)


def constructor(cls: type, parameters: Sequence[Parameter]) -> Callable[..., None]:
    """`cls.__init__`: keyword-only `parameters`, each stored unchanged under its name (scikit-learn's rule, so
    that `get_params`, `set_params` and `clone` work); an unknown keyword is an `UnknownParameter`."""
    defaults = {p.name: p.default for p in parameters}

    def __init__(self: Any, **params: Any) -> None:
        for name, default in defaults.items():
            setattr(self, name, params.get(name, default))
        unknown = [name for name in params if name not in defaults]
        if unknown:
            close = difflib.get_close_matches(unknown[0], defaults, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; see help({cls.__name__})"
            raise UnknownParameter(f"{cls.__name__} has no parameter `{unknown[0]}`{hint}")

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [self_parameter, *(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default,
                                             annotation=p.annotation) for p in parameters)])
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__doc__ = "Parameters (stored as given; `fit` checks them):\n\n" + "\n".join(
        f"    {p.name}: {p.default!r}. {p.doc}" for p in parameters)
    return __init__
