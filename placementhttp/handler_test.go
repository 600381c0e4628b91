package placementhttp_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementhttp"
	"github.com/goplacement/placement/placementtest"
)

// call sends one request to srv and returns the status, headers and body.
func call(t *testing.T, srv *placementtest.Server, method, path, version, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", "admin")
	if version != "" {
		req.Header.Set("OpenStack-API-Version", "placement "+version)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("bad JSON %q: %v", b, err)
	}
	return m
}

type errorDoc struct {
	Errors []struct {
		Status     int    `json:"status"`
		Title      string `json:"title"`
		Detail     string `json:"detail"`
		Code       string `json:"code"`
		RequestID  string `json:"request_id"`
		MaxVersion string `json:"max_version"`
	} `json:"errors"`
}

func decodeError(t *testing.T, b []byte) errorDoc {
	t.Helper()
	var e errorDoc
	if err := json.Unmarshal(b, &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("not a Placement error document: %q (%v)", b, err)
	}
	return e
}

func TestScenario(t *testing.T) {
	srv := placementtest.NewServer(t)
	const rp = "4e8e5957-649f-477b-9e5b-f1f75b21c03c"
	const consumer = "1d6a4f20-8a46-4b3b-8a5b-4c9a7a0f52f1"

	st, h, b := call(t, srv, "POST", "/resource_providers", "1.39", `{"name": "cn1", "uuid": "`+strings.ToUpper(rp)+`"}`)
	if st != 200 || !strings.HasSuffix(h.Get("Location"), "/resource_providers/"+rp) {
		t.Fatalf("create: %d %v %s", st, h, b)
	}
	if h.Get("Openstack-Api-Version") != "placement 1.39" || h.Get("Vary") != "openstack-api-version" ||
		h.Get("Cache-Control") != "no-cache" || h.Get("Last-Modified") == "" ||
		!strings.HasPrefix(h.Get("X-Openstack-Request-Id"), "req-") {
		t.Errorf("create headers: %v", h)
	}
	m := decode(t, b)
	if m["uuid"] != rp || m["generation"] != 0.0 || m["root_provider_uuid"] != rp || m["parent_provider_uuid"] != nil {
		t.Errorf("create body: %v", m)
	}

	st, _, b = call(t, srv, "PUT", "/resource_providers/"+rp+"/inventories", "1.39",
		`{"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 64, "allocation_ratio": 4.0},
		  "MEMORY_MB": {"total": 262144, "reserved": 2048}, "DISK_GB": {"total": 4000}}}`)
	if st != 200 {
		t.Fatalf("inventories: %d %s", st, b)
	}
	if !strings.Contains(string(b), `"allocation_ratio": 4.0`) {
		t.Errorf("allocation_ratio not rendered as Python does: %s", b)
	}

	st, _, b = call(t, srv, "GET", "/allocation_candidates?resources=VCPU:2,MEMORY_MB:4096,DISK_GB:40&limit=10", "1.39", "")
	if st != 200 {
		t.Fatalf("candidates: %d %s", st, b)
	}
	var cands struct {
		AllocationRequests []struct {
			Allocations map[string]struct {
				Resources map[string]int64 `json:"resources"`
			} `json:"allocations"`
			Mappings map[string][]string `json:"mappings"`
		} `json:"allocation_requests"`
		ProviderSummaries map[string]struct {
			Resources map[string]struct{ Capacity, Used int64 } `json:"resources"`
		} `json:"provider_summaries"`
	}
	if err := json.Unmarshal(b, &cands); err != nil || len(cands.AllocationRequests) != 1 {
		t.Fatalf("candidates body: %s", b)
	}
	if cands.ProviderSummaries[rp].Resources["VCPU"].Capacity != 256 {
		t.Errorf("summary: %s", b)
	}
	alloc, _ := json.Marshal(cands.AllocationRequests[0].Allocations)

	body := `{"allocations": ` + string(alloc) + `, "project_id": "p", "user_id": "u", "consumer_generation": null, "consumer_type": "INSTANCE"}`
	if st, _, b = call(t, srv, "PUT", "/allocations/"+consumer, "1.39", body); st != 204 {
		t.Fatalf("claim: %d %s", st, b)
	}
	// the same write again: the consumer exists now
	st, _, b = call(t, srv, "PUT", "/allocations/"+consumer, "1.39", body)
	if e := decodeError(t, b); st != 409 || e.Errors[0].Code != placementhttp.CodeConcurrentUpdate ||
		!strings.Contains(e.Errors[0].Detail, "consumer generation conflict - expected 1 but got None") {
		t.Errorf("second claim: %d %s", st, b)
	}

	st, _, b = call(t, srv, "GET", "/allocations/"+consumer, "1.39", "")
	m = decode(t, b)
	if st != 200 || m["consumer_generation"] != 1.0 || m["consumer_type"] != "INSTANCE" || m["project_id"] != "p" {
		t.Errorf("get allocations: %d %s", st, b)
	}
	st, _, b = call(t, srv, "GET", "/usages?project_id=p", "1.39", "")
	if st != 200 || !strings.Contains(string(b), `"INSTANCE": {"DISK_GB": 40, "MEMORY_MB": 4096, "VCPU": 2, "consumer_count": 1}`) {
		t.Errorf("usages: %d %s", st, b)
	}
	st, _, b = call(t, srv, "GET", "/usages?project_id=p", "1.9", "")
	if st != 200 || string(b) != `{"usages": {"DISK_GB": 40, "MEMORY_MB": 4096, "VCPU": 2}}` {
		t.Errorf("usages 1.9: %d %s", st, b)
	}

	// the Engine behind the server sees it all
	u, err := srv.Engine.ProviderUsages(srv.Admin(), rp)
	if err != nil || u.Usages["VCPU"] != 2 {
		t.Errorf("engine usages: %v %v", u, err)
	}

	if st, _, b = call(t, srv, "DELETE", "/resource_providers/"+rp, "1.39", ""); st != 409 ||
		decodeError(t, b).Errors[0].Code != placementhttp.CodeProviderInUse {
		t.Errorf("delete in use: %d %s", st, b)
	}
	if st, _, _ = call(t, srv, "DELETE", "/allocations/"+consumer, "1.39", ""); st != 204 {
		t.Errorf("delete allocations: %d", st)
	}
	if st, _, _ = call(t, srv, "DELETE", "/resource_providers/"+rp, "1.39", ""); st != 204 {
		t.Errorf("delete provider: %d", st)
	}
}

func TestErrors(t *testing.T) {
	srv := placementtest.NewServer(t)
	cases := []struct {
		name, method, path, version, body string
		hdr                               []string
		status                            int
		code, detail, allow               string
	}{
		{"unknown path", "GET", "/nope", "1.23", "", nil, 404, "placement.undefined_code", "The resource could not be found.", ""},
		{"no code before 1.23", "GET", "/nope", "1.22", "", nil, 404, "", "", ""},
		{"method", "DELETE", "/resource_providers", "", "", nil, 405, "", "The method DELETE is not allowed for this resource.", "GET, POST"},
		{"delete inventories before 1.5", "DELETE", "/resource_providers/x/inventories", "1.4", "", nil, 405, "", "", ""},
		{"newer route", "GET", "/traits", "1.5", "", nil, 404, "", "", ""},
		{"bad version", "GET", "/", "1.40", "", nil, 406, "", "Unacceptable version header: 1.40", ""},
		{"unparseable version", "GET", "/", "one.two", "", nil, 400, "", "invalid version string: one.two", ""},
		{"accept", "GET", "/resource_providers", "", "", []string{"Accept", "text/plain"}, 406, "", "Only application/json is provided", ""},
		{"content type", "POST", "/resource_providers", "", `{"name": "x"}`, []string{"Content-Type", "text/plain"}, 415, "", "The media type text/plain is not supported, use application/json", ""},
		{"no content type", "PUT", "/resource_providers/x", "", "", nil, 415, "", "The media type None is not supported", ""},
		{"malformed json", "POST", "/resource_providers", "", `{"name": `, nil, 400, "", "Malformed JSON", ""},
		{"schema max", "POST", "/resource_providers", "", `{"name": "` + strings.Repeat("a", 201) + `"}`, nil, 400, "", "Failed validating 'maxLength' in schema['properties']['name']", ""},
		{"schema extra", "POST", "/resource_providers", "", `{"name": "a", "color": "blue"}`, nil, 400, "", "Additional properties are not allowed ('color' was unexpected)", ""},
		{"schema uuid", "POST", "/resource_providers", "", `{"name": "a", "uuid": "nope"}`, nil, 400, "", "'nope' is not a 'uuid'", ""},
		{"query extra", "GET", "/resource_providers?color=blue", "", "", nil, 400, "", "Invalid query string parameters: Additional properties are not allowed ('color' was unexpected)", ""},
		{"query resources", "GET", "/resource_providers?resources=VCPU:0", "1.4", "", nil, 400, "", "Requested resource VCPU requires amount >= 1. Got: 0.", ""},
		{"no resource class", "GET", "/resource_providers?resources=FOO:1", "1.4", "", nil, 400, "", "Invalid resource class in resources parameter: No such resource class FOO.", ""},
		{"candidates group policy", "GET", "/allocation_candidates?resources1=VCPU:1&resources2=VCPU:1", "1.25", "", nil, 400, "placement.undefined_code", `The "group_policy" parameter is required`, ""},
		{"candidates root_required twice", "GET", "/allocation_candidates?resources=VCPU:1&root_required=A&root_required=B", "1.35", "", nil, 400, "placement.query.duplicate_key", "may be specified only once", ""},
		{"forbidden", "GET", "/resource_providers", "", "", []string{"X-Auth-Token", "user"}, 403, "", "Policy does not allow placement:resource_providers:list to be performed.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, h, b := call(t, srv, c.method, c.path, c.version, c.body, c.hdr...)
			if st != c.status {
				t.Fatalf("status %d, want %d: %s", st, c.status, b)
			}
			if c.allow != "" && h.Get("Allow") != c.allow {
				t.Errorf("Allow %q, want %q", h.Get("Allow"), c.allow)
			}
			if h.Get("Content-Type") == "text/plain; charset=UTF-8" {
				if !strings.Contains(string(b), c.detail) {
					t.Errorf("body %q lacks %q", b, c.detail)
				}
				return
			}
			e := decodeError(t, b)
			if e.Errors[0].Status != c.status || e.Errors[0].Title != http.StatusText(c.status) && c.status != 415 {
				t.Errorf("error %+v", e.Errors[0])
			}
			if e.Errors[0].Code != c.code {
				t.Errorf("code %q, want %q", e.Errors[0].Code, c.code)
			}
			if !strings.Contains(e.Errors[0].Detail, c.detail) {
				t.Errorf("detail %q lacks %q", e.Errors[0].Detail, c.detail)
			}
			if !strings.HasPrefix(e.Errors[0].RequestID, "req-") || e.Errors[0].RequestID != h.Get("X-Openstack-Request-Id") {
				t.Errorf("request id %q / %q", e.Errors[0].RequestID, h.Get("X-Openstack-Request-Id"))
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	srv := placementtest.NewServer(t)
	if st, _, _ := call(t, srv, "GET", "/", "", "", "X-Auth-Token", ""); st != 200 {
		t.Errorf("GET / without a token: %d", st)
	}
	if st, _, _ := call(t, srv, "GET", "/resource_providers", "", "", "X-Auth-Token", ""); st != 401 {
		t.Errorf("no token: %d", st)
	}
	// a system-scoped reader may read, not write
	rdr := []string{"X-Auth-Token", "someone", "X-Roles", "reader", "OpenStack-System-Scope", "all"}
	if st, _, _ := call(t, srv, "GET", "/resource_providers", "", "", rdr...); st != 200 {
		t.Errorf("system reader list: %d", st)
	}
	if st, _, _ := call(t, srv, "POST", "/resource_providers", "", `{"name": "x"}`, rdr...); st != 403 {
		t.Errorf("system reader create: %d", st)
	}

	proxy := placementtest.NewServer(t, placementtest.ServerHandlerOptions(
		placementhttp.WithAuthenticator(placementhttp.TrustedProxy())))
	if st, _, _ := call(t, proxy, "GET", "/resource_providers", "", ""); st != 401 {
		t.Errorf("proxy mode without X-User-Id: %d", st)
	}
	if st, _, _ := call(t, proxy, "POST", "/resource_providers", "", `{"name": "x"}`, "X-User-Id", "u1", "X-Roles", "admin"); st != 201 {
		t.Errorf("proxy mode admin: %d", st)
	}
}

func TestBodyLimit(t *testing.T) {
	srv := placementtest.NewServer(t, placementtest.ServerHandlerOptions(placementhttp.WithMaxBodyBytes(100)))
	st, _, b := call(t, srv, "POST", "/resource_providers", "", `{"name": "`+strings.Repeat("a", 200)+`"}`)
	if st != 413 || !strings.Contains(string(b), "larger than the limit of 100 bytes") {
		t.Errorf("413 expected: %d %s", st, b)
	}
}

func TestNonIntegerContentLength(t *testing.T) {
	srv := placementtest.NewServer(t)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// a valid request first, then one net/http alone would refuse
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	fmt.Fprintf(conn, "POST /resource_providers HTTP/1.1\r\nHost: x\r\nX-Auth-Token: admin\r\nContent-Type: application/json\r\nContent-Length: hi mom\r\n\r\n{}")
	br := bufio.NewReader(conn)
	for i, want := range []int{200, 400} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("response %d: %d %s", i, resp.StatusCode, b)
		}
		if want == 400 && !strings.Contains(string(b), "content-length header must be an integer") {
			t.Errorf("400 body: %s", b)
		}
	}
}

func TestMicroversionHeader(t *testing.T) {
	srv := placementtest.NewServer(t)
	for _, c := range []struct{ hdr, want string }{
		{"", "placement 1.0"},
		{"placement latest", "placement 1.39"},
		{"compute 2.1, placement 1.12", "placement 1.12"},
		{"PLACEMENT 1.5", "placement 1.5"},
	} {
		st, h, _ := call(t, srv, "GET", "/", "", "", "OpenStack-API-Version", c.hdr)
		if st != 200 || h.Get("OpenStack-API-Version") != c.want {
			t.Errorf("%q: %d %q, want %q", c.hdr, st, h.Get("OpenStack-API-Version"), c.want)
		}
	}
}

func TestURLPrefix(t *testing.T) {
	srv := placementtest.NewServer(t, placementtest.ServerHandlerOptions(placementhttp.WithURLPrefix("/placement")))
	rp, err := srv.Engine.CreateProvider(srv.Admin(), placement.ProviderSpec{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, b := call(t, srv, "GET", "/resource_providers/"+rp.UUID, "", "")
	if !strings.Contains(string(b), `"href": "/placement/resource_providers/`+rp.UUID+`"`) {
		t.Errorf("links without prefix: %s", b)
	}
}

func TestLenientListenerFraming(t *testing.T) {
	srv := placementtest.NewServer(t)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// chunked body, then a body with a Content-Length, then a bodiless
	// request, pipelined on one connection
	body := `{"name": "chunky"}`
	fmt.Fprintf(conn, "POST /resource_providers HTTP/1.1\r\nHost: x\r\nX-Auth-Token: admin\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x;ext=1\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n", len(body), body)
	body2 := `{"name": "plain"}`
	fmt.Fprintf(conn, "POST /resource_providers HTTP/1.1\r\nHost: x\r\nX-Auth-Token: admin\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body2), body2)
	fmt.Fprintf(conn, "GET /resource_providers HTTP/1.1\r\nHost: x\r\nX-Auth-Token: admin\r\n\r\n")
	br := bufio.NewReader(conn)
	for i, want := range []int{201, 201, 200} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("response %d: %d %s", i, resp.StatusCode, b)
		}
		if i == 2 && (!strings.Contains(string(b), "chunky") || !strings.Contains(string(b), "plain")) {
			t.Errorf("list: %s", b)
		}
	}
}

func TestConcurrentClients(t *testing.T) {
	srv := placementtest.NewServer(t)
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func() {
			for i := 0; i < 25; i++ {
				req, _ := http.NewRequest("POST", srv.URL+"/resource_providers",
					strings.NewReader(fmt.Sprintf(`{"name": "w%d-%d"}`, w, i)))
				req.Header.Set("X-Auth-Token", "admin")
				req.Header.Set("Content-Type", "application/json")
				resp, err := srv.Client().Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < 8; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ps, err := srv.Engine.Providers(srv.Admin(), placement.ProviderFilter{})
	if err != nil || len(ps) != 200 {
		t.Fatalf("%d providers, %v", len(ps), err)
	}
}
