package placementhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementhttp"
	"github.com/goplacement/placement/placementtest"
)

const (
	fzRP       = "7b8a4f0e-2c1d-4f5e-9a6b-3c2d1e0f9a8b"
	fzChild    = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	fzConsumer = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	fzAgg      = "c0ffee00-0000-4000-8000-000000000001"
)

// fuzzFixture is a handler over a store holding a small tree with
// inventory, traits, an aggregate and an allocation, so that fuzzed
// requests reach real objects.
func fuzzFixture(tb testing.TB) (http.Handler, *memstore.Store) {
	store := memstore.New()
	eng, err := placement.New(store)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := placement.AdminContext(context.Background())
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	_, err = eng.CreateProvider(ctx, placement.ProviderSpec{UUID: fzRP, Name: "cn1"})
	must(err)
	_, err = eng.CreateProvider(ctx, placement.ProviderSpec{UUID: fzChild, Name: "numa0", ParentUUID: fzRP})
	must(err)
	_, err = eng.ReplaceInventories(ctx, fzRP, placement.ExpectGeneration(0), []placement.Inventory{
		placement.NewInventory("VCPU", 8), placement.NewInventory("DISK_GB", 100)})
	must(err)
	_, err = eng.EnsureTrait(ctx, "CUSTOM_FAST")
	must(err)
	_, err = eng.SetProviderTraits(ctx, fzRP, placement.ExpectGeneration(1), []string{"CUSTOM_FAST", "HW_CPU_X86_AVX2"})
	must(err)
	_, err = eng.SetProviderAggregates(ctx, fzRP, placement.ExpectGeneration(2), []string{fzAgg})
	must(err)
	_, err = eng.CreateResourceClass(ctx, "CUSTOM_GOLD")
	must(err)
	must(eng.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: fzConsumer, Generation: placement.ExpectNewConsumer(),
		ProjectID: "p", UserID: "u", Allocations: []placement.Allocation{{ProviderUUID: fzRP, ResourceClass: "VCPU", Used: 2}}}))
	return placementhttp.NewHandler(eng, placementhttp.WithLogger(slog.New(slog.DiscardHandler)),
		placementhttp.WithMaxBodyBytes(64<<10)), store
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return true
}

func validHeader(v string) bool {
	for _, c := range v {
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// FuzzHandler sends arbitrary methods, paths, query strings, headers and
// bodies: the handler must never panic or answer 5xx, every 4xx must be a
// Placement error document, and no 4xx may change the stored state.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method, path, query, version, ctype, accept, token string
		body                                               string
	}{
		{"GET", "/", "", "", "", "", "", ""},
		{"GET", "/resource_providers", "name=cn1&member_of=in:" + fzAgg, "1.39", "", "", "admin", ""},
		{"GET", "/resource_providers", "required=in:CUSTOM_FAST,!X&resources=VCPU:1", "1.39", "", "", "admin", ""},
		{"GET", "/resource_providers", "in_tree=" + fzChild + "&member_of=!" + fzAgg, "1.32", "", "", "admin", ""},
		{"POST", "/resource_providers", "", "1.20", "application/json", "", "admin", `{"name": "new", "parent_provider_uuid": "` + fzRP + `"}`},
		{"POST", "/resource_providers", "", "1.14", "application/json", "", "admin", `{"name": "cn1"}`},
		{"PUT", "/resource_providers/" + fzChild, "", "1.37", "application/json", "", "admin", `{"name": "numa0", "parent_provider_uuid": null}`},
		{"PUT", "/resource_providers/" + fzRP, "", "1.37", "application/json", "", "admin", `{"name": "x", "parent_provider_uuid": "` + fzChild + `"}`},
		{"DELETE", "/resource_providers/" + fzRP, "", "", "", "", "admin", ""},
		{"PUT", "/resource_providers/" + fzRP + "/inventories", "", "1.26", "application/json", "", "admin",
			`{"resource_provider_generation": 4, "inventories": {"VCPU": {"total": 8, "reserved": 8}}}`},
		{"POST", "/resource_providers/" + fzRP + "/inventories", "", "", "application/json", "", "admin", `{"resource_class": "MEMORY_MB", "total": 1024, "max_unit": 2147483648}`},
		{"PUT", "/resource_providers/" + fzRP + "/inventories/VCPU", "", "", "application/json", "", "admin", `{"resource_provider_generation": 4, "total": 1}`},
		{"DELETE", "/resource_providers/" + fzRP + "/inventories/VCPU", "", "", "", "", "admin", ""},
		{"DELETE", "/resource_providers/" + fzRP + "/inventories", "", "1.5", "", "", "admin", ""},
		{"PUT", "/resource_providers/" + fzRP + "/aggregates", "", "1.19", "application/json", "", "admin", `{"aggregates": ["` + fzAgg + `", "nope"], "resource_provider_generation": 4}`},
		{"PUT", "/resource_providers/" + fzRP + "/traits", "", "1.6", "application/json", "", "admin", `{"traits": ["CUSTOM_NOPE"], "resource_provider_generation": 4}`},
		{"DELETE", "/traits/CUSTOM_FAST", "", "1.6", "", "", "admin", ""},
		{"PUT", "/traits/CUSTOM_NEW", "", "1.6", "", "", "admin", ""},
		{"GET", "/traits", "name=in:CUSTOM_FAST&associated=maybe", "1.6", "", "", "admin", ""},
		{"PUT", "/resource_classes/VCPU", "", "1.6", "application/json", "", "admin", `{"name": "CUSTOM_X"}`},
		{"DELETE", "/resource_classes/CUSTOM_GOLD", "", "1.2", "", "", "admin", ""},
		{"PUT", "/allocations/" + fzConsumer, "", "1.28", "application/json", "", "admin",
			`{"allocations": {"` + fzRP + `": {"resources": {"VCPU": 100}}}, "project_id": "p", "user_id": "u", "consumer_generation": 1}`},
		{"PUT", "/allocations/" + fzConsumer, "", "1.0", "application/json", "", "admin",
			`{"allocations": [{"resource_provider": {"uuid": "` + fzRP + `"}, "resources": {"DISK_GB": 0}}]}`},
		{"POST", "/allocations", "", "1.38", "application/json", "", "admin",
			`{"` + fzConsumer + `": {"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": 7, "consumer_type": "X"}}`},
		{"DELETE", "/allocations/" + fzConsumer, "", "", "", "", "user", ""},
		{"GET", "/allocation_candidates", "resources=VCPU:1&resources1=DISK_GB:1&group_policy=isolate&same_subtree=1,2", "1.36", "", "", "admin", ""},
		{"GET", "/allocation_candidates", "resources=VCPU:1&limit=0&required=!!A&member_of=in:", "1.39", "", "", "admin", ""},
		{"GET", "/usages", "project_id=p&consumer_type=all", "1.38", "", "", "admin", ""},
		{"POST", "/reshaper", "", "1.30", "application/json", "", "admin",
			`{"inventories": {"` + fzRP + `": {"resource_provider_generation": 4, "inventories": {}}}, "allocations": {}}`},
		{"GET", "/resource_providers/%00/inventories", "", "", "", "text/html", "admin", ""},
		{"PATCH", "//../resource_providers", "a=%zz&b", "latest", "", "*/*;q=0", "x:y", ""},
		{"POST", "/resource_providers", "", "1.2.3", "application/json", "", "admin", `{"name": "\ud800"}`},
		{"POST", "/resource_providers", "", "", "application/json", "", "admin", `[[[[[[[[[[[[[[[[[[[[`},
		{"POST", "/resource_providers", "", "", "application/json", "", "admin", `{"name": 1e999}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.version, s.ctype, s.accept, s.token, []byte(s.body))
	}
	h, store := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, method, path, query, version, ctype, accept, token string, body []byte) {
		if !validMethod(method) || !validHeader(version) || !validHeader(ctype) || !validHeader(accept) || !validHeader(token) {
			t.Skip()
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path, RawQuery: query},
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Host:          "placement.test",
			RemoteAddr:    "192.0.2.1:1234",
			RequestURI:    path,
		}
		req = req.WithContext(context.Background())
		set := func(k, v string) {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		set("X-Auth-Token", token)
		set("Accept", accept)
		set("Content-Type", ctype)
		if version != "" {
			req.Header.Set("OpenStack-API-Version", "placement "+version)
		}
		before := placementtest.Dump(t, store)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("%s %s?%s: status %d: %s", method, path, query, rec.Code, rec.Body.Bytes())
		}
		if rec.Header().Get("X-Openstack-Request-Id") == "" {
			t.Errorf("no request id")
		}
		if rec.Code < 400 {
			return
		}
		if method != http.MethodHead {
			switch ct := rec.Header().Get("Content-Type"); ct {
			case "application/json":
				var doc map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
					t.Fatalf("error body is not JSON: %q", rec.Body.Bytes())
				}
				if rec.Code != 401 {
					errs, _ := doc["errors"].([]any)
					if len(errs) != 1 {
						t.Fatalf("not a Placement error document: %s", rec.Body.Bytes())
					}
					e := errs[0].(map[string]any)
					if e["status"] != float64(rec.Code) || e["title"] == "" || e["detail"] == "" {
						t.Fatalf("bad error document: %s", rec.Body.Bytes())
					}
				}
			case "text/html; charset=UTF-8", "text/plain; charset=UTF-8":
				if rec.Body.Len() == 0 {
					t.Fatalf("empty %s error body", ct)
				}
			default:
				t.Fatalf("error with content type %q", ct)
			}
		}
		if after := placementtest.Dump(t, store); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s %s?%s answered %d but changed the state:\nbefore %+v\nafter  %+v\nbody %s",
				method, path, query, rec.Code, before, after, rec.Body.Bytes())
		}
	})
}
