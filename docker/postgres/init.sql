-- MLflow's backend store and the deployment audit trail, next to Airflow's metadata database on
-- the same PostgreSQL server.
--
-- Run by the postgres image once, on the first start with an empty data volume
-- (/docker-entrypoint-initdb.d), as $POSTGRES_USER connected to $POSTGRES_DB: that role and
-- database ("airflow") are created by the image itself and hold Airflow's metadata (and the
-- Celery result backend).
-- MLflow and the audit trail (Airflow connection mlops_audit, include/audit.py) get a role and a
-- database each, so no service can read or change another's tables. Names must match the URIs
-- and connections in docker-compose.yaml (tests/unit/test_deploy_files.py).
--
-- No secret is stored here: the passwords are read from the container environment
-- (MLFLOW_DB_PASSWORD, AUDIT_DB_PASSWORD, set from .env by docker-compose.yaml). An unset
-- variable stops the script (ON_ERROR_STOP) and with it the container's first start. To change a
-- password later use ALTER ROLE; this script does not run again on an initialised volume (on a
-- volume created before the audit database existed, run the mlops_audit statements by hand).
\set ON_ERROR_STOP on
\getenv mlflow_db_password MLFLOW_DB_PASSWORD
\getenv audit_db_password AUDIT_DB_PASSWORD
\getenv airflow_db POSTGRES_DB

CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_db_password';
CREATE DATABASE mlflow OWNER mlflow;

-- The audit tables are created and migrated by the code (include/audit.py) as their owner.
CREATE ROLE mlops_audit LOGIN PASSWORD :'audit_db_password';
CREATE DATABASE mlops_audit OWNER mlops_audit;

-- PUBLIC may connect to every database by default; keep each one to its owner.
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
REVOKE ALL ON DATABASE mlops_audit FROM PUBLIC;
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
