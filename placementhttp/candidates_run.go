package placementhttp

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"

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

	body := encodeCandidates(&cands, rq.version)
	rq.cache(h.now())
	rq.successHeaders()
	rq.w.Header().Set("Content-Type", "application/json")
	rq.writeRaw(http.StatusOK, body)
	return nil
}

// encodeCandidates writes the response body directly (it can hold
// thousands of candidates: no intermediate tree).
func encodeCandidates(c *placement.Candidates, v version) []byte {
	var b bytes.Buffer
	b.Grow(256 + 200*len(c.AllocationRequests) + 300*len(c.ProviderSummaries))
	num := func(n int64) {
		var tmp [20]byte
		b.Write(strconv.AppendInt(tmp[:0], n, 10))
	}
	b.WriteString(`{"allocation_requests": [`)
	for i := range c.AllocationRequests {
		ar := &c.AllocationRequests[i]
		if i > 0 {
			b.WriteString(", ")
		}
		if v.atLeast(12) {
			b.WriteString(`{"allocations": {`)
			prev := ""
			for j, a := range ar.Allocations {
				if j == 0 || a.ProviderUUID != prev {
					if j > 0 {
						b.WriteString("}}, ")
					}
					encodeString(&b, a.ProviderUUID)
					b.WriteString(`: {"resources": {`)
				} else {
					b.WriteString(", ")
				}
				prev = a.ProviderUUID
				encodeString(&b, a.ResourceClass)
				b.WriteString(": ")
				num(a.Used)
			}
			if len(ar.Allocations) > 0 {
				b.WriteString("}}")
			}
			b.WriteByte('}')
			if v.atLeast(34) {
				b.WriteString(`, "mappings": {`)
				for j, m := range ar.Mappings {
					if j > 0 {
						b.WriteString(", ")
					}
					encodeString(&b, m.Suffix)
					b.WriteString(": ")
					encode(&b, m.Providers)
				}
				b.WriteByte('}')
			}
			b.WriteByte('}')
			continue
		}
		b.WriteString(`{"allocations": [`)
		prev := ""
		for j, a := range ar.Allocations {
			if j == 0 || a.ProviderUUID != prev {
				if j > 0 {
					b.WriteString("}}, ")
				}
				b.WriteString(`{"resource_provider": {"uuid": `)
				encodeString(&b, a.ProviderUUID)
				b.WriteString(`}, "resources": {`)
			} else {
				b.WriteString(", ")
			}
			prev = a.ProviderUUID
			encodeString(&b, a.ResourceClass)
			b.WriteString(": ")
			num(a.Used)
		}
		if len(ar.Allocations) > 0 {
			b.WriteString("}}")
		}
		b.WriteString("]}")
	}
	b.WriteString(`], "provider_summaries": {`)
	for i := range c.ProviderSummaries {
		s := &c.ProviderSummaries[i]
		if i > 0 {
			b.WriteString(", ")
		}
		encodeString(&b, s.UUID)
		b.WriteString(`: {"resources": {`)
		for j, r := range s.Resources {
			if j > 0 {
				b.WriteString(", ")
			}
			encodeString(&b, r.Class)
			b.WriteString(`: {"capacity": `)
			num(r.Capacity)
			b.WriteString(`, "used": `)
			num(r.Used)
			b.WriteByte('}')
		}
		b.WriteByte('}')
		if v.atLeast(17) {
			b.WriteString(`, "traits": `)
			traits := s.Traits
			if traits == nil {
				traits = []string{}
			}
			encode(&b, traits)
		}
		if v.atLeast(29) {
			b.WriteString(`, "parent_provider_uuid": `)
			encode(&b, nullable(s.ParentUUID))
			b.WriteString(`, "root_provider_uuid": `)
			encodeString(&b, s.RootUUID)
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return b.Bytes()
}
