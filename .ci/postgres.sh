# Sourced by .ci/run: starts the machine's PostgreSQL 15 (installed, not
# running), creates a role and a database for the tests, and exports
# PLACEMENT_TEST_POSTGRES_DSN. Without PostgreSQL it says so and the
# PostgreSQL tests skip.
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	echo "pg_ctlcluster not found: PostgreSQL tests will be skipped"
	return 0
fi
pg_ctlcluster 15 main start 2>/dev/null || pg_ctlcluster 15 main status >/dev/null
for _ in $(seq 1 30); do
	su postgres -c "pg_isready -q" && break
	sleep 1
done
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='placement'\"" | grep -q 1 ||
	su postgres -c "psql -q -c \"CREATE ROLE placement LOGIN SUPERUSER PASSWORD 'placement'\""
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='placement_test'\"" | grep -q 1 ||
	su postgres -c "createdb -O placement placement_test"
export PLACEMENT_TEST_POSTGRES_DSN="postgres://placement:placement@127.0.0.1:5432/placement_test?sslmode=disable"
echo "PLACEMENT_TEST_POSTGRES_DSN=$PLACEMENT_TEST_POSTGRES_DSN"
