-- Schema version 3 (PostgreSQL): nothing changes. (SQLite's version 3
-- adds a version per provider for its cache of the allocation candidates'
-- tree reads; on PostgreSQL, where every read is a round trip to a server
-- that may be shared by many hosts, there is no such cache.)
SELECT 1;
