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
//
// SQLite texts write a parameter that is compared in a WHERE or ON clause
// as +? (unary plus: the same value, with no affinity of its own, exactly
// like a bare ?). With a bare ?, SQLite's planner may mark the statement as
// depending on the bound value ("col = ?" terms it weighs, LIKE ?, LIMIT ?),
// and mattn/go-sqlite3 clears the bindings before every execution, which
// expires such a statement: it was parsed and planned again at every run
// (a 3-table join cost 3x what it should). TestSQLiteNoReprepare checks
// every SQLite statement.

// stmtID names a statement; its text per dialect is in sqliteText and
// postgresText.
type stmtID int

const (
	qProviderForUpdate stmtID = iota
	qProviderForUpdateNowait
	qProviderResources
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
	qProvidersByTrait
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
	qBumpGenerationByID
	qBumpVersions
	qBumpRootsVersion
	qAllocationProviders
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
	qHideConsumer
	qConsumerID
	qReviveConsumer
	qHiddenConsumer
	qDropHiddenConsumer
	qDeleteAllocations
	qReplaceAllocations
	qEnsureUsage
	qInsertAllocation
	qInsertAllocationByID

	qStandardClasses
	qSeedClasses

	// Allocation candidates (candidates.go).
	qCandidateRootsAll
	qCandidateRoots
	qCandidateRootsTraits
	qCandidateTrees
	qCandidateTreeRange
	qCandidateTreeProviders
	qCandidateTreeResources
	qCandidateTreeTraits
	qCandidateTreeAggregates
	qCandidateClasses
	qCandidateRootsVersion
	qCapacityAll
	qCapacityByUUID
	qCapacityByName
	qCapacityByParent
	qCapacityByRoot

	// Transaction control.
	qBeginWrite
	qBeginRead
	qCommit
	qRollback

	numStmts
)

// Transaction control (run as statements on the connection).
const (
	sqliteBeginWrite = `BEGIN IMMEDIATE`
	sqliteBeginRead  = `BEGIN DEFERRED`
	pgBeginWrite     = `BEGIN ISOLATION LEVEL READ COMMITTED`
	pgBeginRead      = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
	sqlCommit        = `COMMIT`
	sqlRollback      = `ROLLBACK`
)

const providerCols = `SELECT p.uuid, p.name, p.generation, p.parent_uuid, p.root_uuid, p.created_at, p.updated_at FROM resource_providers p `

// providerResourceCols: a provider with each of its inventories and their
// usage, one row per inventory (one row with an empty class name when it
// has none).
const providerResourceCols = providerResourceList + providerResourceFrom

const providerResourceList = `SELECT p.uuid, p.name, p.generation, p.parent_uuid, p.root_uuid, p.created_at, p.updated_at,
  COALESCE(c.name, ''), COALESCE(i.total, 0), COALESCE(i.reserved, 0), COALESCE(i.min_unit, 0), COALESCE(i.max_unit, 0),
  COALESCE(i.step_size, 0), COALESCE(i.allocation_ratio, 0), COALESCE(i.created_at, 0), COALESCE(i.updated_at, 0), COALESCE(u.used, 0)`

const providerResourceFrom = `
FROM resource_providers p
LEFT JOIN inventories i ON i.provider_id = p.id
LEFT JOIN resource_classes c ON c.id = i.class_id
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
`

// Statements whose text is the same on both dialects (no compared
// parameter, or PostgreSQL-only).
const (
	// PostgreSQL: lock a provider, then read it with its resources (see
	// migrations/postgres/0002); the columns are providerResourceCols'.
	pgLockProvider       = `SELECT * FROM sqlstore_lock_provider(CAST(? AS TEXT), false)`
	pgLockProviderNowait = `SELECT * FROM sqlstore_lock_provider(CAST(? AS TEXT), true)`
	// PostgreSQL: lock a JSON list of providers in uuid order (see Update).
	postgresLockProviders = `SELECT p.generation FROM resource_providers p
WHERE p.uuid IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))) ORDER BY p.uuid FOR NO KEY UPDATE`

	sqlResourceClasses  = `SELECT name, created_at, updated_at FROM resource_classes WHERE id >= 10000 ORDER BY name`
	sqlTraits           = `SELECT name, created_at, updated_at FROM traits ORDER BY name`
	sqlAssociatedTraits = `SELECT DISTINCT trait FROM provider_traits ORDER BY trait`
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
	// SQLite: a new provider's version is random (see treecache.go).
	sqliteCreateProvider = `INSERT INTO resource_providers (uuid, name, generation, parent_uuid, root_uuid, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, random() / 2) ON CONFLICT DO NOTHING`
	sqliteCreateClass = `INSERT INTO resource_classes (id, name, created_at, updated_at)
SELECT MAX(COALESCE(MAX(id) + 1, 10000), 10000), ?, ?, ? FROM resource_classes WHERE true ON CONFLICT DO NOTHING`
	postgresCreateClass     = `INSERT INTO resource_classes (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	sqlCreateTrait          = `INSERT INTO traits (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	sqlInsertProviderTrait  = `INSERT INTO provider_traits (provider_id, trait) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlInsertProviderAggreg = `INSERT INTO provider_aggregates (provider_id, aggregate) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlCreateConsumer       = `INSERT INTO consumers (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

	sqlStandardClasses = `SELECT id, name FROM resource_classes WHERE id < 10000`
	// The standard classes a database lacks, a JSON array of [id, name].
	sqliteSeedClasses = `INSERT INTO resource_classes (id, name, created_at, updated_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 0, 0 FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`
	pgSeedClasses = `INSERT INTO resource_classes (id, name, created_at, updated_at)
SELECT CAST(r.v->>0 AS BIGINT), r.v->>1, 0, 0 FROM jsonb_array_elements(CAST(? AS jsonb)) AS r(v) ON CONFLICT DO NOTHING`

	// Migrations.
	sqlCreateMigrations = `CREATE TABLE IF NOT EXISTS sqlstore_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`
	sqlSchemaVersion    = `SELECT COALESCE(MAX(version), 0) FROM sqlstore_migrations`
	sqlRecordMigration  = `INSERT INTO sqlstore_migrations (version, applied_at) VALUES (?, ?)`
	postgresMigrateLock = `SELECT pg_advisory_xact_lock(7466823110912357)`
	// Takes SQLite's write lock in a transaction begun DEFERRED (migrations
	// over a handle given to New).
	sqliteWriteLock = `UPDATE sqlstore_migrations SET version = version WHERE version < 0`
)

// PostgreSQL texts ('?' rebound to $n by init).
const (
	pgProviderResources = providerResourceCols + `WHERE p.uuid = ?`
	pgProviderByName    = providerCols + `WHERE p.name = ?`
	pgProviderID        = `SELECT id FROM resource_providers WHERE uuid = ?`
	pgProviderGen       = `SELECT generation FROM resource_providers WHERE uuid = ?`
	pgProviderDeps      = `SELECT (SELECT COUNT(*) FROM resource_providers WHERE parent_uuid = ?), (SELECT COUNT(*) FROM allocations WHERE provider_id = ?)`

	// The exact filters of a provider query: each pair of parameters is
	// (value, value), an empty value not filtering.
	pgProviderExact = ` AND (? = '' OR p.uuid = ?) AND (? = '' OR p.name = ?) AND (? = '' OR p.root_uuid = ?) AND (? = '' OR p.parent_uuid = ?)`
	// The set filters: member_of (JSON array of arrays: every inner set
	// must meet the provider's aggregates), not member_of (JSON array),
	// required traits (array of arrays), forbidden traits (array).
	pgProviderSets = ` AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(? AS jsonb)) AS s(v) WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT jsonb_array_elements_text(s.v))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))` +
		` AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(? AS jsonb)) AS s(v) WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT jsonb_array_elements_text(s.v))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))` +
		` ORDER BY p.uuid`
	// Variants by driving filter (so that an index can be used), then the
	// complete filter.
	pgProvidersAll      = providerCols + `WHERE true` + pgProviderExact + pgProviderSets
	pgProvidersByUUID   = providerCols + `WHERE p.uuid = ?` + pgProviderExact + pgProviderSets
	pgProvidersByName   = providerCols + `WHERE p.name = ?` + pgProviderExact + pgProviderSets
	pgProvidersByParent = providerCols + `WHERE p.parent_uuid = ?` + pgProviderExact + pgProviderSets
	pgProvidersByRoot   = providerCols + `WHERE p.root_uuid = ?` + pgProviderExact + pgProviderSets
	pgProvidersByTrait  = providerCols + `WHERE p.id IN (SELECT pt.provider_id FROM provider_traits pt WHERE pt.trait IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))` + pgProviderExact + pgProviderSets

	pgResources = `SELECT c.name, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, i.created_at, i.updated_at, COALESCE(u.used, 0)
FROM resource_providers p
JOIN inventories i ON i.provider_id = p.id
JOIN resource_classes c ON c.id = i.class_id
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
WHERE p.uuid = ?`
	pgProviderTraits = `SELECT t.trait FROM resource_providers p JOIN provider_traits t ON t.provider_id = p.id
WHERE p.uuid = ? ORDER BY t.trait`
	pgProviderAggregates = `SELECT a.aggregate FROM resource_providers p JOIN provider_aggregates a ON a.provider_id = p.id
WHERE p.uuid = ? ORDER BY a.aggregate`
	pgProviderAllocations = `SELECT a.consumer_uuid, c.name, a.used FROM resource_providers p
JOIN allocations a ON a.provider_id = p.id
JOIN resource_classes c ON c.id = a.class_id
WHERE p.uuid = ?`
	pgResourceClass    = `SELECT name, created_at, updated_at FROM resource_classes WHERE name = ? AND id >= 10000`
	pgClassExists      = `SELECT COUNT(*) FROM resource_classes WHERE name = ?`
	pgResourceClassUse = `SELECT COUNT(*) FROM resource_classes c WHERE c.name = ? AND EXISTS (SELECT 1 FROM inventories i WHERE i.class_id = c.id)`
	pgTrait            = `SELECT name, created_at, updated_at FROM traits WHERE name = ?`
	pgConsumer         = `SELECT uuid, project_id, user_id, consumer_type, generation, created_at, updated_at FROM consumers WHERE uuid = ?`
	pgConsumerGen      = `SELECT generation FROM consumers WHERE uuid = ?`
	pgConsumerAllocs   = `SELECT p.uuid, c.name, a.used FROM allocations a
JOIN resource_providers p ON p.id = a.provider_id
JOIN resource_classes c ON c.id = a.class_id
WHERE a.consumer_uuid = ?`
	pgConsumerUsages = `SELECT co.uuid, co.consumer_type, c.name, CAST(SUM(a.used) AS BIGINT) FROM consumers co
JOIN allocations a ON a.consumer_uuid = co.uuid
JOIN resource_classes c ON c.id = a.class_id
WHERE co.project_id = ? AND (? = '' OR co.user_id = ?)
GROUP BY co.uuid, co.consumer_type, c.name ORDER BY co.uuid, c.name`

	pgUpdateProvider            = `UPDATE resource_providers SET name = ?, parent_uuid = ?, root_uuid = ?, updated_at = ? WHERE uuid = ?`
	pgDeleteProviderInventories = `DELETE FROM inventories WHERE provider_id = ?`
	pgDeleteProviderUsages      = `DELETE FROM usages WHERE provider_id = ?`
	pgDeleteProviderTraits      = `DELETE FROM provider_traits WHERE provider_id = ?`
	pgDeleteProviderAggregates  = `DELETE FROM provider_aggregates WHERE provider_id = ?`
	pgDeleteProvider            = `DELETE FROM resource_providers WHERE id = ?`
	// The compare-and-swap guarding every write (exactly one row or a conflict).
	pgBumpGeneration = `UPDATE resource_providers SET generation = generation + 1 WHERE uuid = ? AND generation = ?`
	pgPutInventory   = `INSERT INTO inventories (provider_id, class_id, total, reserved, min_unit, max_unit, step_size, allocation_ratio, created_at, updated_at)
SELECT p.id, c.id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT)
FROM resource_providers p, resource_classes c WHERE p.uuid = ? AND c.name = ?
ON CONFLICT (provider_id, class_id) DO UPDATE SET total = excluded.total, reserved = excluded.reserved,
  min_unit = excluded.min_unit, max_unit = excluded.max_unit, step_size = excluded.step_size,
  allocation_ratio = excluded.allocation_ratio, created_at = excluded.created_at, updated_at = excluded.updated_at`
	pgDeleteInventory = `DELETE FROM inventories WHERE provider_id = (SELECT id FROM resource_providers WHERE uuid = ?)
AND class_id = (SELECT id FROM resource_classes WHERE name = ?)`
	pgRenameClass       = `UPDATE resource_classes SET name = ?, updated_at = ? WHERE name = ? AND id >= 10000`
	pgDeleteClassUsages = `DELETE FROM usages WHERE used = 0 AND class_id = (SELECT id FROM resource_classes WHERE name = ? AND id >= 10000)`
	pgDeleteClass       = `DELETE FROM resource_classes WHERE name = ? AND id >= 10000`
	pgDeleteTrait       = `DELETE FROM traits WHERE name = ?`
	pgUpdateConsumer    = `UPDATE consumers SET project_id = ?, user_id = ?, consumer_type = ?, generation = ?, updated_at = ?
WHERE uuid = ? AND generation = ?`
	pgDeleteConsumer = `DELETE FROM consumers WHERE uuid = ?`
	// PostgreSQL: replace a consumer's allocations in one statement (one
	// round trip) and keep usages in step (schema version 2 has no
	// triggers on allocations). The first parameter is a JSON array of
	// [provider uuid, class name, used] rows. The consumer's current rows
	// are locked; the change of usage per provider and class (new minus
	// current) is applied in one upsert in (provider, class) order, so that
	// writers moving allocations in opposite directions lock usage rows in
	// the same order and cannot deadlock; the rows not in the new set are
	// deleted and the new set is upserted (a row kept with a new amount is
	// updated in place: a delete and an insert of one key cannot meet in
	// one statement). It returns the number of usage rows changed and of
	// allocation rows written.
	pgReplaceAllocations = `WITH new AS (
  SELECT p.id AS provider_id, c.id AS class_id, CAST(r.v->>2 AS BIGINT) AS used
  FROM jsonb_array_elements(CAST(? AS jsonb)) AS r(v)
  JOIN resource_providers p ON p.uuid = r.v->>0
  JOIN resource_classes c ON c.name = r.v->>1),
old AS (
  SELECT a.provider_id, a.class_id, a.used FROM allocations a WHERE a.consumer_uuid = CAST(? AS TEXT) FOR UPDATE),
delta AS (
  SELECT d.provider_id, d.class_id, SUM(d.used) AS used FROM (
    SELECT provider_id, class_id, used FROM new UNION ALL SELECT provider_id, class_id, -used FROM old) d
  GROUP BY d.provider_id, d.class_id HAVING SUM(d.used) <> 0),
usage AS (
  INSERT INTO usages AS u (provider_id, class_id, used)
  SELECT provider_id, class_id, used FROM delta ORDER BY provider_id, class_id
  ON CONFLICT (provider_id, class_id) DO UPDATE SET used = u.used + excluded.used
  RETURNING 1),
del AS (
  DELETE FROM allocations a WHERE a.consumer_uuid = CAST(? AS TEXT)
  AND NOT EXISTS (SELECT 1 FROM new n WHERE n.provider_id = a.provider_id AND n.class_id = a.class_id)),
ins AS (
  INSERT INTO allocations (consumer_uuid, provider_id, class_id, used)
  SELECT CAST(? AS TEXT), provider_id, class_id, used FROM new
  ON CONFLICT (consumer_uuid, provider_id, class_id) DO UPDATE SET used = excluded.used
  RETURNING 1)
SELECT (SELECT COUNT(*) FROM usage), (SELECT COUNT(*) FROM ins)`
	// Every inventory has a usage row (0 until allocated), so that the row
	// exists to be locked before it is first changed.
	pgEnsureUsage = `INSERT INTO usages (provider_id, class_id, used)
SELECT p.id, c.id, 0 FROM resource_providers p, resource_classes c WHERE p.uuid = ? AND c.name = ?
ON CONFLICT (provider_id, class_id) DO NOTHING`
	pgDeleteAllocations = `DELETE FROM allocations WHERE consumer_uuid = ?`
)

// SQLite texts: compared parameters written +? (see above).
const (
	// SQLite: with the row ids of the provider and of each class (kept by
	// the transaction for its allocation writes: see txn.ids).
	sqliteProviderResources = providerResourceList + `, p.id, COALESCE(i.class_id, 0)` + providerResourceFrom + `WHERE p.uuid = +?`
	sqliteProviderByName    = providerCols + `WHERE p.name = +?`
	sqliteProviderID        = `SELECT id FROM resource_providers WHERE uuid = +?`
	sqliteProviderGen       = `SELECT generation FROM resource_providers WHERE uuid = +?`
	sqliteProviderDeps      = `SELECT (SELECT COUNT(*) FROM resource_providers WHERE parent_uuid = +?), (SELECT COUNT(*) FROM allocations WHERE provider_id = +?)`

	sqliteProviderExact = ` AND (+? = '' OR p.uuid = +?) AND (+? = '' OR p.name = +?) AND (+? = '' OR p.root_uuid = +?) AND (+? = '' OR p.parent_uuid = +?)`
	sqliteProviderSets  = ` AND NOT EXISTS (SELECT 1 FROM json_each(?) AS s WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT value FROM json_each(s.value))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_aggregates pa WHERE pa.provider_id = p.id AND pa.aggregate IN (SELECT value FROM json_each(?)))` +
		` AND NOT EXISTS (SELECT 1 FROM json_each(?) AS s WHERE NOT EXISTS (` +
		`SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT value FROM json_each(s.value))))` +
		` AND NOT EXISTS (SELECT 1 FROM provider_traits pt WHERE pt.provider_id = p.id AND pt.trait IN (SELECT value FROM json_each(?)))` +
		` ORDER BY p.uuid`
	sqliteProvidersAll      = providerCols + `WHERE true` + sqliteProviderExact + sqliteProviderSets
	sqliteProvidersByUUID   = providerCols + `WHERE p.uuid = +?` + sqliteProviderExact + sqliteProviderSets
	sqliteProvidersByName   = providerCols + `WHERE p.name = +?` + sqliteProviderExact + sqliteProviderSets
	sqliteProvidersByParent = providerCols + `WHERE p.parent_uuid = +?` + sqliteProviderExact + sqliteProviderSets
	sqliteProvidersByRoot   = providerCols + `WHERE p.root_uuid = +?` + sqliteProviderExact + sqliteProviderSets
	// Providers with one of a JSON array of traits, by the trait index (the
	// candidates planner's sharing providers: MISC_SHARES_VIA_AGGREGATE).
	// The CROSS JOIN looks each trait up in the index: "pt.trait IN (SELECT
	// value FROM json_each(?))" cost 20 µs more on 100,000 providers.
	sqliteProvidersByTrait = providerCols + `WHERE p.id IN (SELECT pt.provider_id FROM json_each(?) AS r CROSS JOIN provider_traits pt WHERE pt.trait = r.value)` + sqliteProviderExact + sqliteProviderSets

	sqliteResources = `SELECT c.name, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, i.created_at, i.updated_at, COALESCE(u.used, 0)
FROM resource_providers p
JOIN inventories i ON i.provider_id = p.id
JOIN resource_classes c ON c.id = i.class_id
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
WHERE p.uuid = +?`
	sqliteProviderTraits = `SELECT t.trait FROM resource_providers p JOIN provider_traits t ON t.provider_id = p.id
WHERE p.uuid = +? ORDER BY t.trait`
	sqliteProviderAggregates = `SELECT a.aggregate FROM resource_providers p JOIN provider_aggregates a ON a.provider_id = p.id
WHERE p.uuid = +? ORDER BY a.aggregate`
	sqliteProviderAllocations = `SELECT co.uuid, c.name, a.used FROM resource_providers p
JOIN allocations a ON a.provider_id = p.id
JOIN consumers co ON co.id = a.consumer_id
JOIN resource_classes c ON c.id = a.class_id
WHERE p.uuid = +?`
	sqliteResourceClass    = `SELECT name, created_at, updated_at FROM resource_classes WHERE name = +? AND id >= 10000`
	sqliteClassExists      = `SELECT COUNT(*) FROM resource_classes WHERE name = +?`
	sqliteResourceClassUse = `SELECT COUNT(*) FROM resource_classes c WHERE c.name = +? AND EXISTS (SELECT 1 FROM inventories i WHERE i.class_id = c.id)`
	sqliteTrait            = `SELECT name, created_at, updated_at FROM traits WHERE name = +?`
	// Consumers (schema version 2): allocations refer to consumers by id;
	// has_record = 0 marks the row of a consumer without a record that
	// still holds allocations (see migrations/sqlite/0002).
	sqliteConsumer       = `SELECT id, uuid, project_id, user_id, consumer_type, generation, created_at, updated_at FROM consumers WHERE uuid = +? AND has_record = 1`
	sqliteConsumerGen    = `SELECT generation FROM consumers WHERE uuid = +? AND has_record = 1`
	sqliteConsumerAllocs = `SELECT p.uuid, c.name, a.used FROM consumers co
JOIN allocations a ON a.consumer_id = co.id
JOIN resource_providers p ON p.id = a.provider_id
JOIN resource_classes c ON c.id = a.class_id
WHERE co.uuid = +?`
	sqliteConsumerUsages = `SELECT co.uuid, co.consumer_type, c.name, CAST(SUM(a.used) AS BIGINT) FROM consumers co
JOIN allocations a ON a.consumer_id = co.id
JOIN resource_classes c ON c.id = a.class_id
WHERE co.project_id = +? AND (+? = '' OR co.user_id = +?) AND co.has_record = 1
GROUP BY co.uuid, co.consumer_type, c.name ORDER BY co.uuid, c.name`
	// A new consumer's id, or no row if the uuid has a row already.
	// (Without RETURNING, which needs a temporary table: the new row's id
	// is SQLite's last_insert_rowid.)
	sqliteCreateConsumer = `INSERT INTO consumers (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	// Gives the row of a consumer without a record its record again.
	sqliteReviveConsumer = `UPDATE consumers SET project_id = ?, user_id = ?, consumer_type = ?, generation = ?, created_at = ?, updated_at = ?, has_record = 1
WHERE uuid = +? AND has_record = 0 RETURNING id`
	sqliteConsumerID     = `SELECT id FROM consumers WHERE uuid = +?`
	sqliteHiddenConsumer = `INSERT INTO consumers (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at, has_record)
VALUES (?, '', '', '', 0, 0, 0, 0) RETURNING id`
	sqliteDropHiddenConsumer = `DELETE FROM consumers WHERE id = +? AND has_record = 0`
	// Deletes a record whose consumer holds no allocations; else
	// sqliteHideConsumer keeps the row for them.
	sqliteDeleteConsumer = `DELETE FROM consumers WHERE uuid = +? AND has_record = 1
AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = consumers.id)`
	sqliteHideConsumer = `UPDATE consumers SET has_record = 0 WHERE uuid = +? AND has_record = 1`

	sqliteUpdateProvider            = `UPDATE resource_providers SET name = ?, parent_uuid = ?, root_uuid = ?, updated_at = ? WHERE uuid = +?`
	sqliteDeleteProviderInventories = `DELETE FROM inventories WHERE provider_id = +?`
	sqliteDeleteProviderUsages      = `DELETE FROM usages WHERE provider_id = +?`
	sqliteDeleteProviderTraits      = `DELETE FROM provider_traits WHERE provider_id = +?`
	sqliteDeleteProviderAggregates  = `DELETE FROM provider_aggregates WHERE provider_id = +?`
	sqliteDeleteProvider            = `DELETE FROM resource_providers WHERE id = +?`
	sqliteBumpGeneration            = `UPDATE resource_providers SET generation = generation + 1, version = version + 1 WHERE uuid = +? AND generation = +?`
	sqliteBumpGenerationByID        = `UPDATE resource_providers SET generation = generation + 1, version = version + 1 WHERE id = ? AND generation = +?`
	sqliteBumpVersions              = `UPDATE resource_providers SET version = version + 1 WHERE uuid IN (SELECT value FROM json_each(?))`
	sqliteBumpRootsVersion          = `UPDATE roots_version SET version = version + 1`
	// The providers of a consumer's allocation rows (by its row id).
	sqliteAllocationProviders = `SELECT DISTINCT p.uuid FROM allocations a CROSS JOIN resource_providers p ON p.id = a.provider_id
WHERE a.consumer_id = +?`
	sqlitePutInventory = `INSERT INTO inventories (provider_id, class_id, total, reserved, min_unit, max_unit, step_size, allocation_ratio, created_at, updated_at)
SELECT p.id, c.id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT)
FROM resource_providers p, resource_classes c WHERE p.uuid = +? AND c.name = +?
ON CONFLICT (provider_id, class_id) DO UPDATE SET total = excluded.total, reserved = excluded.reserved,
  min_unit = excluded.min_unit, max_unit = excluded.max_unit, step_size = excluded.step_size,
  allocation_ratio = excluded.allocation_ratio, created_at = excluded.created_at, updated_at = excluded.updated_at`
	sqliteDeleteInventory = `DELETE FROM inventories WHERE provider_id = (SELECT id FROM resource_providers WHERE uuid = +?)
AND class_id = (SELECT id FROM resource_classes WHERE name = +?)`
	sqliteRenameClass       = `UPDATE resource_classes SET name = ?, updated_at = ? WHERE name = +? AND id >= 10000`
	sqliteDeleteClassUsages = `DELETE FROM usages WHERE used = 0 AND class_id = (SELECT id FROM resource_classes WHERE name = +? AND id >= 10000)`
	sqliteDeleteClass       = `DELETE FROM resource_classes WHERE name = +? AND id >= 10000`
	sqliteDeleteTrait       = `DELETE FROM traits WHERE name = +?`
	sqliteUpdateConsumer    = `UPDATE consumers SET project_id = ?, user_id = ?, consumer_type = ?, generation = ?, updated_at = ?
WHERE uuid = +? AND generation = +? AND has_record = 1`
	sqliteDeleteAllocations = `DELETE FROM allocations WHERE consumer_id = +?`
	sqliteEnsureUsage       = `INSERT INTO usages (provider_id, class_id, used)
SELECT p.id, c.id, 0 FROM resource_providers p, resource_classes c WHERE p.uuid = +? AND c.name = +?
ON CONFLICT (provider_id, class_id) DO NOTHING`
	// One allocation row (SQLite: a statement per row is cheapest; the
	// triggers keep usages in step).
	sqliteInsertAllocation = `INSERT INTO allocations (consumer_id, provider_id, class_id, used)
SELECT ?, p.id, c.id, ? FROM resource_providers p, resource_classes c WHERE p.uuid = +? AND c.name = +?`
	// The same with the provider's and the class's row ids: rows from
	// VALUES, where the SELECT above makes SQLite (because of the
	// triggers) gather its rows in a temporary table first, which cost as
	// much as the insert itself.
	sqliteInsertAllocationByID = `INSERT INTO allocations (consumer_id, provider_id, class_id, used) VALUES (?, ?, ?, ?)`
)

// sqliteText holds every statement's SQLite text.
var sqliteText = [numStmts]string{
	qProviderForUpdate:       sqliteProviderResources, // unused on SQLite
	qProviderForUpdateNowait: sqliteProviderResources, // unused on SQLite
	qProviderResources:       sqliteProviderResources,
	qLockProviders:           sqliteProviderResources, // unused on SQLite
	qProviderByName:          sqliteProviderByName,
	qProviderID:              sqliteProviderID,
	qProviderGeneration:      sqliteProviderGen,
	qProviderDependents:      sqliteProviderDeps,
	qProvidersAll:            sqliteProvidersAll,
	qProvidersByUUID:         sqliteProvidersByUUID,
	qProvidersByName:         sqliteProvidersByName,
	qProvidersByParent:       sqliteProvidersByParent,
	qProvidersByRoot:         sqliteProvidersByRoot,
	qProvidersByTrait:        sqliteProvidersByTrait,
	qResources:               sqliteResources,
	qProviderTraits:          sqliteProviderTraits,
	qProviderAggregates:      sqliteProviderAggregates,
	qProviderAllocations:     sqliteProviderAllocations,
	qResourceClass:           sqliteResourceClass,
	qResourceClasses:         sqlResourceClasses,
	qClassExists:             sqliteClassExists,
	qResourceClassInUse:      sqliteResourceClassUse,
	qTrait:                   sqliteTrait,
	qTraits:                  sqlTraits,
	qAssociatedTraits:        sqlAssociatedTraits,
	qConsumer:                sqliteConsumer,
	qConsumerGeneration:      sqliteConsumerGen,
	qConsumerAllocations:     sqliteConsumerAllocs,
	qConsumerUsages:          sqliteConsumerUsages,
	qMaintainedUsages:        sqlMaintainedUsages,
	qRecountedUsages:         sqlRecountedUsages,

	qCreateProvider:            sqliteCreateProvider,
	qUpdateProvider:            sqliteUpdateProvider,
	qDeleteProviderInventories: sqliteDeleteProviderInventories,
	qDeleteProviderUsages:      sqliteDeleteProviderUsages,
	qDeleteProviderTraits:      sqliteDeleteProviderTraits,
	qDeleteProviderAggregates:  sqliteDeleteProviderAggregates,
	qDeleteProvider:            sqliteDeleteProvider,
	qBumpGeneration:            sqliteBumpGeneration,
	qBumpGenerationByID:        sqliteBumpGenerationByID,
	qBumpVersions:              sqliteBumpVersions,
	qBumpRootsVersion:          sqliteBumpRootsVersion,
	qAllocationProviders:       sqliteAllocationProviders,
	qPutInventory:              sqlitePutInventory,
	qDeleteInventory:           sqliteDeleteInventory,
	qCreateClass:               sqliteCreateClass,
	qRenameClass:               sqliteRenameClass,
	qDeleteClassUsages:         sqliteDeleteClassUsages,
	qDeleteClass:               sqliteDeleteClass,
	qCreateTrait:               sqlCreateTrait,
	qDeleteTrait:               sqliteDeleteTrait,
	qInsertProviderTrait:       sqlInsertProviderTrait,
	qInsertProviderAggregate:   sqlInsertProviderAggreg,
	qCreateConsumer:            sqliteCreateConsumer,
	qUpdateConsumer:            sqliteUpdateConsumer,
	qDeleteConsumer:            sqliteDeleteConsumer,
	qHideConsumer:              sqliteHideConsumer,
	qConsumerID:                sqliteConsumerID,
	qReviveConsumer:            sqliteReviveConsumer,
	qHiddenConsumer:            sqliteHiddenConsumer,
	qDropHiddenConsumer:        sqliteDropHiddenConsumer,
	qDeleteAllocations:         sqliteDeleteAllocations,
	qReplaceAllocations:        sqliteDeleteAllocations, // unused on SQLite
	qEnsureUsage:               sqliteEnsureUsage,
	qInsertAllocation:          sqliteInsertAllocation,
	qInsertAllocationByID:      sqliteInsertAllocationByID,

	qStandardClasses: sqlStandardClasses,
	qSeedClasses:     sqliteSeedClasses,

	qBeginWrite: sqliteBeginWrite,
	qBeginRead:  sqliteBeginRead,
	qCommit:     sqlCommit,
	qRollback:   sqlRollback,

	qCandidateRootsAll:       sqliteCandRootsAll,
	qCandidateRoots:          sqliteCandRoots,
	qCandidateRootsTraits:    sqliteCandRootsTraits,
	qCandidateTrees:          sqliteCandTrees,
	qCandidateTreeRange:      sqliteCandTreeRange,
	qCandidateTreeProviders:  sqliteCandTreeProviders,
	qCandidateTreeResources:  sqliteCandTreeResources,
	qCandidateTreeTraits:     sqliteCandTreeTraits,
	qCandidateTreeAggregates: sqliteCandTreeAggregates,
	qCandidateClasses:        sqlCandClasses,
	qCandidateRootsVersion:   sqliteCandRootsVersion,
	qCapacityAll:             sqliteCapAll,
	qCapacityByUUID:          sqliteCapByUUID,
	qCapacityByName:          sqliteCapByName,
	qCapacityByParent:        sqliteCapByParent,
	qCapacityByRoot:          sqliteCapByRoot,
}

// postgresText holds every statement's PostgreSQL text (with '?'
// placeholders, rebound by init).
var postgresText = [numStmts]string{
	qProviderForUpdate:       pgLockProvider,
	qProviderForUpdateNowait: pgLockProviderNowait,
	qProviderResources:       pgProviderResources,
	qLockProviders:           postgresLockProviders,
	qProviderByName:          pgProviderByName,
	qProviderID:              pgProviderID,
	qProviderGeneration:      pgProviderGen,
	qProviderDependents:      pgProviderDeps,
	qProvidersAll:            pgProvidersAll,
	qProvidersByUUID:         pgProvidersByUUID,
	qProvidersByName:         pgProvidersByName,
	qProvidersByParent:       pgProvidersByParent,
	qProvidersByRoot:         pgProvidersByRoot,
	qProvidersByTrait:        pgProvidersByTrait,
	qResources:               pgResources,
	qProviderTraits:          pgProviderTraits,
	qProviderAggregates:      pgProviderAggregates,
	qProviderAllocations:     pgProviderAllocations,
	qResourceClass:           pgResourceClass,
	qResourceClasses:         sqlResourceClasses,
	qClassExists:             pgClassExists,
	qResourceClassInUse:      pgResourceClassUse,
	qTrait:                   pgTrait,
	qTraits:                  sqlTraits,
	qAssociatedTraits:        sqlAssociatedTraits,
	qConsumer:                pgConsumer,
	qConsumerGeneration:      pgConsumerGen,
	qConsumerAllocations:     pgConsumerAllocs,
	qConsumerUsages:          pgConsumerUsages,
	qMaintainedUsages:        sqlMaintainedUsages,
	qRecountedUsages:         sqlRecountedUsages,

	qCreateProvider:            sqlCreateProvider,
	qUpdateProvider:            pgUpdateProvider,
	qDeleteProviderInventories: pgDeleteProviderInventories,
	qDeleteProviderUsages:      pgDeleteProviderUsages,
	qDeleteProviderTraits:      pgDeleteProviderTraits,
	qDeleteProviderAggregates:  pgDeleteProviderAggregates,
	qDeleteProvider:            pgDeleteProvider,
	qBumpGeneration:            pgBumpGeneration,
	qBumpGenerationByID:        pgBumpGeneration,    // unused on PostgreSQL
	qBumpVersions:              pgDeleteAllocations, // unused on PostgreSQL
	qBumpRootsVersion:          pgDeleteAllocations, // unused on PostgreSQL
	qAllocationProviders:       pgDeleteAllocations, // unused on PostgreSQL
	qPutInventory:              pgPutInventory,
	qDeleteInventory:           pgDeleteInventory,
	qCreateClass:               postgresCreateClass,
	qRenameClass:               pgRenameClass,
	qDeleteClassUsages:         pgDeleteClassUsages,
	qDeleteClass:               pgDeleteClass,
	qCreateTrait:               sqlCreateTrait,
	qDeleteTrait:               pgDeleteTrait,
	qInsertProviderTrait:       sqlInsertProviderTrait,
	qInsertProviderAggregate:   sqlInsertProviderAggreg,
	qCreateConsumer:            sqlCreateConsumer,
	qUpdateConsumer:            pgUpdateConsumer,
	qDeleteConsumer:            pgDeleteConsumer,
	qHideConsumer:              pgDeleteConsumer,    // unused on PostgreSQL
	qConsumerID:                pgDeleteConsumer,    // unused on PostgreSQL
	qReviveConsumer:            pgDeleteConsumer,    // unused on PostgreSQL
	qHiddenConsumer:            pgDeleteConsumer,    // unused on PostgreSQL
	qDropHiddenConsumer:        pgDeleteConsumer,    // unused on PostgreSQL
	qDeleteAllocations:         pgDeleteAllocations, // unused on PostgreSQL
	qReplaceAllocations:        pgReplaceAllocations,
	qEnsureUsage:               pgEnsureUsage,
	qInsertAllocation:          pgDeleteAllocations, // unused on PostgreSQL
	qInsertAllocationByID:      pgDeleteAllocations, // unused on PostgreSQL

	qStandardClasses: sqlStandardClasses,
	qSeedClasses:     pgSeedClasses,

	qBeginWrite: pgBeginWrite,
	qBeginRead:  pgBeginRead,
	qCommit:     sqlCommit,
	qRollback:   sqlRollback,

	qCandidateRootsAll:       pgCandRootsAll,
	qCandidateRoots:          pgCandRoots,
	qCandidateRootsTraits:    pgCandRootsTraits,
	qCandidateTrees:          pgCandTrees,
	qCandidateTreeRange:      sqlCandClasses, // unused on PostgreSQL
	qCandidateTreeProviders:  pgCandTreeProviders,
	qCandidateTreeResources:  pgCandTreeResources,
	qCandidateTreeTraits:     pgCandTreeTraits,
	qCandidateTreeAggregates: pgCandTreeAggregates,
	qCandidateClasses:        sqlCandClasses,
	qCandidateRootsVersion:   sqlCandClasses, // unused on PostgreSQL
	qCapacityAll:             pgCapAll,
	qCapacityByUUID:          pgCapByUUID,
	qCapacityByName:          pgCapByName,
	qCapacityByParent:        pgCapByParent,
	qCapacityByRoot:          pgCapByRoot,
}

func init() {
	for i := range postgresText {
		postgresText[i] = sqlx.Rebind(sqlx.DOLLAR, postgresText[i])
	}
}
