package placement

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Validation and normalization of a CandidateRequest (no store access).

// normRequest is a validated CandidateRequest in the planner's terms:
// classes and traits are request-local indices.
type normRequest struct {
	// groups: the unsuffixed group first (if any), then the suffixed groups
	// sorted by suffix.
	groups []ngroup
	hasG0  bool
	// classes are the distinct requested classes, sorted; nres.class
	// indexes it.
	classes []string
	// traits are the distinct trait names the request mentions, sorted;
	// trait sets index it.
	traits        []string
	rootRequired  []int
	rootForbidden []int
	// sameSubtree: sets of group indices.
	sameSubtree [][]int

	isolate       bool
	limit         int
	maxCandidates int
	order         CandidateOrder
	randomize     bool
	seed          uint64
	excludeNested bool
	requestedOnly bool
}

type ngroup struct {
	suffix      string
	res         []nres // sorted by class name
	required    [][]int
	forbidden   []int
	memberOf    [][]string
	notMemberOf []string
	inTree      string // canonical uuid or ""
}

type nres struct {
	class  int
	amount int64
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// validSuffix reports whether s matches [A-Za-z0-9_-]{1,64}.
func validSuffix(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// normalizeCandidateRequest checks everything that needs no store and
// returns the planner's form of the request.
func normalizeCandidateRequest(req *CandidateRequest, engineCap int) (*normRequest, error) {
	nr := &normRequest{
		isolate:       req.GroupPolicy == GroupPolicyIsolate,
		limit:         req.Limit,
		maxCandidates: req.MaxCandidates,
		order:         req.Order,
		randomize:     req.Randomize,
		seed:          req.Seed,
		excludeNested: req.ExcludeNested,
		requestedOnly: req.RequestedClassesOnly,
	}
	switch {
	case req.GroupPolicy > GroupPolicyIsolate:
		return nil, invalid("group_policy", itoa(int64(req.GroupPolicy)), "must be none or isolate")
	case req.Order > BreadthFirst:
		return nil, invalid("order", itoa(int64(req.Order)), "must be depth-first or breadth-first")
	case req.Limit < 0:
		return nil, invalid("limit", itoa(int64(req.Limit)), "must not be negative")
	case req.MaxCandidates < 0:
		return nil, invalid("max candidates", itoa(int64(req.MaxCandidates)), "must not be negative")
	}
	if nr.maxCandidates == 0 {
		nr.maxCandidates = engineCap
	}
	if len(req.Groups) == 0 {
		return nil, invalid("resources", "", "there must be at least one resources or resources{suffix} parameter")
	}

	// Groups in canonical order: unsuffixed first, then by suffix.
	order := make([]int, len(req.Groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(req.Groups[a].Suffix, req.Groups[b].Suffix) })
	for k := 1; k < len(order); k++ {
		if req.Groups[order[k]].Suffix == req.Groups[order[k-1]].Suffix {
			return nil, invalid("suffix", req.Groups[order[k]].Suffix, "request group suffixes must be unique")
		}
	}

	// Intern classes and traits.
	var classNames, traitNames []string
	for _, g := range req.Groups {
		for _, r := range g.Resources {
			classNames = append(classNames, r.Class)
		}
		for _, set := range g.Required {
			traitNames = append(traitNames, set...)
		}
		traitNames = append(traitNames, g.Forbidden...)
	}
	traitNames = append(traitNames, req.RootRequired...)
	traitNames = append(traitNames, req.RootForbidden...)
	nr.classes = sortedUnique(classNames)
	nr.traits = sortedUnique(traitNames)
	classIdx := func(name string) int { i, _ := slices.BinarySearch(nr.classes, name); return i }
	traitIdx := func(name string) int { i, _ := slices.BinarySearch(nr.traits, name); return i }

	withResources := 0
	bySuffix := make(map[string]int, len(order))
	for _, oi := range order {
		g := &req.Groups[oi]
		field := func(param string) string { return param + g.Suffix }
		if g.Suffix != "" && !validSuffix(g.Suffix) {
			return nil, invalid("suffix", g.Suffix, "must be 1 to 64 characters of [A-Za-z0-9_-]")
		}
		ng := ngroup{suffix: g.Suffix}
		for _, r := range g.Resources {
			if err := validateClassName(field("resources"), r.Class); err != nil {
				return nil, err
			}
			if r.Amount < 1 {
				return nil, invalid(field("resources"), r.Class+":"+itoa(r.Amount), "requested amounts must be at least 1")
			}
			ng.res = append(ng.res, nres{class: classIdx(r.Class), amount: r.Amount})
		}
		slices.SortFunc(ng.res, func(a, b nres) int { return cmp.Compare(a.class, b.class) })
		for k := 1; k < len(ng.res); k++ {
			if ng.res[k].class == ng.res[k-1].class {
				return nil, invalid(field("resources"), nr.classes[ng.res[k].class], "resource class requested twice")
			}
		}
		if len(ng.res) > 0 {
			withResources++
		} else if g.Suffix == "" {
			return nil, invalid("resources", "", "the unsuffixed group must request resources")
		}
		for _, set := range g.Required {
			if len(set) == 0 {
				return nil, invalid(field("required"), "", "an any-of trait set must not be empty")
			}
			ids := make([]int, 0, len(set))
			for _, t := range set {
				if t == "" {
					return nil, invalid(field("required"), "", "trait names must not be empty")
				}
				ids = append(ids, traitIdx(t))
			}
			ng.required = append(ng.required, ids)
		}
		for _, t := range g.Forbidden {
			if t == "" {
				return nil, invalid(field("required"), "!", "trait names must not be empty")
			}
			ng.forbidden = append(ng.forbidden, traitIdx(t))
		}
		for _, set := range ng.required {
			if !slices.ContainsFunc(set, func(t int) bool { return !slices.Contains(ng.forbidden, t) }) {
				names := make([]string, len(set))
				for k, t := range set {
					names[k] = nr.traits[t]
				}
				return nil, invalid(field("required"), strings.Join(names, ", "), "conflicting required and forbidden traits")
			}
		}
		for _, set := range g.MemberOf {
			if len(set) == 0 {
				return nil, invalid(field("member_of"), "", "an any-of aggregate set must not be empty")
			}
			for _, a := range set {
				if _, ok := CanonicalUUID(a); !ok {
					return nil, invalid(field("member_of"), a, "is not a 'uuid'")
				}
			}
			ng.memberOf = append(ng.memberOf, sortedUnique(set))
		}
		for _, a := range g.NotMemberOf {
			if _, ok := CanonicalUUID(a); !ok {
				return nil, invalid(field("member_of"), "!"+a, "is not a 'uuid'")
			}
		}
		ng.notMemberOf = sortedUnique(g.NotMemberOf)
		if g.InTree != "" {
			u, ok := CanonicalUUID(strings.TrimSpace(g.InTree))
			if !ok {
				return nil, invalid(field("in_tree"), g.InTree, "is not a 'uuid'")
			}
			ng.inTree = u
		}
		bySuffix[g.Suffix] = len(nr.groups)
		nr.groups = append(nr.groups, ng)
	}
	nr.hasG0 = nr.groups[0].suffix == ""
	if withResources == 0 {
		return nil, invalid("resources", "", "there must be at least one resources or resources{suffix} parameter")
	}

	inSubtree := make([]bool, len(nr.groups))
	for _, set := range req.SameSubtree {
		if len(set) == 0 {
			return nil, invalid("same_subtree", "", "must name at least one request group suffix")
		}
		ids := make([]int, 0, len(set))
		for _, s := range set {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil, invalid("same_subtree", "", "the unsuffixed group cannot be named in same_subtree")
			}
			gi, ok := bySuffix[s]
			if !ok {
				return nil, invalid("same_subtree", s, "names no request group")
			}
			if !slices.Contains(ids, gi) {
				ids = append(ids, gi)
			}
			inSubtree[gi] = true
		}
		nr.sameSubtree = append(nr.sameSubtree, ids)
	}
	var orphans []string
	for gi, g := range nr.groups {
		if len(g.res) == 0 && !inSubtree[gi] {
			orphans = append(orphans, g.suffix)
		}
	}
	if len(orphans) > 0 {
		return nil, invalid("same_subtree", strings.Join(orphans, ", "), "resourceless request groups must be named in same_subtree")
	}

	for _, t := range req.RootRequired {
		if t == "" {
			return nil, invalid("root_required", "", "trait names must not be empty")
		}
		if slices.Contains(req.RootForbidden, t) {
			return nil, invalid("root_required", t, "conflicting required and forbidden traits")
		}
		nr.rootRequired = append(nr.rootRequired, traitIdx(t))
	}
	for _, t := range req.RootForbidden {
		if t == "" {
			return nil, invalid("root_required", "!", "trait names must not be empty")
		}
		nr.rootForbidden = append(nr.rootForbidden, traitIdx(t))
	}
	return nr, nil
}

// validateResourceAmounts checks a list of amounts: class names well formed,
// each class once, amounts at least 1.
func validateResourceAmounts(field string, rs []ResourceAmount) error {
	for i, r := range rs {
		if err := validateClassName(field, r.Class); err != nil {
			return err
		}
		if r.Amount < 1 {
			return invalid(field, r.Class+":"+itoa(r.Amount), "requested amounts must be at least 1")
		}
		for _, o := range rs[:i] {
			if o.Class == r.Class {
				return invalid(field, r.Class, "resource class requested twice")
			}
		}
	}
	return nil
}
