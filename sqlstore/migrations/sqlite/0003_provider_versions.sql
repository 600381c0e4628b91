-- Schema version 3 (SQLite): a version per provider, for the cache of the
-- allocation candidates' tree reads (treecache.go).
--
-- A provider's version changes in every transaction that changes what the
-- candidates read of it: its parent, inventories, usage, traits or
-- aggregates (the generation does not: moving allocations off a provider
-- or DELETE /allocations leaves it alone, as in Placement). It starts at a
-- random value, so that a provider deleted and created again, even under
-- the same row id, does not meet the versions of its former self.
ALTER TABLE resource_providers ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE resource_providers SET version = random() / 2;
