package placement

import (
	"cmp"
	"context"
	"strings"
)

// AuditReport lists the differences between the usage a store maintains and
// a recount of its allocation rows. An empty report means the store is
// consistent.
type AuditReport struct {
	// Mismatches are (provider, class) pairs whose maintained usage differs
	// from the recount.
	Mismatches []UsageMismatch
	// Orphans are allocation totals on a provider and class with no inventory.
	Orphans []UsageCount
}

// UsageMismatch is one maintained usage that differs from the recount.
type UsageMismatch struct {
	ProviderUUID  string
	ResourceClass string
	Maintained    int64
	Recounted     int64
}

// OK reports whether the audit found nothing wrong.
func (r AuditReport) OK() bool { return len(r.Mismatches) == 0 && len(r.Orphans) == 0 }

// Audit recounts usage from the allocation rows, in one snapshot, and
// reports every maintained usage that differs and every allocation without a
// matching inventory. It may scan every allocation; run it from maintenance
// jobs and tests, not on hot paths. It requires the permission to list
// allocations of providers.
func (e *Engine) Audit(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	err := e.view(ctx, ActionProviderAllocations, Target{}, func(tx ReadTx) error {
		kept, err := tx.MaintainedUsages()
		if err != nil {
			return err
		}
		counted, err := tx.RecountedUsages()
		if err != nil {
			return err
		}
		i, j := 0, 0
		for i < len(kept) || j < len(counted) {
			var c int
			switch {
			case i == len(kept):
				c = 1
			case j == len(counted):
				c = -1
			default:
				c = cmp.Or(strings.Compare(kept[i].ProviderUUID, counted[j].ProviderUUID), strings.Compare(kept[i].ResourceClass, counted[j].ResourceClass))
			}
			switch {
			case c < 0: // maintained, no allocation rows
				if kept[i].Used != 0 {
					rep.Mismatches = append(rep.Mismatches, UsageMismatch{kept[i].ProviderUUID, kept[i].ResourceClass, kept[i].Used, 0})
				}
				i++
			case c > 0: // allocation rows, nothing maintained
				if !counted[j].HasInventory {
					rep.Orphans = append(rep.Orphans, counted[j])
				} else {
					rep.Mismatches = append(rep.Mismatches, UsageMismatch{counted[j].ProviderUUID, counted[j].ResourceClass, 0, counted[j].Used})
				}
				j++
			default:
				if kept[i].Used != counted[j].Used {
					rep.Mismatches = append(rep.Mismatches, UsageMismatch{kept[i].ProviderUUID, kept[i].ResourceClass, kept[i].Used, counted[j].Used})
				}
				if !counted[j].HasInventory {
					rep.Orphans = append(rep.Orphans, counted[j])
				}
				i++
				j++
			}
		}
		return nil
	})
	return rep, err
}
