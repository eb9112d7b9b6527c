-- Run once by the postgis image on first start (docker-compose.yml): the test database beside `mdm`,
-- both with PostGIS and pg_trgm, as scripts/services.sh creates them.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE DATABASE mdm_test OWNER mdm;
\connect mdm_test
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
