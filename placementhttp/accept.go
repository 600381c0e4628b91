package placementhttp

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// acceptRange is one media range of an Accept header.
type acceptRange struct {
	typ, sub string
	q        float64
}

// parseAccept parses an Accept header as WebOb does; ok is false for an
// invalid header (WebOb then treats every offer as acceptable).
func parseAccept(h string) (ranges []acceptRange, ok bool) {
	if strings.TrimSpace(h) == "" {
		return nil, true
	}
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			return nil, false
		}
		typ, sub, found := strings.Cut(mt, "/")
		if !found || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			return nil, false
		}
		q := 1.0
		if qs, has := params["q"]; has {
			f, err := strconv.ParseFloat(qs, 64)
			if err != nil || f < 0 || f > 1 {
				return nil, false
			}
			q = f
		}
		ranges = append(ranges, acceptRange{typ, sub, q})
	}
	return ranges, true
}

// acceptableOffers returns the offers ("type/sub") acceptable under the
// Accept header h, best first (by quality, then offer order), as WebOb's
// acceptable_offers. A missing or invalid header accepts every offer.
func acceptableOffers(h string, offers ...string) []string {
	ranges, ok := parseAccept(h)
	if !ok {
		return offers
	}
	type scored struct {
		offer string
		q     float64
		idx   int
	}
	var out []scored
	for i, o := range offers {
		typ, sub, _ := strings.Cut(o, "/")
		best, spec := -1.0, -1
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > spec || (s == spec && s >= 0 && r.q > best) {
				spec, best = s, r.q
			}
		}
		if spec >= 0 && best > 0 {
			out = append(out, scored{o, best, i})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].q > out[b].q })
	res := make([]string, len(out))
	for i, s := range out {
		res[i] = s.offer
	}
	return res
}
