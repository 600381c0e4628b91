package placementhttp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/goplacement/placement"
)

// runCandidates answers a parsed and validated candidates request with the
// Engine's planner.
func (h *handler) runCandidates(rq *request, req *acRequest) error {
	cr := placement.CandidateRequest{
		Limit:                req.limit,
		RootRequired:         req.rootRequired,
		RootForbidden:        req.rootForbidden,
		SameSubtree:          req.sameSubtrees,
		ExcludeNested:        !rq.version.atLeast(29),
		RequestedClassesOnly: !rq.version.atLeast(27),
	}
	if req.groupPolicy == "isolate" {
		cr.GroupPolicy = placement.GroupPolicyIsolate
	}
	for _, g := range req.groups {
		rg := placement.RequestGroup{
			Suffix:      g.suffix,
			Required:    g.required,
			Forbidden:   g.forbidden,
			MemberOf:    g.memberOf,
			NotMemberOf: g.forbiddenAggs,
			InTree:      g.inTree,
		}
		for _, r := range g.resources {
			rg.Resources = append(rg.Resources, placement.ResourceAmount{Class: r.class, Amount: r.amount})
		}
		cr.Groups = append(cr.Groups, rg)
	}
	cands, err := h.eng.AllocationCandidates(rq.ctx, cr)
	if err != nil {
		if nf, ok := isNotFound(err, "resource class"); ok {
			return badRequest(fmt.Sprintf("Invalid resource class in resources parameter: No such resource class %s.", nf.ID))
		}
		if nf, ok := isNotFound(err, "trait"); ok {
			return badRequest(fmt.Sprintf("No such trait(s): %s.", nf.ID))
		}
		var ve *placement.ValidationError
		if errors.As(err, &ve) {
			return badRequest("Invalid query string parameters: " + ve.Error())
		}
		return rq.common(err, "")
	}

	reqs := make([]any, 0, len(cands.AllocationRequests))
	for _, ar := range cands.AllocationRequests {
		if rq.version.atLeast(12) {
			allocs := obj{}
			for _, a := range ar.Allocations {
				if n := len(allocs); n > 0 && allocs[n-1].k == a.ProviderUUID {
					res := allocs[n-1].v.(obj)
					res[0].v = append(res[0].v.(obj), kv{a.ResourceClass, a.Used})
					continue
				}
				allocs = append(allocs, kv{a.ProviderUUID, obj{{"resources", obj{{a.ResourceClass, a.Used}}}}})
			}
			o := obj{{"allocations", allocs}}
			if rq.version.atLeast(34) {
				m := obj{}
				for _, gm := range ar.Mappings {
					m = append(m, kv{gm.Suffix, gm.Providers})
				}
				o = append(o, kv{"mappings", m})
			}
			reqs = append(reqs, o)
			continue
		}
		var list []obj
		for _, a := range ar.Allocations {
			if n := len(list); n > 0 && list[n-1][0].v.(obj)[0].v == a.ProviderUUID {
				res := list[n-1][1].v.(obj)
				list[n-1][1].v = append(res, kv{a.ResourceClass, a.Used})
				continue
			}
			list = append(list, obj{{"resource_provider", obj{{"uuid", a.ProviderUUID}}},
				{"resources", obj{{a.ResourceClass, a.Used}}}})
		}
		if list == nil {
			list = []obj{}
		}
		reqs = append(reqs, obj{{"allocations", list}})
	}
	sums := obj{}
	for _, s := range cands.ProviderSummaries {
		res := obj{}
		for _, r := range s.Resources {
			res = append(res, kv{r.Class, obj{{"capacity", r.Capacity}, {"used", r.Used}}})
		}
		o := obj{{"resources", res}}
		if rq.version.atLeast(17) {
			traits := s.Traits
			if traits == nil {
				traits = []string{}
			}
			o = append(o, kv{"traits", traits})
		}
		if rq.version.atLeast(29) {
			o = append(o, kv{"parent_provider_uuid", nullable(s.ParentUUID)}, kv{"root_provider_uuid", s.RootUUID})
		}
		sums = append(sums, kv{s.UUID, o})
	}
	rq.cache(h.now())
	rq.writeJSON(http.StatusOK, obj{{"allocation_requests", reqs}, {"provider_summaries", sums}})
	return nil
}
