"""The generated datasets by name: their settings class and their generate function."""

from collections.abc import Callable
from typing import Any

from robusthep.errors import ConfigError
from robusthep.sim.btrigger import BTriggerSettings, generate_btrigger
from robusthep.sim.higgs import HiggsSettings, generate_higgs
from robusthep.sim.wjets import WJetsSettings, generate_wjets

__all__ = ["GENERATORS", "generator"]

GENERATORS: dict[str, tuple[type, Callable[..., Any]]] = {
    "higgs": (HiggsSettings, generate_higgs),
    "wjets": (WJetsSettings, generate_wjets),
    "btrigger": (BTriggerSettings, generate_btrigger),
}
"""Dataset name → (settings class, generate function)."""


def generator(name: str) -> tuple[type, Callable[..., Any]]:
    """The settings class and generate function of the dataset ``name``.

    Example:
        >>> generator("wjets")[0].__name__
        'WJetsSettings'
        >>> generator("wtag")
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: unknown dataset 'wtag'; valid: higgs, wjets, btrigger
    """
    if name not in GENERATORS:
        raise ConfigError(f"unknown dataset {name!r}; valid: {', '.join(GENERATORS)}")
    return GENERATORS[name]
