package placementhttp_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementhttp"
)

// The workload, in process (no network), over memstore: these
// measure the REST layer's own cost. cmd/placement-load in the integration
// module runs the same workload against a real server.

func benchHandler(b *testing.B) (http.Handler, *placement.Engine) {
	eng, err := placement.New(memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	return placementhttp.NewHandler(eng, placementhttp.WithLogger(slog.New(slog.DiscardHandler))), eng
}

func serve(b *testing.B, h http.Handler, method, path, body string, want int) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("X-Auth-Token", "admin")
	req.Header.Set("OpenStack-API-Version", "placement 1.36")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.Bytes())
	}
}

const benchInventories = `{"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 64, "allocation_ratio": 4.0}, "MEMORY_MB": {"total": 262144, "reserved": 2048}, "DISK_GB": {"total": 4000}}}`

func createProviders(b *testing.B, h http.Handler, n int) []string {
	uuids := make([]string, n)
	for i := range uuids {
		uuids[i] = placement.NewUUID()
		serve(b, h, "POST", "/resource_providers", fmt.Sprintf(`{"name": "rp-%s", "uuid": "%s"}`, uuids[i], uuids[i]), 200)
		serve(b, h, "PUT", "/resource_providers/"+uuids[i]+"/inventories", benchInventories, 200)
	}
	return uuids
}

// BenchmarkCreate is one provider create: POST plus PUT inventories.
func BenchmarkCreate(b *testing.B) {
	h, _ := benchHandler(b)
	b.ReportAllocs()
	for b.Loop() {
		createProviders(b, h, 1)
	}
}

func BenchmarkCandidates1000(b *testing.B) {
	h, _ := benchHandler(b)
	createProviders(b, h, 1000)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "GET", "/allocation_candidates?resources=VCPU:2,MEMORY_MB:4096,DISK_GB:40", "", 200)
	}
}

// BenchmarkClaim is one claim (PUT /allocations for a new consumer) and
// its release (DELETE), so that providers never fill up.
func BenchmarkClaim(b *testing.B) {
	h, _ := benchHandler(b)
	uuids := createProviders(b, h, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rp := uuids[i%len(uuids)]
		i++
		consumer := placement.NewUUID()
		body := `{"allocations": {"` + rp + `": {"resources": {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40}}}, "project_id": "p", "user_id": "u", "consumer_generation": null}`
		serve(b, h, "PUT", "/allocations/"+consumer, body, 204)
		serve(b, h, "DELETE", "/allocations/"+consumer, "", 204)
	}
}
