package placementhttp

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goplacement/placement"
)

// A small JSON Schema validator covering the keywords Placement's schemas
// use, reporting errors as Python's jsonschema 4 does: the same messages,
// the same choice of the "best" error among several (jsonschema.best_match),
// and the same "Failed validating 'X' in schema[...]" trailer, because
// clients and Placement's own tests match those phrases.

type schemaDoc struct {
	root *jvalue
}

var (
	schemasOnce sync.Once
	schemas     map[string]*schemaDoc
	regexCache  sync.Map // pattern -> *regexp.Regexp
)

func getSchema(name string) *schemaDoc {
	schemasOnce.Do(func() {
		schemas = make(map[string]*schemaDoc, len(schemaSources))
		for k, src := range schemaSources {
			v, err := parseJSON([]byte(src))
			if err != nil {
				panic("placementhttp: bad embedded schema " + k + ": " + err.Error())
			}
			schemas[k] = &schemaDoc{root: v}
		}
	})
	s, ok := schemas[name]
	if !ok {
		panic("placementhttp: unknown schema " + name)
	}
	return s
}

// pnode is a path (instance or schema) as a linked list from the leaf, so
// that descending allocates one node and formatting happens only for errors.
type pnode struct {
	parent *pnode
	key    string
	idx    int
	isIdx  bool
	depth  int
}

func (p *pnode) child(key string) *pnode {
	d := 1
	if p != nil {
		d = p.depth + 1
	}
	return &pnode{parent: p, key: key, depth: d}
}

func (p *pnode) index(i int) *pnode {
	n := p.child("")
	n.idx, n.isIdx = i, true
	return n
}

func (p *pnode) len() int {
	if p == nil {
		return 0
	}
	return p.depth
}

// elems returns the Python reprs of the path's elements, root first.
func (p *pnode) elems() []string {
	out := make([]string, p.len())
	for n := p; n != nil; n = n.parent {
		if n.isIdx {
			out[n.depth-1] = fmt.Sprint(n.idx)
		} else {
			out[n.depth-1] = pyStr(n.key)
		}
	}
	return out
}

type verr struct {
	message    string
	validator  string
	path       *pnode // instance path
	schemaPath *pnode // relative schema path (the keyword last)
	instance   *jvalue
	schema     *jvalue // the (sub)schema holding the keyword
	context    []*verr
}

// String formats the error as str(jsonschema.ValidationError).
func (e *verr) String() string {
	sp := e.schemaPath.elems()
	if len(sp) > 0 {
		sp = sp[:len(sp)-1]
	}
	return fmt.Sprintf("%s\n\nFailed validating %s in schema%s:\n    %s\n\nOn instance%s:\n    %s",
		e.message, pyStr(e.validator), brackets(sp), e.schema.repr(), brackets(e.path.elems()), e.instance.repr())
}

func brackets(p []string) string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('[')
		b.WriteString(s)
		b.WriteByte(']')
	}
	return b.String()
}

func (e *verr) matchesType() bool {
	t := e.schema.get("type")
	if t == nil {
		return false
	}
	if t.kind == jString {
		return isType(e.instance, t.s)
	}
	for _, x := range t.arr {
		if isType(e.instance, x.s) {
			return true
		}
	}
	return false
}

// relevance is jsonschema's by_relevance key: shallower errors first, then
// non-anyOf/oneOf, then errors whose instance has the wrong type.
type relevanceKey struct {
	depth     int // -len(path)
	notWeak   bool
	wrongType bool
}

func (e *verr) key() relevanceKey {
	return relevanceKey{-e.path.len(), e.validator != "anyOf" && e.validator != "oneOf", !e.matchesType()}
}

func cmpKey(a, b relevanceKey) int {
	if a.depth != b.depth {
		if a.depth < b.depth {
			return -1
		}
		return 1
	}
	bi := func(x bool) int {
		if x {
			return 1
		}
		return 0
	}
	if c := bi(a.notWeak) - bi(b.notWeak); c != 0 {
		return c
	}
	return bi(a.wrongType) - bi(b.wrongType)
}

// bestMatch is jsonschema.exceptions.best_match.
func bestMatch(errs []*verr) *verr {
	if len(errs) == 0 {
		return nil
	}
	best := errs[0]
	for _, e := range errs[1:] {
		if cmpKey(e.key(), best.key()) > 0 {
			best = e
		}
	}
	for len(best.context) > 0 {
		ctx := slices.Clone(best.context)
		slices.SortStableFunc(ctx, func(a, b *verr) int { return cmpKey(a.key(), b.key()) })
		if len(ctx) >= 2 && cmpKey(ctx[0].key(), ctx[1].key()) == 0 {
			return best
		}
		best = ctx[0]
	}
	return best
}

// validate checks instance against the named schema and returns the best
// error, or nil.
func validate(name string, instance *jvalue) *verr {
	root := getSchema(name).root
	// most requests are valid: check without building error paths and
	// messages first, and only collect the errors of an invalid instance
	quick := sink{quick: true}
	validateNode(root, instance, nil, nil, &quick)
	if !quick.failed {
		return nil
	}
	var full sink
	validateNode(root, instance, nil, nil, &full)
	return bestMatch(full.errs)
}

// sink receives validation errors: all of them with their paths, or (quick)
// only whether there is one.
type sink struct {
	quick  bool
	failed bool
	errs   []*verr
}

// child and index extend an error path, unless only validity is wanted.
func (s *sink) child(p *pnode, key string) *pnode {
	if s.quick {
		return nil
	}
	return p.child(key)
}

func (s *sink) index(p *pnode, i int) *pnode {
	if s.quick {
		return nil
	}
	return p.index(i)
}

func isType(v *jvalue, t string) bool {
	if v == nil {
		return t == "null"
	}
	switch t {
	case "object":
		return v.kind == jObject
	case "array":
		return v.kind == jArray
	case "string":
		return v.kind == jString
	case "null":
		return v.kind == jNull
	case "boolean":
		return v.kind == jBool
	case "number":
		return v.kind == jNumber
	case "integer":
		return v.isInteger()
	}
	return false
}

func compile(pattern string) *regexp.Regexp {
	if re, ok := regexCache.Load(pattern); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(pattern)
	regexCache.Store(pattern, re)
	return re
}

// validateNode applies schema to instance, appending errors in the order
// jsonschema yields them (schema keywords in document order).
func validateNode(schema, instance *jvalue, path, spath *pnode, s *sink) {
	add := func(kw, msg string, ctx []*verr) {
		s.failed = true
		if !s.quick {
			s.errs = append(s.errs, &verr{message: msg, validator: kw, path: path,
				schemaPath: spath.child(kw), instance: instance, schema: schema, context: ctx})
		}
	}
	for _, m := range schema.obj {
		if s.quick && s.failed {
			return
		}
		kw, sv := m.key, m.val
		switch kw {
		case "type":
			ok := false
			if sv.kind == jString {
				ok = isType(instance, sv.s)
			} else {
				for _, t := range sv.arr {
					ok = ok || isType(instance, t.s)
				}
			}
			if !ok {
				if s.quick {
					add(kw, "", nil)
					continue
				}
				var reprs []string
				if sv.kind == jString {
					reprs = append(reprs, pyStr(sv.s))
				} else {
					for _, t := range sv.arr {
						reprs = append(reprs, pyStr(t.s))
					}
				}
				add(kw, fmt.Sprintf("%s is not of type %s", instance.repr(), strings.Join(reprs, ", ")), nil)
			}
		case "properties":
			if instance.kind != jObject {
				continue
			}
			for _, p := range sv.obj {
				if iv := instance.get(p.key); iv != nil {
					validateNode(p.val, iv, s.child(path, p.key), s.child(s.child(spath, kw), p.key), s)
				}
			}
		case "patternProperties":
			if instance.kind != jObject {
				continue
			}
			for _, p := range sv.obj {
				re := compile(p.key)
				for _, im := range instance.obj {
					if re.MatchString(im.key) {
						validateNode(p.val, im.val, s.child(path, im.key), s.child(s.child(spath, kw), p.key), s)
					}
				}
			}
		case "additionalProperties":
			if instance.kind != jObject {
				continue
			}
			var extras []string
			props, pats := schema.get("properties"), schema.get("patternProperties")
			for _, im := range instance.obj {
				if props != nil && props.has(im.key) {
					continue
				}
				matched := false
				if pats != nil {
					for _, p := range pats.obj {
						if compile(p.key).MatchString(im.key) {
							matched = true
							break
						}
					}
				}
				if !matched {
					extras = append(extras, im.key)
				}
			}
			if sv.kind == jObject {
				for _, x := range extras {
					validateNode(sv, instance.get(x), s.child(path, x), s.child(spath, kw), s)
				}
				continue
			}
			if sv.kind == jBool && !sv.b && len(extras) > 0 {
				if s.quick {
					add(kw, "", nil)
					continue
				}
				if pats != nil {
					slices.Sort(extras)
					verb := "does"
					if len(extras) > 1 {
						verb = "do"
					}
					var patterns []string
					for _, p := range pats.obj {
						patterns = append(patterns, p.key)
					}
					slices.Sort(patterns)
					add(kw, fmt.Sprintf("%s %s not match any of the regexes: %s", joinRepr(extras), verb, joinRepr(patterns)), nil)
				} else {
					verb := "was"
					if len(extras) > 1 {
						verb = "were"
					}
					add(kw, fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", joinRepr(extras), verb), nil)
				}
			}
		case "required":
			if instance.kind != jObject {
				continue
			}
			for _, r := range sv.arr {
				if !instance.has(r.s) {
					if s.quick {
						add(kw, "", nil)
						break
					}
					add(kw, fmt.Sprintf("%s is a required property", pyStr(r.s)), nil)
				}
			}
		case "minProperties":
			if instance.kind == jObject && int64(len(instance.obj)) < sv.int64() {
				add(kw, s.msg("%s does not have enough properties", instance), nil)
			}
		case "items":
			if instance.kind != jArray {
				continue
			}
			for i, e := range instance.arr {
				validateNode(sv, e, s.index(path, i), s.child(spath, kw), s)
			}
		case "minItems":
			if instance.kind == jArray && int64(len(instance.arr)) < sv.int64() {
				add(kw, s.msg("%s is too short", instance), nil)
			}
		case "uniqueItems":
			if instance.kind == jArray && sv.kind == jBool && sv.b {
				dup := false
				for i := range instance.arr {
					for j := 0; j < i && !dup; j++ {
						dup = instance.arr[i].equal(instance.arr[j])
					}
				}
				if dup {
					add(kw, s.msg("%s has non-unique elements", instance), nil)
				}
			}
		case "minimum":
			if instance.kind == jNumber && instance.cmpNumber(sv) < 0 {
				add(kw, s.msg2("%s is less than the minimum of %s", instance, sv), nil)
			}
		case "maximum":
			if instance.kind == jNumber && instance.cmpNumber(sv) > 0 {
				add(kw, s.msg2("%s is greater than the maximum of %s", instance, sv), nil)
			}
		case "minLength":
			if instance.kind == jString && int64(utf8.RuneCountInString(instance.s)) < sv.int64() {
				add(kw, s.msg("%s is too short", instance), nil)
			}
		case "maxLength":
			if instance.kind == jString && int64(utf8.RuneCountInString(instance.s)) > sv.int64() {
				add(kw, s.msg("%s is too long", instance), nil)
			}
		case "pattern":
			if instance.kind == jString && !compile(sv.s).MatchString(instance.s) {
				if s.quick {
					add(kw, "", nil)
					continue
				}
				add(kw, fmt.Sprintf("%s does not match %s", instance.repr(), pyStr(sv.s)), nil)
			}
		case "format":
			if sv.s == "uuid" && !isUUIDLike(instance) {
				if s.quick {
					add(kw, "", nil)
					continue
				}
				add(kw, fmt.Sprintf("%s is not a %s", instance.repr(), pyStr(sv.s)), nil)
			}
		case "enum":
			found := false
			for _, e := range sv.arr {
				found = found || e.equal(instance)
			}
			if !found {
				add(kw, s.msg2("%s is not one of %s", instance, sv), nil)
			}
		case "anyOf":
			var all []*verr
			ok := false
			for i, sub := range sv.arr {
				subSink := sink{quick: s.quick}
				validateNode(sub, instance, nil, subSink.index(nil, i), &subSink)
				if !subSink.failed {
					ok = true
					break
				}
				all = append(all, subSink.errs...)
			}
			if !ok {
				// context errors keep paths relative to this instance
				add(kw, s.msg("%s is not valid under any of the given schemas", instance), all)
			}
		}
	}
}

// msg formats a message about instance (nothing when only validity is
// wanted).
func (s *sink) msg(format string, instance *jvalue) string {
	if s.quick {
		return ""
	}
	return fmt.Sprintf(format, instance.repr())
}

func (s *sink) msg2(format string, instance, other *jvalue) string {
	if s.quick {
		return ""
	}
	return fmt.Sprintf(format, instance.repr(), other.repr())
}

func joinRepr(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = pyStr(s)
	}
	return strings.Join(out, ", ")
}

// isUUIDLike is oslo_utils.uuidutils.is_uuid_like, the 'uuid' format.
func isUUIDLike(v *jvalue) bool {
	if v == nil || v.kind != jString {
		return false
	}
	_, ok := placement.CanonicalUUID(v.s)
	return ok
}
