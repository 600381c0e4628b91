-- Schema version 5 (PostgreSQL): nothing changes. (SQLite's version 5 adds
-- the provider version to its index by root, for its cache of trees; see
-- version 3.)
SELECT 1;
