# Airflow image of the PrestaShop → e-Boekhouden integration (used by docker-compose.yaml).
#
# The official Airflow 3 image plus the provider installed the way any Airflow deployment installs it
# (and the way scripts/wheel_check.sh proves it): the wheel, built from this repo in the first stage,
# installed with pip next to apache-airflow, resolved against the pinned set (requirements.txt). The
# plugin and the connection types come from the wheel's entry points; dags/ and include/ (the DAG file
# and the tenant files) are mounted by docker-compose.yaml, so a tenant change needs no rebuild.
# Rebuild after a change to the package or requirements.txt:
#
#   docker compose build
#
# The tag below and the apache-airflow pin in requirements.txt move together
# (tests/test_docker_compose.py checks that they match).
FROM apache/airflow:3.3.2-python3.11 AS wheel

USER airflow
COPY --chown=airflow:0 pyproject.toml README.md CHANGELOG.md /tmp/src/
COPY --chown=airflow:0 plugins/prestashop_eboekhouden /tmp/src/plugins/prestashop_eboekhouden
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist /tmp/src

FROM apache/airflow:3.3.2-python3.11

# The official image installs Python packages as the airflow user, never as root.
USER airflow

COPY --chown=airflow:0 requirements.txt /requirements.txt
COPY --from=wheel --chown=airflow:0 /tmp/dist/ /tmp/dist/

# apache-airflow is named again so that pip can never up- or downgrade Airflow itself while it
# resolves (the pattern of https://airflow.apache.org/docs/docker-stack/build.html); the pins are
# constraints, so the wheel's own dependency ranges are what pip must satisfy.
RUN pip install --no-cache-dir "apache-airflow==3.3.2" /tmp/dist/*.whl -c /requirements.txt

# CeleryExecutor needs the Celery provider (pinned in requirements.txt, as tests/stack runs it locally).
# Fail the build here, not the worker at start-up.
# (Package metadata only: importing airflow at build time would write an airflow.cfg into the image.)
RUN python -c "import importlib.metadata as m; print('Celery provider', m.version('apache-airflow-providers-celery')); print('this provider', m.version('airflow-provider-prestashop-eboekhouden'))"
