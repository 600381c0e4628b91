-- Schema version 2 (SQLite): allocation rows refer to their consumer by its
-- integer id instead of its uuid.
--
-- Consumer uuids are random, so rows keyed by them were inserted at random
-- places of the allocation b-trees: every new consumer dirtied a different
-- page of each, which its commit wrote to the WAL and a checkpoint later
-- copied and fsynced. Ids grow, so a new consumer's rows are appended to
-- pages that are already dirty (and, for the index by provider, to the end
-- of that provider's range).
--
-- Every consumer holding allocations has a row in consumers. A consumer
-- whose record was deleted while it still held allocations (which the
-- Engine never does) keeps a row with has_record = 0: it is no consumer
-- record (lookups do not find it) but names the consumer of those rows.

ALTER TABLE consumers ADD COLUMN has_record INTEGER NOT NULL DEFAULT 1;

INSERT INTO consumers (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at, has_record)
SELECT DISTINCT a.consumer_uuid, '', '', '', 0, 0, 0, 0 FROM allocations a
WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.uuid = a.consumer_uuid);

CREATE TABLE allocations_v2 (
    consumer_id INTEGER NOT NULL REFERENCES consumers (id),
    provider_id INTEGER NOT NULL REFERENCES resource_providers (id),
    class_id    INTEGER NOT NULL REFERENCES resource_classes (id),
    used        INTEGER NOT NULL,
    PRIMARY KEY (consumer_id, provider_id, class_id)
) WITHOUT ROWID;

INSERT INTO allocations_v2 (consumer_id, provider_id, class_id, used)
SELECT c.id, a.provider_id, a.class_id, a.used FROM allocations a JOIN consumers c ON c.uuid = a.consumer_uuid;

-- Drops the old table's index and triggers (fires no trigger: usages,
-- the sums of the same rows, stay as they are).
DROP TABLE allocations;
ALTER TABLE allocations_v2 RENAME TO allocations;

-- By provider (the table's key completes it: provider, consumer, class), so
-- that a consumer's rows on one provider are neighbours.
CREATE INDEX allocations_provider ON allocations (provider_id);

CREATE TRIGGER allocations_usage_insert AFTER INSERT ON allocations
BEGIN
    INSERT INTO usages (provider_id, class_id, used) VALUES (NEW.provider_id, NEW.class_id, NEW.used)
    ON CONFLICT (provider_id, class_id) DO UPDATE SET used = used + excluded.used;
END;

CREATE TRIGGER allocations_usage_delete AFTER DELETE ON allocations
BEGIN
    UPDATE usages SET used = used - OLD.used
    WHERE provider_id = OLD.provider_id AND class_id = OLD.class_id;
END;

CREATE TRIGGER allocations_usage_update AFTER UPDATE ON allocations
BEGIN
    UPDATE usages SET used = used - OLD.used
    WHERE provider_id = OLD.provider_id AND class_id = OLD.class_id;
    INSERT INTO usages (provider_id, class_id, used) VALUES (NEW.provider_id, NEW.class_id, NEW.used)
    ON CONFLICT (provider_id, class_id) DO UPDATE SET used = used + excluded.used;
END;
