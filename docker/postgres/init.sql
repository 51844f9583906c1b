-- MLflow's backend store, next to Airflow's metadata database on the same PostgreSQL server.
--
-- Run by the postgres image once, on the first start with an empty data volume
-- (/docker-entrypoint-initdb.d), as $POSTGRES_USER connected to $POSTGRES_DB: that role and
-- database ("airflow") are created by the image itself and hold Airflow's metadata.
-- MLflow gets its own role and database, so neither service can read or change the other's
-- tables. Names must match the URIs in docker-compose.yaml (tests/unit/test_deploy_files.py).
--
-- No secret is stored here: the password is read from the container environment
-- (MLFLOW_DB_PASSWORD, set from .env by docker-compose.yaml). An unset variable stops the
-- script (ON_ERROR_STOP) and with it the container's first start. To change the password later
-- use ALTER ROLE; this script does not run again on an initialised volume.
\set ON_ERROR_STOP on
\getenv mlflow_db_password MLFLOW_DB_PASSWORD
\getenv airflow_db POSTGRES_DB

CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_db_password';
CREATE DATABASE mlflow OWNER mlflow;

-- PUBLIC may connect to every database by default; keep each one to its owner.
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
