package placementhttp

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goplacement/placement"
)

// query is a parsed query string: every (key, value) pair in order, as
// WebOb's req.GET multidict.
type query []qpair

type qpair struct{ key, val string }

// parseQuery splits a raw query string on "&" (not ";", like Python 3.11)
// and unescapes keys and values; invalid UTF-8 is refused as WebOb's
// UnicodeDecodeError is.
func parseQuery(raw string) (query, error) {
	var q query
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, badRequest("Invalid query string parameters: 'utf-8' codec can't decode the query string")
		}
		q = append(q, qpair{k, v})
	}
	return q, nil
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	// Python's unquote leaves invalid escapes as they are
	return strings.ReplaceAll(s, "+", " ")
}

// get returns the last value of key (dict(req.GET) semantics) and whether
// it is present.
func (q query) get(key string) (string, bool) {
	for i := len(q) - 1; i >= 0; i-- {
		if q[i].key == key {
			return q[i].val, true
		}
	}
	return "", false
}

// first returns the first value of key (req.GET[key] for a MultiDict
// returns the last, but getall()[0] the first).
func (q query) first(key string) (string, bool) {
	for _, p := range q {
		if p.key == key {
			return p.val, true
		}
	}
	return "", false
}

func (q query) getAll(key string) []string {
	var out []string
	for _, p := range q {
		if p.key == key {
			out = append(out, p.val)
		}
	}
	return out
}

func (q query) has(key string) bool { _, ok := q.get(key); return ok }

// asObject is dict(req.GET) as a JSON object: keys in order of first
// appearance, each with its last value.
func (q query) asObject() *jvalue {
	obj := &jvalue{kind: jObject, obj: []jmember{}}
	for _, p := range q {
		if i := obj.index(p.key); i >= 0 {
			obj.obj[i].val = strValue(p.val)
		} else {
			obj.obj = append(obj.obj, jmember{p.key, strValue(p.val)})
		}
	}
	return obj
}

// query parses and validates the query string with the named schema
// (util.validate_query_params).
func (rq *request) query(schema string) (query, error) {
	q, err := parseQuery(rq.r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if schema != "" {
		if e := validate(schema, q.asObject()); e != nil {
			return nil, badRequest("Invalid query string parameters: " + e.String())
		}
	}
	return q, nil
}

// normalizeResources is util.normalize_resources_qs_param; it keeps the
// order of first appearance (a repeated class keeps the last amount).
func normalizeResources(qs string) ([]classAmount, error) {
	if strings.TrimSpace(qs) == "" {
		return nil, badRequest("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.")
	}
	var out []classAmount
	for _, rt := range strings.Split(qs, ",") {
		parts := strings.Split(rt, ":")
		if len(parts) != 2 {
			return nil, badRequest(fmt.Sprintf("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: %s.", rt))
		}
		name := parts[0]
		amount, ok := pyIntAmount(parts[1])
		if !ok {
			return nil, badRequest(fmt.Sprintf("Requested resource %s expected positive integer amount. Got: %s.", name, parts[1]))
		}
		if amount < 1 {
			return nil, badRequest(fmt.Sprintf("Requested resource %s requires amount >= 1. Got: %d.", name, amount))
		}
		if i := slices.IndexFunc(out, func(c classAmount) bool { return c.class == name }); i >= 0 {
			out[i].amount = amount
		} else {
			out = append(out, classAmount{name, amount})
		}
	}
	return out, nil
}

type classAmount struct {
	class  string
	amount int64
}

// pyIntAmount parses Python int() for an amount, clamping huge values.
func pyIntAmount(s string) (int64, bool) {
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, false
	}
	digits := strings.ReplaceAll(t, "_", "")
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		n = 1<<63 - 1
	}
	if neg {
		n = -n
	}
	return n, true
}

// traitsParam is the parsed form of the required[S] values: an AND of
// OR-sets and a set of forbidden traits.
type traitsParam struct {
	required  [][]string
	forbidden []string
}

// normalizeTraitsValue is util.normalize_traits_qs_param.
func normalizeTraitsValue(val string, allowForbidden, allowAny bool) (traitsParam, error) {
	var out traitsParam
	if strings.HasPrefix(val, "in:") {
		if !allowAny {
			return out, badRequest(fmt.Sprintf("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: %s", val))
		}
		var any []string
		for _, t := range strings.Split(val[3:], ",") {
			any = appendUnique(any, strings.TrimSpace(t))
		}
		for _, t := range any {
			if t == "" {
				return out, badRequest(fmt.Sprintf("Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: %s", val))
			}
		}
		for _, t := range any {
			if strings.HasPrefix(t, "!") {
				return out, badRequest(fmt.Sprintf("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: %s", val))
			}
		}
		out.required = [][]string{any}
		return out, nil
	}
	var all []string
	for _, t := range strings.Split(val, ",") {
		all = append(all, strings.TrimSpace(t))
	}
	for _, t := range all {
		if strings.HasPrefix(t, "!") {
			out.forbidden = appendUnique(out.forbidden, strings.TrimLeft(t, "!"))
		}
	}
	empty := slices.Contains(all, "") || slices.Contains(out.forbidden, "")
	if empty {
		form := "HW_CPU_X86_VMX,!CUSTOM_MAGIC"
		if !allowForbidden {
			form = "HW_CPU_X86_VMX,CUSTOM_MAGIC"
		}
		return out, badRequest(fmt.Sprintf("Invalid query string parameters: Expected 'required' parameter value of the form: %s. Got an empty trait in: %s", form, val))
	}
	for _, t := range all {
		if !strings.HasPrefix(t, "!") && !slices.ContainsFunc(out.required, func(s []string) bool { return s[0] == t }) {
			out.required = append(out.required, []string{t})
		}
	}
	if len(out.forbidden) > 0 && !allowForbidden {
		return out, badRequest(fmt.Sprintf("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: %s", val))
	}
	return out, nil
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// normalizeTraitsParams is util.normalize_traits_qs_params for key
// "required"+suffix: before 1.39 only the last value counts, from 1.39 all
// are ANDed.
func (rq *request) normalizeTraitsParams(q query, suffix string) (traitsParam, error) {
	allowForbidden, allowAny := rq.version.atLeast(22), rq.version.atLeast(39)
	values := q.getAll("required" + suffix)
	if !allowAny && len(values) > 1 {
		values = values[len(values)-1:]
	}
	var out traitsParam
	for _, v := range values {
		t, err := normalizeTraitsValue(v, allowForbidden, allowAny)
		if err != nil {
			return out, err
		}
		out.required = append(out.required, t.required...)
		for _, f := range t.forbidden {
			out.forbidden = appendUnique(out.forbidden, f)
		}
	}
	return out, nil
}

// memberOfParam is the parsed member_of[S]: an AND of OR-sets and the
// forbidden aggregates.
type memberOfParam struct {
	required  [][]string
	forbidden []string
}

// normalizeMemberOfParams is util.normalize_member_of_qs_params.
func (rq *request) normalizeMemberOfParams(q query, suffix string) (memberOfParam, error) {
	var out memberOfParam
	values := q.getAll("member_of" + suffix)
	if !rq.version.atLeast(24) && len(values) > 1 {
		return out, badRequest(fmt.Sprintf("Multiple member_of%s parameters are not supported", suffix))
	}
	for _, v := range values {
		req, forb, err := normalizeMemberOfValue(v)
		if err != nil {
			return out, err
		}
		if len(req) > 0 {
			out.required = append(out.required, req)
		}
		if len(forb) > 0 {
			if !rq.version.atLeast(32) {
				return out, badRequest(fmt.Sprintf("Forbidden member_of%s parameters are not supported in the specified microversion", suffix))
			}
			for _, f := range forb {
				out.forbidden = appendUnique(out.forbidden, f)
			}
		}
	}
	return out, nil
}

func normalizeMemberOfValue(value string) (required, forbidden []string, err error) {
	if strings.Contains(value, ",") && !strings.HasPrefix(value, "in:") && !strings.HasPrefix(value, "!in:") {
		return nil, nil, badRequest(fmt.Sprintf("Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: %s", value))
	}
	split := func(s string) []string {
		var out []string
		for _, x := range strings.Split(s, ",") {
			out = appendUnique(out, x)
		}
		return out
	}
	switch {
	case strings.HasPrefix(value, "!in:"):
		forbidden = split(value[4:])
	case strings.HasPrefix(value, "!"):
		forbidden = []string{value[1:]}
	case strings.HasPrefix(value, "in:"):
		required = split(value[3:])
	default:
		required = []string{value}
	}
	for _, a := range append(slices.Clone(required), forbidden...) {
		if _, ok := placement.CanonicalUUID(a); !ok {
			return nil, nil, badRequest(fmt.Sprintf("Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: %s", a))
		}
	}
	return required, forbidden, nil
}

// normalizeInTree is util.normalize_in_tree_qs_params.
func normalizeInTree(value string) (string, error) {
	v := strings.TrimSpace(value)
	if _, ok := placement.CanonicalUUID(v); !ok {
		return "", badRequest(fmt.Sprintf("Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: %s", value))
	}
	return v, nil
}
