"""pytest's warning filters (pyproject.toml, issue 17): an Airflow deprecation our code triggers fails the test;
the same warning raised inside a third-party module does not."""

from __future__ import annotations

import warnings

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning, RemovedInAirflow4Warning
from starlette.exceptions import StarletteDeprecationWarning


@pytest.mark.parametrize("category", [RemovedInAirflow4Warning, AirflowProviderDeprecationWarning, DeprecationWarning])
@pytest.mark.parametrize("module", ["prestashop_eboekhouden.dag_factory", "unusual_prefix_0123abcd_tenant_dags", "sandbox.shop", "tests.e2e.conftest"])
def test_a_deprecation_attributed_to_our_code_is_an_error(category, module):
    with pytest.raises(category):
        warnings.warn_explicit("deprecated", category, f"{module}.py", 1, module=module, registry={})


@pytest.mark.parametrize(
    ("module", "category"),
    [
        ("pathspec.pattern", DeprecationWarning),
        ("airflow._shared.module_loading.file_discovery", DeprecationWarning),
        ("airflow.sdk._shared.module_loading.file_discovery", DeprecationWarning),
        ("fastapi.testclient", StarletteDeprecationWarning),
    ],
)
def test_filtered_third_party_noise_is_not(module, category):
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("deprecated", category, f"{module}.py", 1, module=module, registry={})
        warnings.warn_explicit("probe", RuntimeWarning, "x.py", 1, module="x", registry={})  # proves warnings are recorded
    assert [str(w.message) for w in caught] == ["probe"]
