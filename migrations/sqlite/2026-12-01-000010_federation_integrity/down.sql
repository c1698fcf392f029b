ALTER TABLE peers DROP COLUMN last_error_code;
DROP TABLE federated_tombstones;
