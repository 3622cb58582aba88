"""`benchmarks/dagster_floor.py` times Dagster on the product's graph: it must stay that graph."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from dagster import AssetsDefinition, Definitions, materialize

import sparkify_dagster
from sparkify_dagster.assets import TABLE_ASSETS
from sparkify_dagster_tests.helpers import REPO


def load_floor() -> ModuleType:
    path = REPO / "benchmarks" / "dagster_floor.py"
    spec = importlib.util.spec_from_file_location("dagster_floor", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Graph = tuple[dict[str, set[str]], set[tuple[object, ...]]]


def graph(defs: Definitions, names: set[str]) -> Graph:
    """Each asset of ``names`` with its upstream assets, and every check on them with whether it
    blocks and what else it reads."""
    assets = defs.get_repository_def().asset_graph
    upstream = {
        name: {parent.to_user_string() for parent in assets.get(key).parent_keys}
        for key in assets.get_all_asset_keys()
        if (name := key.to_user_string()) in names
    }
    checks = set()
    for key in assets.asset_check_keys:
        if key.asset_key.to_user_string() in names:
            spec = assets.get_check_spec(key)
            reads = frozenset(dep.asset_key.to_user_string() for dep in spec.additional_deps)
            checks.add((key.asset_key.to_user_string(), key.name, spec.blocking, reads))
    return upstream, checks


def test_the_floor_has_the_products_assets_dependencies_and_checks() -> None:
    names = {key.to_user_string() for definition in TABLE_ASSETS for key in definition.keys}
    floor = load_floor()
    assert graph(floor.defs, names) == graph(sparkify_dagster.defs, names)
    assert set(floor.UPSTREAM) == names


def test_the_floor_materializes_with_every_check_passed() -> None:
    floor = load_floor()
    definitions = [*floor.defs.assets, *floor.defs.asset_checks]
    assert all(isinstance(definition, AssetsDefinition) for definition in definitions)
    result = materialize(definitions)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == sum(len(checks) for checks in floor.CHECKS.values())
    assert all(evaluation.passed for evaluation in evaluations)
