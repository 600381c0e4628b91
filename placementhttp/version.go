package placementhttp

import (
	"fmt"
	"strconv"
	"strings"
)

// Microversions: 1.0 to 1.39, as OpenStack Placement 8.0.0.

// MinVersion and MaxVersion are the microversions the handler speaks.
const (
	MinVersion = "1.0"
	MaxVersion = "1.39"
	maxMinor   = 39
)

// version is a microversion 1.minor (the major is always 1).
type version struct{ minor int }

func (v version) String() string {
	if v.minor >= 0 && v.minor <= maxMinor {
		return versionStrings[v.minor]
	}
	return fmt.Sprintf("1.%d", v.minor)
}

// header is the OpenStack-API-Version response header value.
func (v version) header() string {
	if v.minor >= 0 && v.minor <= maxMinor {
		return versionHeaders[v.minor]
	}
	return "placement " + v.String()
}

var versionStrings, versionHeaders = func() (s, h [maxMinor + 1]string) {
	for i := range s {
		s[i] = "1." + strconv.Itoa(i)
		h[i] = "placement " + s[i]
	}
	return s, h
}()

// atLeast reports whether v >= 1.minor (Placement's want_version.matches).
func (v version) atLeast(minor int) bool { return v.minor >= minor }

const versionHeader = "OpenStack-API-Version"

// errVersion is a failure to parse the requested microversion: bad is true
// for an unparseable string (400), false for a well-formed but unknown
// version (406).
type errVersion struct {
	bad bool
	msg string
}

// negotiateVersion reads the OpenStack-API-Version header(s) as
// microversion_parse does: the header values (folded with ",") are scanned
// right to left for "placement X.Y"; no header means 1.0, "latest" 1.39.
func negotiateVersion(values []string) (version, *errVersion) {
	found := ""
	if len(values) > 0 {
		folded := strings.Join(values, ",")
		parts := strings.Split(folded, ",")
		for i := len(parts) - 1; i >= 0; i-- {
			fields := strings.Fields(parts[i])
			if len(fields) < 2 {
				continue
			}
			if strings.EqualFold(fields[0], "placement") {
				// Python: header_value.strip().split(None, 1)[1].strip()
				found = strings.TrimSpace(strings.TrimSpace(parts[i])[len(fields[0]):])
				break
			}
		}
	}
	s := found
	if s == "" {
		s = MinVersion
	}
	if s == "latest" {
		s = MaxVersion
	}
	major, minor, ok := parseVersionString(s)
	if !ok {
		return version{}, &errVersion{bad: true, msg: fmt.Sprintf("invalid version string: %s", s)}
	}
	if major != 1 || minor < 0 || minor > maxMinor {
		return version{}, &errVersion{msg: fmt.Sprintf("Unacceptable version header: %s", s)}
	}
	return version{minor: minor}, nil
}

// parseVersionString is microversion_parse.parse_version_string: "X.Y" with
// each part a Python int() literal (surrounding whitespace, a sign and
// underscores between digits allowed).
func parseVersionString(s string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(s, ".")
	if !found {
		return 0, 0, false
	}
	major, ok1 := pyInt(a)
	minor, ok2 := pyInt(b)
	return major, minor, ok1 && ok2
}

func pyInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	digits := strings.ReplaceAll(s, "_", "")
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if t := strings.TrimLeft(digits, "0"); len(t) > 9 {
		// far outside any version; still "well formed"
		if sign == "-" {
			return -1, true
		}
		return 1 << 30, true
	}
	n, err := strconv.Atoi(sign + digits)
	return n, err == nil
}
