package sqlstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
)

// The multi-process tests re-execute the test binary: a child (selected by
// childEnv) opens the same database, claims on a few hot providers through
// the Engine and appends every acknowledged write to its log file before
// going on ("claim <consumer> <provider> <vcpu> <mem>" or "delete
// <consumer>"). The parent checks the database against the logs.
const (
	childEnv     = "SQLSTORE_TEST_CHILD"     // "claim"
	childDialect = "SQLSTORE_TEST_DIALECT"   // "sqlite" or "postgres"
	childTarget  = "SQLSTORE_TEST_TARGET"    // file path or DSN
	childLog     = "SQLSTORE_TEST_LOG"       // log file
	childFor     = "SQLSTORE_TEST_DURATION"  // how long to run
	childHot     = "SQLSTORE_TEST_PROVIDERS" // comma-separated uuids
)

const (
	hotVCPU = 64
	hotMem  = 64 * 1024
)

// TestMultiProcessChild is the child's body; it does nothing unless
// started by a multi-process test.
func TestMultiProcessChild(t *testing.T) {
	if os.Getenv(childEnv) != "claim" {
		t.Skip("helper process for the multi-process tests")
	}
	ctx := context.Background()
	var s *sqlstore.Store
	var err error
	if os.Getenv(childDialect) == "postgres" {
		s, err = sqlstore.OpenPostgres(ctx, os.Getenv(childTarget), sqlstore.WithMaxConns(2))
	} else {
		s, err = sqlstore.OpenSQLite(ctx, os.Getenv(childTarget))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := placementtest.NewEngine(t, s)
	logf, err := os.OpenFile(os.Getenv(childLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d, _ := time.ParseDuration(os.Getenv(childFor))
	hot := strings.Split(os.Getenv(childHot), ",")
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	var live []string
	for end := time.Now().Add(d); time.Now().Before(end); {
		if len(live) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(live))
			c := live[i]
			fmt.Fprintf(logf, "deleting %s\n", c) // an unacknowledged delete may or may not have happened
			if err := e.DeleteAllocations(ctx, c); err != nil {
				t.Fatalf("delete %s: %v", c, err)
			}
			fmt.Fprintf(logf, "delete %s\n", c)
			live = append(live[:i], live[i+1:]...)
			continue
		}
		c, p := placement.NewUUID(), hot[rng.IntN(len(hot))]
		vcpu, mem := int64(1+rng.IntN(8)), int64(1024*(1+rng.IntN(8)))
		err := e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: c, Generation: placement.ExpectNewConsumer(),
			ProjectID: "mp", UserID: "mp", Allocations: []placement.Allocation{
				{ProviderUUID: p, ResourceClass: placement.ClassVCPU, Used: vcpu},
				{ProviderUUID: p, ResourceClass: placement.ClassMemoryMB, Used: mem}}})
		switch {
		case err == nil:
			fmt.Fprintf(logf, "claim %s %s %d %d\n", c, p, vcpu, mem)
			live = append(live, c)
		case errors.Is(err, placement.ErrCapacityExceeded):
		default:
			t.Fatalf("claim: %v", err)
		}
	}
}

// mpClaim is an acknowledged claim.
type mpClaim struct {
	provider  string
	vcpu, mem int64
	// deleting: a delete was started but not acknowledged (the process was
	// killed): the claim may be present (whole) or absent.
	deleting bool
}

// runChildren starts n children on the database, kills them with SIGKILL
// after killAfter (0: let them finish) and returns the acknowledged live
// claims, and whether every child exited cleanly.
func runChildren(t *testing.T, n int, dialect, target string, hot []string, d, killAfter time.Duration) map[string]mpClaim {
	t.Helper()
	dir := t.TempDir()
	var cmds []*exec.Cmd
	var logs []string
	for i := range n {
		logs = append(logs, filepath.Join(dir, fmt.Sprintf("child-%d.log", i)))
		cmd := exec.Command(os.Args[0], "-test.run=^TestMultiProcessChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=claim", childDialect+"="+dialect, childTarget+"="+target,
			childLog+"="+logs[i], childFor+"="+d.String(), childHot+"="+strings.Join(hot, ","))
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	if killAfter > 0 {
		// Let every child start writing, then kill them mid-stream.
		for wait := time.Now().Add(20 * time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
			started := 0
			for _, name := range logs {
				if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
					started++
				}
			}
			if started == len(logs) {
				break
			}
		}
		time.Sleep(killAfter)
		for i, c := range cmds {
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			_ = c.Process.Signal(syscall.SIGKILL)
			_ = i
		}
	}
	for i, c := range cmds {
		err := c.Wait()
		if killAfter == 0 && err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}
	claims := map[string]mpClaim{}
	total := 0
	for _, name := range logs {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) && killAfter > 0 {
			continue // killed before it wrote anything
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) == 5 && fields[0] == "claim":
				v, _ := strconv.ParseInt(fields[3], 10, 64)
				m, _ := strconv.ParseInt(fields[4], 10, 64)
				claims[fields[1]] = mpClaim{provider: fields[2], vcpu: v, mem: m}
				total++
			case len(fields) == 2 && fields[0] == "deleting":
				if c, ok := claims[fields[1]]; ok {
					c.deleting = true
					claims[fields[1]] = c
				}
			case len(fields) == 2 && fields[0] == "delete":
				delete(claims, fields[1])
			default:
				// A line cut by SIGKILL cannot happen (one write per line),
				// but tolerate an empty tail.
				if sc.Text() != "" {
					t.Errorf("%s: bad line %q", name, sc.Text())
				}
			}
		}
		f.Close()
	}
	t.Logf("%d processes: %d claims acknowledged, %d live", n, total, len(claims))
	if total == 0 {
		t.Fatal("no claim was acknowledged")
	}
	return claims
}

// checkClaims checks the store against the acknowledged claims: no
// over-commit, usage equal to a recount, every live acknowledged claim
// present exactly, and (exact) nothing else; with exact false, other
// consumers may exist (claims committed but not acknowledged before a
// kill) but must be whole.
func checkClaims(t *testing.T, s *sqlstore.Store, hot []string, claims map[string]mpClaim, exact bool) {
	t.Helper()
	ctx := context.Background()
	e := placementtest.NewEngine(t, s)
	rep, err := e.Audit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
	st := placementtest.Dump(t, s)
	for _, p := range hot {
		for _, r := range st.Resources[p] {
			if float64(r.Used) > r.Capacity() {
				t.Errorf("over-commit on %s %s: used %d, capacity %v", p, r.ResourceClass, r.Used, r.Capacity())
			}
		}
	}
	perConsumer := map[string][]placement.AllocationRecord{}
	for _, a := range st.Allocations {
		perConsumer[a.ConsumerUUID] = append(perConsumer[a.ConsumerUUID], a)
	}
	consumers := map[string]bool{}
	for _, c := range st.Consumers {
		consumers[c.UUID] = true
		if len(perConsumer[c.UUID]) == 0 {
			t.Errorf("consumer %s has a record but no allocations", c.UUID)
		}
	}
	for c, allocs := range perConsumer {
		if !consumers[c] {
			t.Errorf("allocations of %s without a consumer record", c)
		}
		if len(allocs) != 2 {
			t.Errorf("consumer %s half-written: %+v", c, allocs)
		}
		want, ok := claims[c]
		if !ok {
			if exact {
				t.Errorf("consumer %s was never acknowledged", c)
			}
			continue
		}
		got := map[string]int64{}
		for _, a := range allocs {
			if a.ProviderUUID != want.provider {
				t.Errorf("consumer %s on %s, acknowledged on %s", c, a.ProviderUUID, want.provider)
			}
			got[a.ResourceClass] = a.Used
		}
		if got[placement.ClassVCPU] != want.vcpu || got[placement.ClassMemoryMB] != want.mem {
			t.Errorf("consumer %s holds %v, acknowledged %+v", c, got, want)
		}
	}
	for c, want := range claims {
		if _, ok := perConsumer[c]; !ok && !want.deleting {
			t.Errorf("acknowledged claim %s lost", c)
		}
	}
}

// setupHot creates the hot providers (VCPU 64, MEMORY_MB 64 GiB at ratio 1).
func setupHot(t *testing.T, s *sqlstore.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	e := placementtest.NewEngine(t, s)
	var hot []string
	for i := range n {
		p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("hot-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{
			placement.NewInventory(placement.ClassVCPU, hotVCPU), placement.NewInventory(placement.ClassMemoryMB, hotMem)})
		if err != nil {
			t.Fatal(err)
		}
		hot = append(hot, p.UUID)
	}
	return hot
}

func mpDuration() time.Duration {
	if placementtest.Stress() {
		return 20 * time.Second
	}
	return 3 * time.Second
}

// TestMultiProcess: 8 processes claim on 3 hot providers of one database.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test skipped in -short mode")
	}
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			s, target := openShared(t, d)
			hot := setupHot(t, s, 3)
			claims := runChildren(t, 8, d, target, hot, mpDuration(), 0)
			checkClaims(t, s, hot, claims, true)
		})
	}
}

// TestKill: writer processes are killed (SIGKILL) mid-stream; the
// reopened database keeps every acknowledged claim and its invariants.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			s, target := openShared(t, d)
			hot := setupHot(t, s, 3)
			s.Close()
			rounds := 2
			if placementtest.Stress() {
				rounds = 6
			}
			for round := range rounds {
				claims := runChildren(t, 8, d, target, hot, time.Minute, time.Duration(100+rand.IntN(700))*time.Millisecond)
				// Reopen (recovery of the WAL on SQLite) and check.
				s2, err := reopenShared(d, target)
				if err != nil {
					t.Fatalf("round %d: reopening after the kill: %v", round, err)
				}
				checkClaims(t, s2, hot, claims, false)
				// Free the providers: the claims of killed children stay
				// live and would fill them, leaving the next round's
				// children nothing to claim.
				freeProviders(t, s2, hot)
				s2.Close()
			}
		})
	}
}

// freeProviders deletes the allocations of every consumer on the providers.
func freeProviders(t *testing.T, s *sqlstore.Store, providers []string) {
	t.Helper()
	ctx := context.Background()
	e := placementtest.NewEngine(t, s)
	for _, p := range providers {
		set, err := e.ProviderAllocations(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for c := range set.Consumers {
			if err := e.DeleteAllocations(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// openShared opens a store on a new database for several processes.
func openShared(t *testing.T, dialect string) (*sqlstore.Store, string) {
	t.Helper()
	var target string
	if dialect == "postgres" {
		target = freshSchema(t)
	} else {
		requireSQLite(t)
		target = filepath.Join(t.TempDir(), "shared.db")
	}
	s, err := reopenShared(dialect, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, target
}

func reopenShared(dialect, target string) (*sqlstore.Store, error) {
	if dialect == "postgres" {
		return sqlstore.OpenPostgres(context.Background(), target)
	}
	return sqlstore.OpenSQLite(context.Background(), target)
}
