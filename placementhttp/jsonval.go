package placementhttp

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A request body is parsed into a jvalue tree rather than into Go structs:
// JSON Schema validation needs the member order of objects (jsonschema
// reports the first error in document order), the exact integer values a
// client sent (Python's integers are unbounded: 2147483648 must be reported
// as too big, not truncated), and Python's repr of values for its messages.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

type jvalue struct {
	kind jkind
	b    bool
	s    string // string value, or the literal text of a number
	// numbers: integral literals are kept exactly, in n when small (then
	// i is nil) or else in i; others in f
	isInt bool
	small bool
	n     int64
	i     *big.Int
	f     float64
	arr   []*jvalue
	obj   []jmember
}

type jmember struct {
	key string
	val *jvalue
}

const maxJSONDepth = 512

var errTooDeep = errors.New("maximum nesting depth exceeded")

// parseJSON parses one JSON document (Python's json.loads rules, except
// that NaN and Infinity literals are refused). Duplicate object keys keep
// the first position and the last value, as a Python dict does.
func parseJSON(data []byte) (*jvalue, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("body is not valid UTF-8")
	}
	p := &jparser{data: data}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos < len(p.data) {
		return nil, p.errorf("Extra data")
	}
	return v, nil
}

type jparser struct {
	data []byte
	pos  int
}

// errorf formats a message as Python's json module does ("Expecting
// value: line 1 column 5 (char 4)").
func (p *jparser) errorf(msg string) error {
	line, col := 1, 1
	for i := 0; i < p.pos && i < len(p.data); i++ {
		if p.data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s: line %d column %d (char %d)", msg, line, col, p.pos)
}

func (p *jparser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (*jvalue, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("Expecting value")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		v := &jvalue{kind: jObject, obj: []jmember{}}
		p.ws()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return v, nil
		}
		for {
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return nil, p.errorf("Expecting property name enclosed in double quotes")
			}
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return nil, p.errorf("Expecting ':' delimiter")
			}
			p.pos++
			p.ws()
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if i := v.index(key); i >= 0 {
				v.obj[i].val = e
			} else {
				v.obj = append(v.obj, jmember{key, e})
			}
			p.ws()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				return v, nil
			}
			return nil, p.errorf("Expecting ',' delimiter")
		}
	case c == '[':
		p.pos++
		v := &jvalue{kind: jArray, arr: []*jvalue{}}
		p.ws()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		for {
			p.ws()
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.arr = append(v.arr, e)
			p.ws()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == ']' {
				p.pos++
				return v, nil
			}
			return nil, p.errorf("Expecting ',' delimiter")
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jvalue{kind: jString, s: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	for _, lit := range [...]struct {
		text string
		v    jvalue
	}{{"true", jvalue{kind: jBool, b: true}}, {"false", jvalue{kind: jBool}}, {"null", jvalue{kind: jNull}}} {
		if bytes.HasPrefix(p.data[p.pos:], []byte(lit.text)) {
			p.pos += len(lit.text)
			v := lit.v
			return &v, nil
		}
	}
	return nil, p.errorf("Expecting value")
}

func (p *jparser) number() (*jvalue, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		p.pos = start
		return nil, p.errorf("Expecting value")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		save := p.pos
		p.pos++
		if digits() == 0 {
			p.pos = save
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		save := p.pos
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			p.pos = save
		}
	}
	return numberValue(string(p.data[start:p.pos])), nil
}

// str parses a JSON string at p.pos (which is '"').
func (p *jparser) str() (string, error) {
	p.pos++
	start := p.pos
	// fast path: no escapes
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	var b strings.Builder
	b.Write(p.data[start:p.pos])
	for {
		if p.pos >= len(p.data) {
			p.pos = start - 1
			return "", p.errorf("Unterminated string starting at")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return "", p.errorf("Invalid control character at")
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			p.pos = start - 1
			return "", p.errorf("Unterminated string starting at")
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("Invalid \\uXXXX escape")
			}
			if r >= 0xd800 && r < 0xdc00 && p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				save := p.pos
				p.pos += 2
				if r2, ok := p.hex4(); ok && r2 >= 0xdc00 && r2 < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
				} else {
					p.pos = save
				}
			}
			b.WriteRune(r) // a lone surrogate becomes U+FFFD
		default:
			p.pos -= 2
			return "", p.errorf("Invalid \\escape")
		}
	}
}

func (p *jparser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(n), true
}

func numberValue(text string) *jvalue {
	v := &jvalue{kind: jNumber, s: text}
	if len(strings.TrimPrefix(text, "-")) <= 15 && !strings.ContainsAny(text, ".eE") {
		// at most 15 digits: exact in an int64 and in a float64
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			v.isInt, v.small, v.n, v.f = true, true, n, float64(n)
			return v
		}
	}
	if !strings.ContainsAny(text, ".eE") {
		if i, ok := new(big.Int).SetString(text, 10); ok {
			v.isInt, v.i = true, i
			v.f, _ = new(big.Float).SetInt(i).Float64()
			return v
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		f = math.NaN()
	}
	v.f = f
	return v
}

func (v *jvalue) index(key string) int {
	for i, m := range v.obj {
		if m.key == key {
			return i
		}
	}
	return -1
}

// get returns the member key of an object (nil if absent or not an object).
func (v *jvalue) get(key string) *jvalue {
	if v == nil || v.kind != jObject {
		return nil
	}
	if i := v.index(key); i >= 0 {
		return v.obj[i].val
	}
	return nil
}

func (v *jvalue) has(key string) bool { return v.get(key) != nil }

// isInteger reports whether v is an integer as JSON Schema 2020-12 (and
// Python's jsonschema) counts: an integral literal or a float with no
// fractional part.
func (v *jvalue) isInteger() bool {
	if v == nil || v.kind != jNumber {
		return false
	}
	if v.isInt {
		return true
	}
	return !math.IsInf(v.f, 0) && !math.IsNaN(v.f) && v.f == math.Trunc(v.f)
}

// int64 returns an integer value clamped to the int64 range.
func (v *jvalue) int64() int64 {
	if v.small {
		return v.n
	}
	if v.isInt {
		if v.i.IsInt64() {
			return v.i.Int64()
		}
		if v.i.Sign() < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	switch {
	case v.f >= 0x1p63:
		return math.MaxInt64
	case v.f < -0x1p63:
		return math.MinInt64
	}
	return int64(v.f)
}

// float returns a number as a float64.
func (v *jvalue) float() float64 { return v.f }

// cmpNumber compares a number value with a schema bound.
func (v *jvalue) cmpNumber(bound *jvalue) int {
	if v.small && bound.small {
		return cmp.Compare(v.n, bound.n)
	}
	if (v.small || !v.isInt) && (bound.small || !bound.isInt) && !math.IsNaN(v.f) && !math.IsNaN(bound.f) {
		// both exact in a float64 (a small integer is)
		switch {
		case v.f < bound.f:
			return -1
		case v.f > bound.f:
			return 1
		}
		return 0
	}
	if v.isInt && bound.isInt {
		return v.bigInt().Cmp(bound.bigInt())
	}
	a, b := v.bigFloat(), bound.bigFloat()
	if a == nil || b == nil {
		return 0
	}
	return a.Cmp(b)
}

// bigInt returns an integer value as a big.Int.
func (v *jvalue) bigInt() *big.Int {
	if v.small {
		return big.NewInt(v.n)
	}
	return v.i
}

func (v *jvalue) bigFloat() *big.Float {
	if v.isInt {
		return new(big.Float).SetInt(v.bigInt())
	}
	if math.IsNaN(v.f) {
		return nil
	}
	return big.NewFloat(v.f)
}

// equal reports JSON equality as Python compares the decoded values (1 ==
// 1.0; True is not 1 for uniqueItems in jsonschema 4).
func (v *jvalue) equal(o *jvalue) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case jNull:
		return true
	case jBool:
		return v.b == o.b
	case jNumber:
		return v.cmpNumber(o) == 0
	case jString:
		return v.s == o.s
	case jArray:
		return slices.EqualFunc(v.arr, o.arr, (*jvalue).equal)
	case jObject:
		if len(v.obj) != len(o.obj) {
			return false
		}
		for _, m := range v.obj {
			ov := o.get(m.key)
			if ov == nil || !m.val.equal(ov) {
				return false
			}
		}
		return true
	}
	return false
}

// repr formats v as Python's repr of the decoded value (pprint-like: dict
// keys sorted), for jsonschema-style messages.
func (v *jvalue) repr() string {
	var b strings.Builder
	v.writeRepr(&b)
	return b.String()
}

func (v *jvalue) writeRepr(b *strings.Builder) {
	if v == nil {
		b.WriteString("None")
		return
	}
	switch v.kind {
	case jNull:
		b.WriteString("None")
	case jBool:
		if v.b {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case jNumber:
		if v.small {
			b.WriteString(strconv.FormatInt(v.n, 10))
		} else if v.isInt {
			b.WriteString(v.i.String())
		} else {
			b.WriteString(pyFloat(v.f))
		}
	case jString:
		b.WriteString(pyStr(v.s))
	case jArray:
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteString(", ")
			}
			e.writeRepr(b)
		}
		b.WriteByte(']')
	case jObject:
		members := slices.Clone(v.obj)
		slices.SortFunc(members, func(x, y jmember) int { return strings.Compare(x.key, y.key) })
		b.WriteByte('{')
		for i, m := range members {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyStr(m.key))
			b.WriteString(": ")
			m.val.writeRepr(b)
		}
		b.WriteByte('}')
	}
}

// pyFloat formats f as Python's repr(float).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	r := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(r, ".") {
		r += ".0"
	}
	return r
}

// pyStr formats s as Python's repr(str).
func pyStr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// strValue wraps a Go string as a jvalue (for query parameters and path
// values validated with the same schemas).
func strValue(s string) *jvalue { return &jvalue{kind: jString, s: s} }
