-- Schema version 4 (PostgreSQL): nothing changes. (SQLite's version 4 adds
-- a version of the set of roots for its cache of the list of roots; see
-- version 3.)
SELECT 1;
