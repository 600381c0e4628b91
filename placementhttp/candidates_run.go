package placementhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/goplacement/placement"
)

// Answers are built in pooled buffers (as response bodies are encoded into
// pooled byte slices): an answer of thousands of candidates is megabytes of
// pointers, which cost the garbage collector as much again as building them.
var candBuffers = sync.Pool{New: func() any { return new(placement.CandidateBuffer) }}

// maxPooledCandidates bounds the answers whose buffer is kept for reuse (in
// requests plus summaries: about 400 bytes each).
const maxPooledCandidates = 40000

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
	cb := candBuffers.Get().(*placement.CandidateBuffer)
	cands, err := h.eng.AllocationCandidatesInto(rq.ctx, cr, cb)
	// The answer lives in cb until the body is encoded.
	defer func() {
		if len(cands.AllocationRequests)+len(cands.ProviderSummaries) <= maxPooledCandidates {
			candBuffers.Put(cb)
		}
	}()
	if err != nil {
		if class, ok := unknownClass(err); ok {
			return badRequest(fmt.Sprintf("Invalid resource class in resources parameter: No such resource class %s.", class))
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

	bp := getBody()
	*bp = appendCandidates(*bp, &cands, rq.version)
	rq.cache(h.now())
	rq.successHeaders()
	rq.w.Header().Set("Content-Type", "application/json")
	rq.writeRaw(http.StatusOK, *bp)
	putBody(bp)
	return nil
}

// appendCandidates appends the response body (it can hold thousands of
// candidates: no intermediate tree, no reflection).
func appendCandidates(b []byte, c *placement.Candidates, v version) []byte {
	if need := 256 + 200*len(c.AllocationRequests) + 300*len(c.ProviderSummaries); cap(b)-len(b) < need {
		b = append(make([]byte, 0, len(b)+need), b...)
	}
	b = append(b, `{"allocation_requests": [`...)
	for i := range c.AllocationRequests {
		ar := &c.AllocationRequests[i]
		if i > 0 {
			b = append(b, ", "...)
		}
		if v.atLeast(12) {
			b = append(b, `{"allocations": {`...)
			prev := ""
			for j := range ar.Allocations {
				a := &ar.Allocations[j]
				if j == 0 || a.ProviderUUID != prev {
					if j > 0 {
						b = append(b, "}}, "...)
					}
					b = appendString(b, a.ProviderUUID)
					b = append(b, `: {"resources": {`...)
				} else {
					b = append(b, ", "...)
				}
				prev = a.ProviderUUID
				b = appendString(b, a.ResourceClass)
				b = append(b, ": "...)
				b = strconv.AppendInt(b, a.Used, 10)
			}
			if len(ar.Allocations) > 0 {
				b = append(b, "}}"...)
			}
			b = append(b, '}')
			if v.atLeast(34) {
				b = append(b, `, "mappings": {`...)
				for j, m := range ar.Mappings {
					if j > 0 {
						b = append(b, ", "...)
					}
					b = appendString(b, m.Suffix)
					b = append(b, ": "...)
					b = appendStrings(b, m.Providers)
				}
				b = append(b, '}')
			}
			b = append(b, '}')
			continue
		}
		b = append(b, `{"allocations": [`...)
		prev := ""
		for j := range ar.Allocations {
			a := &ar.Allocations[j]
			if j == 0 || a.ProviderUUID != prev {
				if j > 0 {
					b = append(b, "}}, "...)
				}
				b = append(b, `{"resource_provider": {"uuid": `...)
				b = appendString(b, a.ProviderUUID)
				b = append(b, `}, "resources": {`...)
			} else {
				b = append(b, ", "...)
			}
			prev = a.ProviderUUID
			b = appendString(b, a.ResourceClass)
			b = append(b, ": "...)
			b = strconv.AppendInt(b, a.Used, 10)
		}
		if len(ar.Allocations) > 0 {
			b = append(b, "}}"...)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `], "provider_summaries": {`...)
	for i := range c.ProviderSummaries {
		s := &c.ProviderSummaries[i]
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, s.UUID)
		b = append(b, `: {"resources": {`...)
		for j := range s.Resources {
			r := &s.Resources[j]
			if j > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, r.Class)
			b = append(b, `: {"capacity": `...)
			b = strconv.AppendInt(b, r.Capacity, 10)
			b = append(b, `, "used": `...)
			b = strconv.AppendInt(b, r.Used, 10)
			b = append(b, '}')
		}
		b = append(b, '}')
		if v.atLeast(17) {
			b = append(b, `, "traits": `...)
			b = appendStrings(b, s.Traits)
		}
		if v.atLeast(29) {
			b = append(b, `, "parent_provider_uuid": `...)
			if s.ParentUUID == "" {
				b = append(b, "null"...)
			} else {
				b = appendString(b, s.ParentUUID)
			}
			b = append(b, `, "root_provider_uuid": `...)
			b = appendString(b, s.RootUUID)
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}
