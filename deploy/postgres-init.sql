-- Runs once, when the postgres-data volume is first created. POSTGRES_DB already made "prefect".
CREATE DATABASE mlflow OWNER sovereign;
