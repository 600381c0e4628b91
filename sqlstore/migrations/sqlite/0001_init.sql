-- Schema version 1 (SQLite). Strings compare bytewise (BINARY collation),
-- timestamps are Unix microseconds (UTC), ids are internal.

CREATE TABLE resource_providers (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    generation  INTEGER NOT NULL,
    parent_uuid TEXT    NOT NULL DEFAULT '',
    root_uuid   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX resource_providers_parent ON resource_providers (parent_uuid);
CREATE INDEX resource_providers_root ON resource_providers (root_uuid);

-- Standard classes have ids below 10000 (seeded when a store opens),
-- custom classes 10000 and above, as in Placement. Renaming a class changes
-- only its row here: inventories and allocations refer to its id.
CREATE TABLE resource_classes (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE inventories (
    provider_id      INTEGER NOT NULL REFERENCES resource_providers (id),
    class_id         INTEGER NOT NULL REFERENCES resource_classes (id),
    total            INTEGER NOT NULL,
    reserved         INTEGER NOT NULL,
    min_unit         INTEGER NOT NULL,
    max_unit         INTEGER NOT NULL,
    step_size        INTEGER NOT NULL,
    allocation_ratio REAL    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (provider_id, class_id)
) WITHOUT ROWID;
CREATE INDEX inventories_class ON inventories (class_id);

-- Custom traits. Provider trait links hold names (standard or custom).
CREATE TABLE traits (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE provider_traits (
    provider_id INTEGER NOT NULL REFERENCES resource_providers (id),
    trait       TEXT    NOT NULL,
    PRIMARY KEY (provider_id, trait)
) WITHOUT ROWID;
CREATE INDEX provider_traits_trait ON provider_traits (trait, provider_id);

CREATE TABLE provider_aggregates (
    provider_id INTEGER NOT NULL REFERENCES resource_providers (id),
    aggregate   TEXT    NOT NULL,
    PRIMARY KEY (provider_id, aggregate)
) WITHOUT ROWID;
CREATE INDEX provider_aggregates_aggregate ON provider_aggregates (aggregate, provider_id);

CREATE TABLE consumers (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT    NOT NULL UNIQUE,
    project_id    TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    consumer_type TEXT    NOT NULL,
    generation    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX consumers_project_user ON consumers (project_id, user_id);

CREATE TABLE allocations (
    consumer_uuid TEXT    NOT NULL,
    provider_id   INTEGER NOT NULL REFERENCES resource_providers (id),
    class_id      INTEGER NOT NULL REFERENCES resource_classes (id),
    used          INTEGER NOT NULL,
    PRIMARY KEY (consumer_uuid, provider_id, class_id)
) WITHOUT ROWID;
CREATE INDEX allocations_provider ON allocations (provider_id, class_id);

-- usages is the sum of the allocation rows per provider and class, kept by
-- the triggers below in the same transaction as the rows themselves.
CREATE TABLE usages (
    provider_id INTEGER NOT NULL,
    class_id    INTEGER NOT NULL,
    used        INTEGER NOT NULL,
    PRIMARY KEY (provider_id, class_id)
) WITHOUT ROWID;

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
