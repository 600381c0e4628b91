package placement

import (
	"context"
)

// ProviderUsages is a provider's usage per class and its generation.
type ProviderUsages struct {
	Generation int64
	// Usages has an entry for every class the provider has inventory of (0
	// when nothing is allocated), as in Placement.
	Usages map[string]int64
}

// ProviderUsages returns a provider's usages.
func (e *Engine) ProviderUsages(ctx context.Context, provider string) (ProviderUsages, error) {
	var out ProviderUsages
	err := e.view(ctx, ActionProviderUsages, Target{}, func(tx ReadTx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		res, err := tx.Resources(provider)
		if err != nil {
			return err
		}
		out = ProviderUsages{Generation: p.Generation, Usages: make(map[string]int64, len(res))}
		for _, r := range res {
			out.Usages[r.ResourceClass] = r.Used
		}
		return nil
	})
	return out, err
}

// The consumer-type selectors of UsageQuery (Placement's reserved lower-case
// values; real type names are upper case).
const (
	// AllConsumerTypes puts every consumer in one group named "all".
	AllConsumerTypes = "all"
	// UnknownConsumerType selects (and names the group of) consumers that
	// have no type.
	UnknownConsumerType = "unknown"
)

// UsageQuery selects the consumers whose usage Usages sums.
type UsageQuery struct {
	// ProjectID is required.
	ProjectID string
	// UserID optionally narrows to one user's consumers.
	UserID string
	// ConsumerType groups and filters by type: "" gives one group per type
	// present (consumers without one in "unknown"); AllConsumerTypes one
	// group "all" with everything; UnknownConsumerType only consumers
	// without a type; any other value only consumers of that type.
	ConsumerType string
}

// UsageGroup is the usage of a group of consumers.
type UsageGroup struct {
	Usages map[string]int64
	// ConsumerCount is the number of distinct consumers in the group.
	ConsumerCount int
}

// Usages sums the allocations of a project's (and optionally a user's)
// consumers per class, grouped by consumer type (Placement's GET /usages;
// before microversion 1.38 use the AllConsumerTypes group). The policy
// target is the queried project, so a project reader may read its own.
func (e *Engine) Usages(ctx context.Context, q UsageQuery) (map[string]UsageGroup, error) {
	if err := e.Authorize(ctx, ActionUsages, Target{ProjectID: q.ProjectID, UserID: q.UserID}); err != nil {
		return nil, err
	}
	if err := validateExternalID("project_id", q.ProjectID); err != nil {
		return nil, err
	}
	if q.UserID != "" {
		if err := validateExternalID("user_id", q.UserID); err != nil {
			return nil, err
		}
	}
	out := map[string]UsageGroup{}
	err := e.store.View(ctx, func(tx ReadTx) error {
		rows, err := tx.ConsumerUsages(q.ProjectID, q.UserID)
		if err != nil {
			return err
		}
		counted := map[[2]string]bool{}
		for _, r := range rows {
			group := r.ConsumerType
			if group == "" {
				group = UnknownConsumerType
			}
			switch q.ConsumerType {
			case "":
			case AllConsumerTypes:
				group = AllConsumerTypes
			default:
				if group != q.ConsumerType {
					continue
				}
			}
			g, ok := out[group]
			if !ok {
				g.Usages = map[string]int64{}
			}
			g.Usages[r.ResourceClass] = satAdd(g.Usages[r.ResourceClass], r.Used)
			if key := [2]string{group, r.ConsumerUUID}; !counted[key] {
				counted[key] = true
				g.ConsumerCount++
			}
			out[group] = g
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
