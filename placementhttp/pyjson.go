package placementhttp

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// marshal encodes v as Python's json.dumps does (", " and ": " separators,
// non-ASCII characters escaped), for the value types the handlers build:
// obj, slices, strings, integers, pyfloat, bool and nil.
func marshal(v any) []byte { return appendJSON(make([]byte, 0, 512), v) }

// Response bodies are encoded into pooled buffers: a candidates answer over
// thousands of providers is megabytes, and allocating (and clearing) it for
// every request costs more than encoding it.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 16 << 20

func getBody() *[]byte { return bodyPool.Get().(*[]byte) }

func putBody(b *[]byte) {
	if cap(*b) <= maxPooledBody {
		*b = (*b)[:0]
		bodyPool.Put(b)
	}
}

// appendJSON appends v encoded as marshal does.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case obj:
		b = append(b, '{')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, e.k)
			b = append(b, ": "...)
			b = appendJSON(b, e.v)
		}
		return append(b, '}')
	case []obj:
		return appendArray(b, x, func(b []byte, e obj) []byte { return appendJSON(b, e) })
	case []any:
		return appendArray(b, x, appendJSON)
	case []string:
		return appendStrings(b, x)
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case pyfloat:
		return appendPyFloat(b, float64(x))
	case rawJSON:
		return append(b, x...)
	case bool:
		return strconv.AppendBool(b, x)
	}
	j, err := json.Marshal(v)
	if err != nil {
		j = []byte("null")
	}
	return append(b, j...)
}

// appendStrings appends a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte { return appendArray(b, ss, appendString) }

// appendArray appends xs as a JSON array (Python's separators), each element
// written by elem.
func appendArray[T any](b []byte, xs []T, elem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = elem(b, x)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// rawJSON is an encoded JSON value, appended as it is.
type rawJSON []byte

// appendString appends s as a JSON string with Python's ensure_ascii
// escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendPyFloat appends pyFloat(f).
func appendPyFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e16) {
		// repr's fixed notation: the shortest digits, and ".0" when
		// they have no fraction
		n := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		if !bytes.ContainsRune(b[n:], '.') {
			b = append(b, ".0"...)
		}
		return b
	}
	return append(b, pyFloat(f)...)
}

// plainWord reports whether the 8 bytes of w are all printable ASCII
// (0x20 to 0x7e) other than '"' and '\\': bytes that appendEscaped copies
// as they are. (The tests for a byte below n or equal to c are exact for
// words without bytes of 0x80 and above, which the first test rules out.)
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := func(x uint64, n uint64) uint64 { return (x - ones*n) & ^x & highs }
	equal := func(x uint64, c uint64) uint64 { return below(x^(ones*c), 1) }
	return w&highs == 0 && below(w, 0x20)|equal(w, 0x7f)|equal(w, '"')|equal(w, '\\') == 0
}

// appendEscaped appends s escaped as appendString does, without quotes.
func appendEscaped(b []byte, s string) []byte {
	i := 0
	for i+8 <= len(s) && plainWord(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
		uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
		i += 8 // (uuids and names: most strings are plain, 8 bytes at a time)
	}
	for i < len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			break
		}
		i++
	}
	b = append(b, s[:i]...)
	if i == len(s) {
		return b
	}
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
	}
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r -= 0x10000
				b = u(b, 0xd800+(r>>10)&0x3ff)
				b = u(b, 0xdc00+r&0x3ff)
			} else {
				b = u(b, r)
			}
		default:
			b = append(b, byte(r))
		}
	}
	return b
}
