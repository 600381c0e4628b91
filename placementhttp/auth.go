package placementhttp

import (
	"net/http"
	"strings"

	"github.com/goplacement/placement"
)

// An Authenticator establishes who is calling. It returns the caller's
// identity, or ok false when the request carries no acceptable credentials
// (the handler then answers 401). The version document at "/" is served
// without asking it.
type Authenticator interface {
	Authenticate(r *http.Request) (id placement.Identity, ok bool)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (placement.Identity, bool)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (placement.Identity, bool) { return f(r) }

// NoAuth2 returns Placement's "noauth2" authentication, for tests and
// development: the X-Auth-Token header is "user" or "user:project" (the
// project defaults to the user); the user "admin" has the role admin,
// anyone else no role, unless an X-Roles header (comma separated) says
// otherwise; an OpenStack-System-Scope header makes the caller
// system-scoped (no project). No token is 401. It trusts the client
// completely: never expose it to untrusted networks.
func NoAuth2() Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (placement.Identity, bool) {
		tokens, present := r.Header["X-Auth-Token"]
		if !present || len(tokens) == 0 {
			return placement.Identity{}, false
		}
		user, project, _ := strings.Cut(tokens[0], ":")
		if project == "" {
			project = user
		}
		id := placement.Identity{UserID: user, ProjectID: project}
		if _, has := r.Header["X-Roles"]; has {
			id.Roles = splitRoles(r.Header.Get("X-Roles"))
		} else if user == "admin" {
			id.Roles = []string{"admin"}
		}
		if scope := r.Header.Get("Openstack-System-Scope"); scope != "" {
			id.SystemScope = scope
			id.ProjectID = ""
		}
		return id, true
	})
}

// TrustedProxy returns an Authenticator for deployments where an
// authenticating proxy (keystonemiddleware, an API gateway) sits in front
// and passes the caller's identity in headers: X-User-Id (or X-User),
// X-Project-Id (or X-Tenant-Id), X-Roles (comma separated) and
// OpenStack-System-Scope. A request without a user is 401. The proxy must
// strip these headers from what clients send.
func TrustedProxy() Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (placement.Identity, bool) {
		first := func(names ...string) string {
			for _, n := range names {
				if v := strings.TrimSpace(r.Header.Get(n)); v != "" {
					return v
				}
			}
			return ""
		}
		user := first("X-User-Id", "X-User")
		if user == "" {
			return placement.Identity{}, false
		}
		id := placement.Identity{
			UserID:      user,
			ProjectID:   first("X-Project-Id", "X-Tenant-Id", "X-Tenant"),
			Roles:       splitRoles(r.Header.Get("X-Roles")),
			SystemScope: first("Openstack-System-Scope"),
		}
		if id.SystemScope != "" {
			id.ProjectID = ""
		}
		return id, true
	})
}

func splitRoles(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
