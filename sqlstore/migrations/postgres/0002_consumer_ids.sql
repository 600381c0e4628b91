-- Schema version 2 (PostgreSQL). (SQLite's version 2 keys allocation rows by
-- consumer id; PostgreSQL keeps consumer uuids.)
--
-- The statement that replaces a consumer's allocation rows keeps usages in
-- step itself (one ordered upsert of the change per provider and class), so
-- the statement-level triggers go: three trigger functions with transition
-- tables ran for every replacement (even with no row deleted), and were
-- most of its cost.
DROP TRIGGER allocations_usage_insert ON allocations;
DROP TRIGGER allocations_usage_delete ON allocations;
DROP TRIGGER allocations_usage_update ON allocations;
DROP FUNCTION allocations_usage_add();
DROP FUNCTION allocations_usage_sub();
DROP FUNCTION allocations_usage_move();
--
-- sqlstore_lock_provider locks a provider's row for the rest of the
-- transaction (FOR NO KEY UPDATE, waiting or NOWAIT) and then returns the
-- provider with each of its inventories and their usage (one row per
-- inventory; one row with an empty class name when it has none): what a
-- write reads of a provider, in one round trip. The rows are read by a
-- second statement, after the lock is held: at READ COMMITTED each
-- statement of a VOLATILE function takes a new snapshot, so the generation
-- and the usage are read together, as committed when the lock was
-- obtained. (A single SELECT ... FOR UPDATE joined with the usage would
-- return, after waiting for the lock, the provider's new row but the usage
-- as it was when the statement began.)
CREATE FUNCTION sqlstore_lock_provider(p_uuid TEXT, p_nowait BOOLEAN)
RETURNS TABLE (r_uuid TEXT, r_name TEXT, r_generation BIGINT, r_parent_uuid TEXT, r_root_uuid TEXT,
    r_created_at BIGINT, r_updated_at BIGINT, r_class TEXT, r_total BIGINT, r_reserved BIGINT,
    r_min_unit BIGINT, r_max_unit BIGINT, r_step_size BIGINT, r_allocation_ratio DOUBLE PRECISION,
    r_inv_created_at BIGINT, r_inv_updated_at BIGINT, r_used BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_nowait THEN
        PERFORM 1 FROM resource_providers lp WHERE lp.uuid = p_uuid FOR NO KEY UPDATE NOWAIT;
    ELSE
        PERFORM 1 FROM resource_providers lp WHERE lp.uuid = p_uuid FOR NO KEY UPDATE;
    END IF;
    RETURN QUERY
    SELECT p.uuid, p.name, p.generation, p.parent_uuid, p.root_uuid, p.created_at, p.updated_at,
        COALESCE(c.name, ''), COALESCE(i.total, 0), COALESCE(i.reserved, 0), COALESCE(i.min_unit, 0),
        COALESCE(i.max_unit, 0), COALESCE(i.step_size, 0), COALESCE(i.allocation_ratio, 0),
        COALESCE(i.created_at, 0), COALESCE(i.updated_at, 0), COALESCE(u.used, 0)
    FROM resource_providers p
    LEFT JOIN inventories i ON i.provider_id = p.id
    LEFT JOIN resource_classes c ON c.id = i.class_id
    LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
    WHERE p.uuid = p_uuid;
END
$$;
