# Airflow image of the PrestaShop → e-Boekhouden integration (used by docker-compose.yaml).
#
# The official Airflow 3 image plus the repo's pinned runtime set (requirements.txt), nothing else:
# dags/, plugins/ and include/ (the tenant files) are mounted by docker-compose.yaml, so a code or
# tenant change needs no rebuild. Rebuild after requirements.txt changes:
#
#   docker compose build
#
# The tag below and the apache-airflow pin in requirements.txt move together
# (tests/test_docker_compose.py checks that they match).
FROM apache/airflow:3.3.2-python3.11

# The official image installs Python packages as the airflow user, never as root.
USER airflow

COPY --chown=airflow:0 requirements.txt /requirements.txt

# apache-airflow is named again so that pip can never up- or downgrade Airflow itself while it
# resolves the pins (the pattern of https://airflow.apache.org/docs/docker-stack/build.html).
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /requirements.txt

# CeleryExecutor needs the Celery provider (pinned in requirements.txt, as tests/stack runs it locally).
# Fail the build here, not the worker at start-up.
# (Package metadata only: importing airflow at build time would write an airflow.cfg into the image.)
RUN python -c "import importlib.metadata as m; print('Celery provider', m.version('apache-airflow-providers-celery'))"
