"""Reports invalid tenant files as Airflow DAG import errors, naming the file, field and reason.

This file defines no DAG. It fails to import while a tenant file is invalid, so the error shows in
the Airflow UI's import errors, while dags/tenant_dags.py keeps loading every valid tenant's DAGs.
"""

from prestashop_eboekhouden.config import load_tenants


class InvalidTenantFiles(Exception):
    """One or more tenant files are invalid; the other tenants' DAGs still load."""


_errors = load_tenants().errors
if _errors:
    raise InvalidTenantFiles("\n".join(str(error) for error in _errors))
