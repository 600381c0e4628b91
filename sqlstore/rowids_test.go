package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// TestRowIDsFollowWrites: a transaction that read a provider (SQLite keeps
// its row ids for the allocation writes that follow) and then deletes and
// re-creates it, or renames a class, writes allocations to what the uuids
// and names mean at that moment.
func TestRowIDsFollowWrites(t *testing.T) {
	for name, open := range map[string]func(testing.TB, ...sqlstore.Option) *sqlstore.Store{"sqlite": newSQLite, "postgres": newPostgres} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			p := placement.NewUUID()
			rp := placement.ResourceProvider{UUID: p, Name: "p", RootUUID: p}
			err := s.Update(ctx, func(tx placement.Tx) error {
				if err := tx.CreateResourceClass(placement.ResourceClass{Name: "CUSTOM_A"}); err != nil {
					return err
				}
				if err := tx.CreateProvider(rp); err != nil {
					return err
				}
				// Another provider after p: p's re-created row gets a new id.
				q := placement.NewUUID()
				if err := tx.CreateProvider(placement.ResourceProvider{UUID: q, Name: "q", RootUUID: q}); err != nil {
					return err
				}
				for _, c := range []string{placement.ClassVCPU, "CUSTOM_A"} {
					if err := tx.PutInventory(p, placement.NewInventory(c, 100)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Delete and re-create the provider after reading it.
			err = s.Update(ctx, func(tx placement.Tx) error {
				if _, err := tx.Provider(p); err != nil {
					return err
				}
				if err := tx.DeleteProvider(p); err != nil {
					return err
				}
				if err := tx.CreateProvider(rp); err != nil {
					return err
				}
				if err := tx.PutInventory(p, placement.NewInventory(placement.ClassVCPU, 100)); err != nil {
					return err
				}
				if err := tx.CreateConsumer(placement.Consumer{UUID: "c1", ProjectID: "p", UserID: "u"}); err != nil {
					return err
				}
				if err := tx.ReplaceAllocations("c1", []placement.AllocationRecord{{ConsumerUUID: "c1", ProviderUUID: p, ResourceClass: placement.ClassVCPU, Used: 5}}); err != nil {
					return err
				}
				return tx.BumpProviderGeneration(p, 0)
			})
			if err != nil {
				t.Fatalf("re-created provider: %v", err)
			}
			err = s.View(ctx, func(tx placement.ReadTx) error {
				got, err := tx.ProviderAllocations(p)
				if err != nil {
					return err
				}
				if len(got) != 1 || got[0].Used != 5 {
					t.Errorf("allocations of the re-created provider: %v", got)
				}
				rp, err := tx.Provider(p)
				if err != nil {
					return err
				}
				if rp.Generation != 1 {
					t.Errorf("generation %d, want 1", rp.Generation)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Rename a class after reading the provider: the old name no
			// longer names any class.
			err = s.Update(ctx, func(tx placement.Tx) error {
				if err := tx.PutInventory(p, placement.NewInventory("CUSTOM_A", 100)); err != nil {
					return err
				}
				if _, err := tx.Provider(p); err != nil {
					return err
				}
				if err := tx.RenameResourceClass("CUSTOM_A", placement.ResourceClass{Name: "CUSTOM_B"}); err != nil {
					return err
				}
				return tx.ReplaceAllocations("c1", []placement.AllocationRecord{{ConsumerUUID: "c1", ProviderUUID: p, ResourceClass: "CUSTOM_A", Used: 1}})
			})
			if err == nil || errors.Is(err, sqlstore.ErrTxClosed) {
				t.Fatalf("allocation of a renamed class's old name: %v, want an error", err)
			}
		})
	}
}
