package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is the package's one mechanism for variable-length lists
// (DESIGN rule 7): a list is bound as ONE parameter holding a JSON array,
// which the statement expands with json_each(?) (SQLite) or
// jsonb_array_elements(CAST(? AS jsonb)) (PostgreSQL). Statement texts never
// depend on the values or on their number.
//
// On PostgreSQL the elements are encoded as stored (pgEncode). An element
// that is not valid UTF-8 is dropped: JSON cannot carry it, and the Engine
// only stores valid UTF-8 in the fields lists filter on (traits and
// aggregates). Dropping it keeps the filter's meaning: an exclusion list
// excludes nothing more, and an any-of set that becomes empty matches
// nothing.

// listArg encodes a list of names as a JSON array parameter.
func (s *Store) listArg(vals []string) string {
	b := make([]byte, 0, 2+len(vals)*40)
	b = append(b, '[')
	n := 0
	for _, v := range vals {
		if e, ok := s.element(v); ok {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, e)
			n++
		}
	}
	return string(append(b, ']'))
}

// idsArg encodes row ids as a JSON array parameter.
func idsArg(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s (valid UTF-8) as a JSON string: as it is
// between quotes when it holds only printable ASCII other than quote and
// backslash (uuids, names), else as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return append(b, mustJSON(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// setsArg encodes an AND of any-of sets as a JSON array of arrays.
func (s *Store) setsArg(sets [][]string) string {
	out := make([][]string, len(sets))
	for i, set := range sets {
		out[i] = make([]string, 0, len(set))
		for _, v := range set {
			if e, ok := s.element(v); ok {
				out[i] = append(out[i], e)
			}
		}
	}
	return mustJSON(out)
}

// allocationsArg encodes allocation rows as a JSON array of
// [provider uuid, class name, used] triples (PostgreSQL's one-round-trip
// insert); ok is false if some name cannot match a stored one.
func (s *Store) allocationsArg(rows [][3]any) (string, bool) {
	for i := range rows {
		for j := range 2 {
			e, ok := s.element(rows[i][j].(string))
			if !ok {
				return "", false
			}
			rows[i][j] = e
		}
	}
	return mustJSON(rows), true
}

// classSeed is a standard resource class to insert with its id.
type classSeed struct {
	id   int64
	name string
}

// seedArg encodes standard classes as a JSON array of [id, name] pairs.
func (s *Store) seedArg(seed []classSeed) string {
	rows := make([][2]any, 0, len(seed))
	for _, c := range seed {
		if e, ok := s.element(c.name); ok {
			rows = append(rows, [2]any{c.id, e})
		}
	}
	return mustJSON(rows)
}

// element returns v as the database stores it and whether it can equal a
// stored value at all.
func (s *Store) element(v string) (string, bool) {
	if !utf8.ValidString(v) {
		return "", false
	}
	if s.dialect == PostgreSQL {
		return pgEncode(v), true
	}
	return v, true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("sqlstore: encoding a list parameter: %w", err)) // strings and ints always encode
	}
	return string(b)
}

// PostgreSQL text cannot hold NUL (0x00). Strings are stored in an
// order-preserving, injective encoding that only touches strings containing
// 0x00 or 0x01: 0x00 becomes 0x01 0x01 and 0x01 becomes 0x01 0x02. Byte-wise
// order (the "C" collation) and equality of encoded strings are those of the
// originals, so uniqueness, lookups and ORDER BY work on stored values.

// pgEncode returns s as PostgreSQL stores it.
func pgEncode(s string) string {
	if strings.IndexByte(s, 0) < 0 && strings.IndexByte(s, 1) < 0 {
		return s
	}
	b := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, 1, 1)
		case 1:
			b = append(b, 1, 2)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// pgDecode inverts pgEncode.
func pgDecode(s string) string {
	if strings.IndexByte(s, 1) < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 1 && i+1 < len(s) {
			i++
			c = s[i] - 1
		}
		b = append(b, c)
	}
	return string(b)
}
