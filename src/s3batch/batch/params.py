"""``Ref::name`` parameter substitution in a job's command (pure).

AWS documents whole-argument placeholders (``["cp", "Ref::src"]``) and is silent on the
rest (reference/batch.md 3.3). s3batch also replaces placeholders embedded in an argument
(``--in=Ref::src``), as moto and floci do: at each ``Ref::`` the longest parameter name that
follows is used, so ``Ref::key.csv`` reads parameter ``key``. A placeholder naming no
parameter stays literal. Substitution runs once, over the effective command (after
``containerOverrides.command``), so a value containing ``Ref::`` is never expanded again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: What starts a placeholder.
PREFIX = "Ref::"


def merge(defaults: Mapping[str, str], submitted: Mapping[str, str] | None) -> dict[str, str]:
    """Definition parameter defaults overridden key by key by the SubmitJob parameters."""
    return {**defaults, **(submitted or {})}


def substitute(command: Iterable[str], parameters: Mapping[str, str]) -> list[str]:
    """The command with every ``Ref::name`` of a known parameter replaced by its value."""
    names = sorted(parameters, key=len, reverse=True)
    return [_substitute_argument(arg, parameters, names) for arg in command]


def _substitute_argument(arg: str, parameters: Mapping[str, str], names: list[str]) -> str:
    if PREFIX not in arg:
        return arg
    if arg.startswith(PREFIX) and arg[len(PREFIX) :] in parameters:
        return parameters[arg[len(PREFIX) :]]
    out: list[str] = []
    position = 0
    while (found := arg.find(PREFIX, position)) >= 0:
        start = found + len(PREFIX)
        name = next((n for n in names if n and arg.startswith(n, start)), None)
        if name is None:
            out.append(arg[position:start])
            position = start
            continue
        out.append(arg[position:found] + parameters[name])
        position = start + len(name)
    out.append(arg[position:])
    return "".join(out)
