# MLflow tracking server with the PostgreSQL driver; same MLflow version as the project pins.
# SQLAlchemy 2.x maps postgresql:// to psycopg 3, so the older psycopg 2 driver would not do: this is the driver in pyproject.toml,
# and tests/deploy/test_team_stack.py runs the same server command against PostgreSQL 15 in CI.
FROM ghcr.io/mlflow/mlflow:v3.17.2
RUN pip install --no-cache-dir "psycopg[binary]==3.3.9"
