package placementhttp

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goplacement/placement"
)

// acGroup is one request group of GET /allocation_candidates.
type acGroup struct {
	suffix        string
	resources     []classAmount
	required      [][]string
	forbidden     []string
	memberOf      [][]string
	forbiddenAggs []string
	inTree        string
}

// acRequest is a parsed GET /allocation_candidates query.
type acRequest struct {
	groups        []*acGroup
	limit         int
	groupPolicy   string
	rootRequired  []string
	rootForbidden []string
	sameSubtrees  [][]string
}

var (
	acKeyPattern     = regexp.MustCompile(`^(resources|required|member_of|in_tree)([1-9][0-9]*)?$`)
	acKeyPattern1_33 = regexp.MustCompile(`^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$`)
)

func acSchema(v version) string {
	for _, m := range []int{36, 35, 33, 31, 25, 21, 17, 16} {
		if v.atLeast(m) {
			return "ac1" + strconv.Itoa(m)
		}
	}
	return "ac110"
}

// parseCandidatesQuery is lib.RequestWideParams.from_request and
// lib.RequestGroup.dict_from_request, with their checks and messages.
func (rq *request) parseCandidatesQuery(q query) (*acRequest, error) {
	req := &acRequest{}
	if v, ok := q.first("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			n = int(^uint(0) >> 1)
		}
		req.limit = n
	}
	if v, ok := q.first("group_policy"); ok {
		req.groupPolicy = v
	}
	if rr := q.getAll("root_required"); len(rr) > 0 {
		if len(rr) > 1 {
			return nil, errorf(http.StatusBadRequest, CodeQueryDuplicateKey, "Query parameter 'root_required' may be specified only once.")
		}
		t, err := normalizeTraitsValue(rr[0], true, false)
		if err != nil {
			return nil, err
		}
		for _, s := range t.required {
			req.rootRequired = append(req.rootRequired, s[0])
		}
		req.rootForbidden = t.forbidden
		var conflicts []string
		for _, f := range req.rootForbidden {
			if slices.Contains(req.rootRequired, f) {
				conflicts = append(conflicts, f)
			}
		}
		if len(conflicts) > 0 {
			return nil, errorf(http.StatusBadRequest, CodeQueryBadValue,
				"Conflicting required and forbidden traits found in root_required: "+strings.Join(conflicts, ", "))
		}
	}
	for _, val := range q.getAll("same_subtree") {
		var suffixes []string
		for _, s := range strings.Split(val, ",") {
			suffixes = appendUnique(suffixes, strings.TrimSpace(s))
		}
		if slices.Contains(suffixes, "") {
			return nil, errorf(http.StatusBadRequest, CodeQueryBadValue, "Empty string (unsuffixed group) can not be specified in `same_subtree` ")
		}
		req.sameSubtrees = append(req.sameSubtrees, suffixes)
	}

	pattern := acKeyPattern
	if rq.version.atLeast(33) {
		pattern = acKeyPattern1_33
	}
	group := func(suffix string) *acGroup {
		for _, g := range req.groups {
			if g.suffix == suffix {
				return g
			}
		}
		g := &acGroup{suffix: suffix}
		req.groups = append(req.groups, g)
		return g
	}
	for _, p := range q {
		m := pattern.FindStringSubmatch(p.key)
		if m == nil {
			continue
		}
		prefix, suffix := m[1], m[2]
		g := group(suffix)
		switch prefix {
		case "resources":
			res, err := normalizeResources(p.val)
			if err != nil {
				return nil, err
			}
			g.resources = res
		case "required":
			t, err := rq.normalizeTraitsParams(q, suffix)
			if err != nil {
				return nil, err
			}
			g.required, g.forbidden = t.required, t.forbidden
		case "member_of":
			mo, err := rq.normalizeMemberOfParams(q, suffix)
			if err != nil {
				return nil, err
			}
			g.memberOf, g.forbiddenAggs = mo.required, mo.forbidden
		case "in_tree":
			t, err := normalizeInTree(p.val)
			if err != nil {
				return nil, err
			}
			g.inTree = t
		}
	}

	if rq.version.atLeast(36) {
		var resourceless []string
		for _, g := range req.groups {
			if len(g.resources) == 0 {
				resourceless = append(resourceless, g.suffix)
			}
		}
		if len(resourceless) == len(req.groups) {
			return nil, errorf(http.StatusBadRequest, CodeQueryMissingValue, "There must be at least one resources or resources[$S] parameter.")
		}
		var subtree []string
		for _, s := range req.sameSubtrees {
			for _, x := range s {
				subtree = appendUnique(subtree, x)
			}
		}
		var bad []string
		for _, s := range resourceless {
			if !slices.Contains(subtree, s) {
				bad = append(bad, s)
			}
		}
		if len(bad) > 0 {
			return nil, errorf(http.StatusBadRequest, CodeQueryBadValue,
				fmt.Sprintf("Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - %s.", pyList(bad)))
		}
		bad = nil
		var all []string
		for _, g := range req.groups {
			all = append(all, g.suffix)
		}
		for _, s := range subtree {
			if !slices.Contains(all, s) {
				bad = append(bad, s)
			}
		}
		if len(bad) > 0 {
			return nil, errorf(http.StatusBadRequest, CodeQueryBadValue,
				fmt.Sprintf("Real suffixes should be specified in `same_subtree`: %s not found in %s.", pyList(bad), pyList(all)))
		}
	} else {
		var orphans []string
		for _, g := range req.groups {
			if len(g.required) > 0 && len(g.resources) == 0 {
				orphans = append(orphans, "required"+g.suffix)
			}
		}
		if len(orphans) > 0 {
			return nil, badRequest("All traits parameters must be associated with resources.  Found the following orphaned traits keys: " + strings.Join(orphans, ", "))
		}
		for _, g := range req.groups {
			if len(g.resources) == 0 && (len(g.memberOf) > 0 || len(g.forbiddenAggs) > 0) {
				orphans = append(orphans, "member_of"+g.suffix)
			}
		}
		if len(orphans) > 0 {
			return nil, badRequest("All member_of parameters must be associated with resources. Found the following orphaned member_of keys: " + strings.Join(orphans, ", "))
		}
		for _, g := range req.groups {
			if len(g.resources) == 0 {
				return nil, badRequest("All request groups must specify resources.")
			}
		}
		if len(req.groups) == 0 {
			return nil, badRequest("At least one request group (`resources` or `resources{$S}`) is required.")
		}
	}
	if rq.version.atLeast(22) {
		var conflicts []string
		for _, g := range req.groups {
			for _, any := range g.required {
				all := true
				for _, t := range any {
					all = all && slices.Contains(g.forbidden, t)
				}
				if all {
					s := slices.Clone(any)
					sort.Strings(s)
					conflicts = append(conflicts, fmt.Sprintf("required%s: (%s)", g.suffix, strings.Join(s, ", ")))
				}
			}
		}
		if len(conflicts) > 0 {
			sort.Strings(conflicts)
			return nil, badRequest("Conflicting required and forbidden traits found in the following traits keys: " + strings.Join(conflicts, ", "))
		}
	}
	if req.groupPolicy == "" {
		n := 0
		for _, g := range req.groups {
			if g.suffix != "" {
				n++
			}
		}
		if n > 1 {
			return nil, badRequest(`The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.`)
		}
	}
	return req, nil
}

func pyList(ss []string) string { return "[" + joinRepr(ss) + "]" }

func (h *handler) allocationCandidates(rq *request) error {
	if err := rq.minVersion(10); err != nil {
		return err
	}
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionAllocationCandidates, placement.Target{}); err != nil {
		return err
	}
	q, err := rq.query(acSchema(rq.version))
	if err != nil {
		return err
	}
	req, err := rq.parseCandidatesQuery(q)
	if err != nil {
		return err
	}
	return h.runCandidates(rq, req)
}
