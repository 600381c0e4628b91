package placementhttp

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func plainByte(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }

// TestPlainWord checks plainWord against plainByte for every byte value
// at every position, and for every pair of byte values at a few pairs of
// positions (where borrows between bytes could show).
func TestPlainWord(t *testing.T) {
	word := func(bs [8]byte) uint64 {
		var w uint64
		for i, b := range bs {
			w |= uint64(b) << (8 * i)
		}
		return w
	}
	filler := [8]byte{'a', '-', '0', 'Z', '~', ' ', '9', '_'}
	for c := range 256 {
		for pos := range 8 {
			bs := filler
			bs[pos] = byte(c)
			if got, want := plainWord(word(bs)), plainByte(byte(c)); got != want {
				t.Fatalf("byte %#x at %d: plainWord %v, want %v", c, pos, got, want)
			}
		}
	}
	for _, p := range [][2]int{{0, 1}, {3, 4}, {6, 7}, {0, 7}} {
		for c := range 256 {
			for d := range 256 {
				bs := filler
				bs[p[0]], bs[p[1]] = byte(c), byte(d)
				if got, want := plainWord(word(bs)), plainByte(byte(c)) && plainByte(byte(d)); got != want {
					t.Fatalf("bytes %#x, %#x at %v: plainWord %v, want %v", c, d, p, got, want)
				}
			}
		}
	}
}

// FuzzAppendString: appendString writes a JSON string that decodes to its
// input (valid UTF-8), in pure printable ASCII (Python's ensure_ascii).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "7f3b0a4e-0000-4000-8000-000000000001", `a"b\c`, "tab\tnl\n", "ünï ✓ 𝄞", "\x00\x7f", "0123456\"89abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		b := appendString(nil, s)
		for _, c := range b {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("appendString(%q) = %q: byte %#x", s, b, c)
			}
		}
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Fatalf("appendString(%q) = %s decodes to %q, %v", s, b, got, err)
		}
	})
}
