package sqlstore

import "github.com/jmoiron/sqlx"

// Short per-provider and per-consumer lists are sorted in Go (sortResources,
// sortAllocations) rather than by ORDER BY, which costs SQLite a temporary
// b-tree per query.
//
// Every SQL statement of the package is one of the constants below: static
// text with bound parameters ('?', rebound to $n for PostgreSQL). Lists of
// values are bound as one JSON array parameter (see listArg and setsArg) and
// expanded by the database (json_each on SQLite, jsonb_array_elements on
// PostgreSQL), so no statement text ever depends on a value or on a count.
// TestSQLIsStatic enforces this.

// stmtID names a statement; its text per dialect is in sqliteText and
// postgresText.
type stmtID int

const (
	qProvider stmtID = iota
	qProviderForUpdate
	qProviderForUpdateNowait
	qLockProviders
	qProviderByName
	qProviderID
	qProviderGeneration
	qProviderDependents
	qProvidersAll
	qProvidersByUUID
	qProvidersByName
	qProvidersByParent
	qProvidersByRoot
	qResources
	qProviderTraits
	qProviderAggregates
	qProviderAllocations
	qResourceClass
	qResourceClasses
	qClassExists
	qResourceClassInUse
	qTrait
	qTraits
	qAssociatedTraits
	qConsumer
	qConsumerGeneration
	qConsumerAllocations
	qConsumerUsages
	qMaintainedUsages
	qRecountedUsages

	qCreateProvider
	qUpdateProvider
	qDeleteProviderInventories
	qDeleteProviderUsages
	qDeleteProviderTraits
	qDeleteProviderAggregates
	qDeleteProvider
	qBumpGeneration
	qPutInventory
	qDeleteInventory
	qCreateClass
	qRenameClass
	qDeleteClassUsages
	qDeleteClass
	qCreateTrait
	qDeleteTrait
	qInsertProviderTrait
	qInsertProviderAggregate
	qCreateConsumer
	qUpdateConsumer
	qDeleteConsumer
	qDeleteAllocations
	qLockUsages
	qEnsureUsage
	qInsertAllocation
	qInsertAllocations
	qSQLiteWriteLock

	qStandardClasses
	qSeedClass

	numStmts
)

const providerCols = `SELECT p.uuid, p.name, p.generation, p.parent_uuid, p.root_uuid, p.created_at, p.updated_at FROM resource_providers p `

const (
	sqlProvider          = providerCols + `WHERE p.uuid = ?`
	sqlProviderForUpdate = providerCols + `WHERE p.uuid = ? FOR NO KEY UPDATE`
	sqlProviderNowait    = providerCols + `WHERE p.uuid = ? FOR NO KEY UPDATE NOWAIT`
	// PostgreSQL: lock a JSON list of providers in uuid order (see Update).
	postgresLockProviders = `SELECT p.generation FROM resource_providers p
WHERE p.uuid IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))) ORDER BY p.uuid FOR NO KEY UPDATE`
	sqlProviderByName     = providerCols + `WHERE p.name = ?`
	sqlProviderID         = `SELECT id FROM resource_providers WHERE uuid = ?`
	sqlProviderGeneration = `SELECT generation FROM resource_providers WHERE uuid = ?`
	sqlProviderDependents = `SELECT (SELECT COUNT(*) FROM resource_providers WHERE parent_uuid = ?), (SELECT COUNT(*) FROM allocations WHERE provider_id = ?)`

	// The exact filters of a provider query: each pair of parameters is
	// (value, value), an empty value not filtering.
	providerExact = ` AND (? = '' OR p.uuid = ?) AND (? = '' OR p.name = ?) AND (? = '' OR p.root_uuid = ?) AND (? = '' OR p.parent_uuid = ?)`

	// The set filters: member_of (JSON array of arrays: every inner set
	// must meet the provider's aggregates), not member_of (JSON array),
	// required traits (array of arrays), forbidden traits (array).
	sqliteProviderSets = ` AND NOT EXISTS (SELECT 1 FROM json_each(?) AS s WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT value FROM json_each(s.value))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT value FROM json_each(?)))` +
		` AND NOT EXISTS (SELECT 1 FROM json_each(?) AS s WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT value FROM json_each(s.value))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT value FROM json_each(?)))` +
		` ORDER BY p.uuid`
	postgresProviderSets = ` AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(? AS jsonb)) AS s(v) WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT jsonb_array_elements_text(s.v))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))` +
		` AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(? AS jsonb)) AS s(v) WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT jsonb_array_elements_text(s.v))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))` +
		` ORDER BY p.uuid`

	// Variants by driving filter (so that an index can be used), then the
	// complete filter.
	providersAll      = providerCols + `WHERE true` + providerExact
	providersByUUID   = providerCols + `WHERE p.uuid = ?` + providerExact
	providersByName   = providerCols + `WHERE p.name = ?` + providerExact
	providersByParent = providerCols + `WHERE p.parent_uuid = ?` + providerExact
	providersByRoot   = providerCols + `WHERE p.root_uuid = ?` + providerExact

	sqlResources = `SELECT c.name, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, i.created_at, i.updated_at, COALESCE(u.used, 0)
FROM resource_providers p
JOIN inventories i ON i.provider_id = p.id
JOIN resource_classes c ON c.id = i.class_id
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
WHERE p.uuid = ?`
	sqlProviderTraits = `SELECT t.trait FROM resource_providers p JOIN provider_traits t ON t.provider_id = p.id
WHERE p.uuid = ? ORDER BY t.trait`
	sqlProviderAggregates = `SELECT a.aggregate FROM resource_providers p JOIN provider_aggregates a ON a.provider_id = p.id
WHERE p.uuid = ? ORDER BY a.aggregate`
	sqlProviderAllocations = `SELECT a.consumer_uuid, c.name, a.used FROM resource_providers p
JOIN allocations a ON a.provider_id = p.id
JOIN resource_classes c ON c.id = a.class_id
WHERE p.uuid = ?`
	sqlResourceClass    = `SELECT name, created_at, updated_at FROM resource_classes WHERE name = ? AND id >= 10000`
	sqlResourceClasses  = `SELECT name, created_at, updated_at FROM resource_classes WHERE id >= 10000 ORDER BY name`
	sqlClassExists      = `SELECT COUNT(*) FROM resource_classes WHERE name = ?`
	sqlResourceClassUse = `SELECT COUNT(*) FROM resource_classes c WHERE c.name = ? AND EXISTS (SELECT 1 FROM inventories i WHERE i.class_id = c.id)`
	sqlTrait            = `SELECT name, created_at, updated_at FROM traits WHERE name = ?`
	sqlTraits           = `SELECT name, created_at, updated_at FROM traits ORDER BY name`
	sqlAssociatedTraits = `SELECT DISTINCT trait FROM provider_traits ORDER BY trait`
	sqlConsumer         = `SELECT uuid, project_id, user_id, consumer_type, generation, created_at, updated_at FROM consumers WHERE uuid = ?`
	sqlConsumerGen      = `SELECT generation FROM consumers WHERE uuid = ?`
	sqlConsumerAllocs   = `SELECT p.uuid, c.name, a.used FROM allocations a
JOIN resource_providers p ON p.id = a.provider_id
JOIN resource_classes c ON c.id = a.class_id
WHERE a.consumer_uuid = ?`
	sqlConsumerUsages = `SELECT co.uuid, co.consumer_type, c.name, CAST(SUM(a.used) AS BIGINT) FROM consumers co
JOIN allocations a ON a.consumer_uuid = co.uuid
JOIN resource_classes c ON c.id = a.class_id
WHERE co.project_id = ? AND (? = '' OR co.user_id = ?)
GROUP BY co.uuid, co.consumer_type, c.name ORDER BY co.uuid, c.name`
	sqlMaintainedUsages = `SELECT p.uuid, c.name, COALESCE(u.used, 0) FROM inventories i
JOIN resource_providers p ON p.id = i.provider_id
JOIN resource_classes c ON c.id = i.class_id
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
ORDER BY p.uuid, c.name`
	sqlRecountedUsages = `SELECT p.uuid, c.name, s.used,
  (SELECT COUNT(*) FROM inventories i WHERE i.provider_id = s.provider_id AND i.class_id = s.class_id)
FROM (SELECT provider_id, class_id, CAST(SUM(used) AS BIGINT) AS used FROM allocations GROUP BY provider_id, class_id) s
JOIN resource_providers p ON p.id = s.provider_id
JOIN resource_classes c ON c.id = s.class_id
ORDER BY p.uuid, c.name`

	sqlCreateProvider = `INSERT INTO resource_providers (uuid, name, generation, parent_uuid, root_uuid, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlUpdateProvider            = `UPDATE resource_providers SET name = ?, parent_uuid = ?, root_uuid = ?, updated_at = ? WHERE uuid = ?`
	sqlDeleteProviderInventories = `DELETE FROM inventories WHERE provider_id = ?`
	sqlDeleteProviderUsages      = `DELETE FROM usages WHERE provider_id = ?`
	sqlDeleteProviderTraits      = `DELETE FROM provider_traits WHERE provider_id = ?`
	sqlDeleteProviderAggregates  = `DELETE FROM provider_aggregates WHERE provider_id = ?`
	sqlDeleteProvider            = `DELETE FROM resource_providers WHERE id = ?`
	// The compare-and-swap guarding every write (exactly one row or a conflict).
	sqlBumpGeneration = `UPDATE resource_providers SET generation = generation + 1 WHERE uuid = ? AND generation = ?`
	sqlPutInventory   = `INSERT INTO inventories (provider_id, class_id, total, reserved, min_unit, max_unit, step_size, allocation_ratio, created_at, updated_at)
SELECT p.id, c.id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT)
FROM resource_providers p, resource_classes c WHERE p.uuid = ? AND c.name = ?
ON CONFLICT (provider_id, class_id) DO UPDATE SET total = excluded.total, reserved = excluded.reserved,
  min_unit = excluded.min_unit, max_unit = excluded.max_unit, step_size = excluded.step_size,
  allocation_ratio = excluded.allocation_ratio, created_at = excluded.created_at, updated_at = excluded.updated_at`
	sqlDeleteInventory = `DELETE FROM inventories WHERE provider_id = (SELECT id FROM resource_providers WHERE uuid = ?)
AND class_id = (SELECT id FROM resource_classes WHERE name = ?)`
	sqliteCreateClass = `INSERT INTO resource_classes (id, name, created_at, updated_at)
SELECT MAX(COALESCE(MAX(id) + 1, 10000), 10000), ?, ?, ? FROM resource_classes WHERE true ON CONFLICT DO NOTHING`
	postgresCreateClass     = `INSERT INTO resource_classes (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	sqlRenameClass          = `UPDATE resource_classes SET name = ?, updated_at = ? WHERE name = ? AND id >= 10000`
	sqlDeleteClassUsages    = `DELETE FROM usages WHERE used = 0 AND class_id = (SELECT id FROM resource_classes WHERE name = ? AND id >= 10000)`
	sqlDeleteClass          = `DELETE FROM resource_classes WHERE name = ? AND id >= 10000`
	sqlCreateTrait          = `INSERT INTO traits (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	sqlDeleteTrait          = `DELETE FROM traits WHERE name = ?`
	sqlInsertProviderTrait  = `INSERT INTO provider_traits (provider_id, trait) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlInsertProviderAggreg = `INSERT INTO provider_aggregates (provider_id, aggregate) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlCreateConsumer       = `INSERT INTO consumers (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlUpdateConsumer = `UPDATE consumers SET project_id = ?, user_id = ?, consumer_type = ?, generation = ?, updated_at = ?
WHERE uuid = ? AND generation = ?`
	sqlDeleteConsumer    = `DELETE FROM consumers WHERE uuid = ?`
	sqlDeleteAllocations = `DELETE FROM allocations WHERE consumer_uuid = ?`
	// PostgreSQL: lock, in one global order, the usage rows a replacement
	// of a consumer's allocations changes (its current rows and the new
	// ones, a JSON array of [provider uuid, class name, used]), so that two
	// writers moving allocations in opposite directions cannot deadlock.
	postgresLockUsages = `SELECT u.used FROM usages u WHERE (u.provider_id, u.class_id) IN (
  SELECT a.provider_id, a.class_id FROM allocations a WHERE a.consumer_uuid = CAST(? AS TEXT)
  UNION
  SELECT p.id, c.id FROM jsonb_array_elements(CAST(? AS jsonb)) AS r(v)
  JOIN resource_providers p ON p.uuid = r.v->>0
  JOIN resource_classes c ON c.name = r.v->>1)
ORDER BY u.provider_id, u.class_id FOR UPDATE OF u`
	// Every inventory has a usage row (0 until allocated), so that the row
	// exists to be locked before it is first changed.
	sqlEnsureUsage = `INSERT INTO usages (provider_id, class_id, used)
SELECT p.id, c.id, 0 FROM resource_providers p, resource_classes c WHERE p.uuid = ? AND c.name = ?
ON CONFLICT (provider_id, class_id) DO NOTHING`
	// One allocation row (SQLite: a prepared statement per row is cheapest).
	sqlInsertAllocation = `INSERT INTO allocations (consumer_uuid, provider_id, class_id, used)
SELECT ?, p.id, c.id, ? FROM resource_providers p, resource_classes c WHERE p.uuid = ? AND c.name = ?`
	// All of a consumer's rows in one round trip (PostgreSQL): a JSON array
	// of [provider uuid, class name, used] triples.
	postgresInsertAllocations = `INSERT INTO allocations (consumer_uuid, provider_id, class_id, used)
SELECT CAST(? AS TEXT), p.id, c.id, CAST(r.v->>2 AS BIGINT) FROM jsonb_array_elements(CAST(? AS jsonb)) AS r(v)
JOIN resource_providers p ON p.uuid = r.v->>0
JOIN resource_classes c ON c.name = r.v->>1`
	// Takes SQLite's write lock at the start of a transaction begun
	// DEFERRED (a store made by New over a handle without _txlock=immediate).
	sqliteWriteLock = `UPDATE sqlstore_migrations SET version = version WHERE version < 0`

	sqlStandardClasses = `SELECT id, name FROM resource_classes WHERE id < 10000`
	sqlSeedClass       = `INSERT INTO resource_classes (id, name, created_at, updated_at) VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING`

	// Migrations.
	sqlCreateMigrations = `CREATE TABLE IF NOT EXISTS sqlstore_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`
	sqlSchemaVersion    = `SELECT COALESCE(MAX(version), 0) FROM sqlstore_migrations`
	sqlRecordMigration  = `INSERT INTO sqlstore_migrations (version, applied_at) VALUES (?, ?)`
	postgresMigrateLock = `SELECT pg_advisory_xact_lock(7466823110912357)`
)

// sqliteText holds every statement's SQLite text.
var sqliteText = [numStmts]string{
	qProvider:                sqlProvider,
	qProviderForUpdate:       sqlProvider,
	qProviderForUpdateNowait: sqlProvider,
	qLockProviders:           sqlProvider, // unused on SQLite
	qProviderByName:          sqlProviderByName,
	qProviderID:              sqlProviderID,
	qProviderGeneration:      sqlProviderGeneration,
	qProviderDependents:      sqlProviderDependents,
	qProvidersAll:            providersAll + sqliteProviderSets,
	qProvidersByUUID:         providersByUUID + sqliteProviderSets,
	qProvidersByName:         providersByName + sqliteProviderSets,
	qProvidersByParent:       providersByParent + sqliteProviderSets,
	qProvidersByRoot:         providersByRoot + sqliteProviderSets,
	qResources:               sqlResources,
	qProviderTraits:          sqlProviderTraits,
	qProviderAggregates:      sqlProviderAggregates,
	qProviderAllocations:     sqlProviderAllocations,
	qResourceClass:           sqlResourceClass,
	qResourceClasses:         sqlResourceClasses,
	qClassExists:             sqlClassExists,
	qResourceClassInUse:      sqlResourceClassUse,
	qTrait:                   sqlTrait,
	qTraits:                  sqlTraits,
	qAssociatedTraits:        sqlAssociatedTraits,
	qConsumer:                sqlConsumer,
	qConsumerGeneration:      sqlConsumerGen,
	qConsumerAllocations:     sqlConsumerAllocs,
	qConsumerUsages:          sqlConsumerUsages,
	qMaintainedUsages:        sqlMaintainedUsages,
	qRecountedUsages:         sqlRecountedUsages,

	qCreateProvider:            sqlCreateProvider,
	qUpdateProvider:            sqlUpdateProvider,
	qDeleteProviderInventories: sqlDeleteProviderInventories,
	qDeleteProviderUsages:      sqlDeleteProviderUsages,
	qDeleteProviderTraits:      sqlDeleteProviderTraits,
	qDeleteProviderAggregates:  sqlDeleteProviderAggregates,
	qDeleteProvider:            sqlDeleteProvider,
	qBumpGeneration:            sqlBumpGeneration,
	qPutInventory:              sqlPutInventory,
	qDeleteInventory:           sqlDeleteInventory,
	qCreateClass:               sqliteCreateClass,
	qRenameClass:               sqlRenameClass,
	qDeleteClassUsages:         sqlDeleteClassUsages,
	qDeleteClass:               sqlDeleteClass,
	qCreateTrait:               sqlCreateTrait,
	qDeleteTrait:               sqlDeleteTrait,
	qInsertProviderTrait:       sqlInsertProviderTrait,
	qInsertProviderAggregate:   sqlInsertProviderAggreg,
	qCreateConsumer:            sqlCreateConsumer,
	qUpdateConsumer:            sqlUpdateConsumer,
	qDeleteConsumer:            sqlDeleteConsumer,
	qDeleteAllocations:         sqlDeleteAllocations,
	qLockUsages:                sqlDeleteAllocations, // unused on SQLite
	qEnsureUsage:               sqlEnsureUsage,
	qInsertAllocation:          sqlInsertAllocation,
	qInsertAllocations:         sqlInsertAllocation, // unused on SQLite
	qSQLiteWriteLock:           sqliteWriteLock,

	qStandardClasses: sqlStandardClasses,
	qSeedClass:       sqlSeedClass,
}

// postgresText holds every statement's PostgreSQL text (with '?'
// placeholders, rebound by init).
var postgresText = [numStmts]string{
	qProvider:                sqlProvider,
	qProviderForUpdate:       sqlProviderForUpdate,
	qProviderForUpdateNowait: sqlProviderNowait,
	qLockProviders:           postgresLockProviders,
	qProviderByName:          sqlProviderByName,
	qProviderID:              sqlProviderID,
	qProviderGeneration:      sqlProviderGeneration,
	qProviderDependents:      sqlProviderDependents,
	qProvidersAll:            providersAll + postgresProviderSets,
	qProvidersByUUID:         providersByUUID + postgresProviderSets,
	qProvidersByName:         providersByName + postgresProviderSets,
	qProvidersByParent:       providersByParent + postgresProviderSets,
	qProvidersByRoot:         providersByRoot + postgresProviderSets,
	qResources:               sqlResources,
	qProviderTraits:          sqlProviderTraits,
	qProviderAggregates:      sqlProviderAggregates,
	qProviderAllocations:     sqlProviderAllocations,
	qResourceClass:           sqlResourceClass,
	qResourceClasses:         sqlResourceClasses,
	qClassExists:             sqlClassExists,
	qResourceClassInUse:      sqlResourceClassUse,
	qTrait:                   sqlTrait,
	qTraits:                  sqlTraits,
	qAssociatedTraits:        sqlAssociatedTraits,
	qConsumer:                sqlConsumer,
	qConsumerGeneration:      sqlConsumerGen,
	qConsumerAllocations:     sqlConsumerAllocs,
	qConsumerUsages:          sqlConsumerUsages,
	qMaintainedUsages:        sqlMaintainedUsages,
	qRecountedUsages:         sqlRecountedUsages,

	qCreateProvider:            sqlCreateProvider,
	qUpdateProvider:            sqlUpdateProvider,
	qDeleteProviderInventories: sqlDeleteProviderInventories,
	qDeleteProviderUsages:      sqlDeleteProviderUsages,
	qDeleteProviderTraits:      sqlDeleteProviderTraits,
	qDeleteProviderAggregates:  sqlDeleteProviderAggregates,
	qDeleteProvider:            sqlDeleteProvider,
	qBumpGeneration:            sqlBumpGeneration,
	qPutInventory:              sqlPutInventory,
	qDeleteInventory:           sqlDeleteInventory,
	qCreateClass:               postgresCreateClass,
	qRenameClass:               sqlRenameClass,
	qDeleteClassUsages:         sqlDeleteClassUsages,
	qDeleteClass:               sqlDeleteClass,
	qCreateTrait:               sqlCreateTrait,
	qDeleteTrait:               sqlDeleteTrait,
	qInsertProviderTrait:       sqlInsertProviderTrait,
	qInsertProviderAggregate:   sqlInsertProviderAggreg,
	qCreateConsumer:            sqlCreateConsumer,
	qUpdateConsumer:            sqlUpdateConsumer,
	qDeleteConsumer:            sqlDeleteConsumer,
	qDeleteAllocations:         sqlDeleteAllocations,
	qLockUsages:                postgresLockUsages,
	qEnsureUsage:               sqlEnsureUsage,
	qInsertAllocation:          sqlInsertAllocation,
	qInsertAllocations:         postgresInsertAllocations,
	qSQLiteWriteLock:           sqlProviderID, // unused on PostgreSQL

	qStandardClasses: sqlStandardClasses,
	qSeedClass:       sqlSeedClass,
}

func init() {
	for i := range postgresText {
		postgresText[i] = sqlx.Rebind(sqlx.DOLLAR, postgresText[i])
	}
}
