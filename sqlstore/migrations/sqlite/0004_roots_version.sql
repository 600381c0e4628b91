-- Schema version 4 (SQLite): a version of the set of root providers, for
-- the cache of the list of roots (treecache.go). It changes in every
-- transaction that creates a root, deletes a provider or updates one
-- (re-parenting may add or remove a root). It starts at a random value, as
-- provider versions do.
CREATE TABLE roots_version (version INTEGER NOT NULL);
INSERT INTO roots_version (version) VALUES (random() / 2);
