# MLflow tracking server with the PostgreSQL driver; same MLflow version as the project pins.
FROM ghcr.io/mlflow/mlflow:v3.17.2
RUN pip install --no-cache-dir psycopg2-binary==2.9.10
