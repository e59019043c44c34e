"""The battle manager takes plain parameters: the engine translates the scenario's doctrine
block into ``c2.Doctrine`` (c2 does not import the scenario models; import-linter contract
"models take plain parameters"), and both keep the same defaults."""

from __future__ import annotations

import dataclasses
import math

import pytest

from shieldwall.c2 import Doctrine
from shieldwall.core.types import THREAT_CLASSES, ThreatClass
from shieldwall.engine.world import doctrine_from_settings
from shieldwall.scenario.models import Doctrine as DoctrineSettings


def test_c2_defaults_are_the_scenario_defaults() -> None:
    """A scenario without a doctrine block fights with ``c2.Doctrine()``: field by field."""
    settings = DoctrineSettings()
    ours = Doctrine()
    assert doctrine_from_settings(settings) == ours
    # and independently of the translation, against the scenario model's own fields
    assert {c: ours.salvo_for(c) for c in THREAT_CLASSES} == {
        ThreatClass(k): v for k, v in settings.salvo.model_dump().items()}
    for name in ("policy", "min_pk", "cost_aware", "cost_per_value_usd",
                 "max_engagements_per_threat", "assigner"):
        assert getattr(ours, name) == getattr(settings, name), name
    assert dict(ours.reserve_fraction) == settings.reserve_fraction
    # the scenario file has no reserve-release value: never release by value
    assert math.isinf(ours.reserve_release_value)


def test_every_doctrine_setting_reaches_the_battle_manager() -> None:
    """Each setting of a non-default block arrives in ``c2.Doctrine`` (none falls back to a
    default on the way)."""
    block = {"salvo": {"ballistic": 3, "aeroballistic": 4, "cruise": 2, "drone": 5, "decoy": 6},
             "policy": "shoot_shoot", "min_pk": 0.55, "cost_aware": False,
             "cost_per_value_usd": 2.5e4, "reserve_fraction": {"PAC-3 MSE": 0.25},
             "max_engagements_per_threat": 7, "assigner": "heuristic"}
    got = doctrine_from_settings(DoctrineSettings.model_validate(block))
    default = Doctrine()
    assert {c.value: got.salvo_for(c) for c in THREAT_CLASSES} == block["salvo"]
    for name, value in block.items():
        if name == "salvo":
            continue
        have = getattr(got, name)
        assert (dict(have) if name == "reserve_fraction" else have) == value, name
        assert have != getattr(default, name), name  # the test would notice a dropped field
    # every c2 field is either set from the block or has no scenario counterpart
    scenario_fields = set(DoctrineSettings.model_fields) - {"command_mode"}
    c2_fields = {f.name for f in dataclasses.fields(Doctrine)} - {"reserve_release_value"}
    assert c2_fields == scenario_fields


def test_the_translation_keeps_c2_checks() -> None:
    """``c2.Doctrine`` checks its values itself (it is built without the scenario's model)."""
    with pytest.raises(ValueError, match="min_pk"):
        Doctrine(min_pk=1.5)
    with pytest.raises(ValueError, match="fire policy"):
        Doctrine(policy="shoot_and_hope")  # type: ignore[arg-type]
