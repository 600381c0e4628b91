-- Schema version 5 (SQLite): the index of providers by root also holds their
-- version, so that the candidates' read of the trees (the row id and version
-- of every provider of a list of roots, treecache.go) is answered from the
-- index alone instead of looking each provider's row up in the table: 40%
-- less time for 10,000 flat providers. Claims update the entry (a version
-- changes with usage) at no measurable cost.
DROP INDEX resource_providers_root;
CREATE INDEX resource_providers_root ON resource_providers (root_uuid, version);
