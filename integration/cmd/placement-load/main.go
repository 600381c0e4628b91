// Command placement-load measures a Placement server under the workload of
// issue 5: N providers created by 8 clients (POST plus PUT inventories),
// allocation candidate queries with and without limit, and claims (PUT
// /allocations for new consumers) with 1 and 8 clients. All requests use
// microversion 1.36 and the noauth2 admin token. It only talks to the URL it
// is given (use a server on this machine), and every loop is bounded.
//
//	placement-load -url http://127.0.0.1:8778 -providers 1000
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

var (
	baseURL   = flag.String("url", "http://127.0.0.1:8778", "server base URL (a server on this machine)")
	providers = flag.Int("providers", 1000, "number of providers to create")
	clients   = flag.Int("clients", 8, "concurrent clients for creates and the parallel claim phase")
	queries   = flag.Int("queries", 30, "candidate queries per variant")
	claims    = flag.Int("claims", 2000, "claims per claim phase")
	version   = flag.String("microversion", "1.36", "microversion")
	skipSetup = flag.Bool("skip-create", false, "do not create providers (reuse existing ones)")
)

const query = "resources=VCPU:2,MEMORY_MB:4096,DISK_GB:40"

var client = &http.Client{
	Timeout:   120 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, *baseURL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Auth-Token", "admin")
	req.Header.Set("OpenStack-API-Version", "placement "+*version)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func must(status int, want int, b []byte, err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
	if status != want {
		fmt.Fprintf(os.Stderr, "%s: status %d: %s\n", what, status, b)
		os.Exit(1)
	}
}

// parallel runs n jobs on k workers and returns the elapsed time.
func parallel(n, k int, job func(i int)) time.Duration {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < k; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				job(i)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func main() {
	flag.Parse()
	var uuids []string
	if !*skipSetup {
		uuids = make([]string, *providers)
		inv := map[string]any{
			"VCPU":      map[string]any{"total": 64, "allocation_ratio": 4.0},
			"MEMORY_MB": map[string]any{"total": 262144, "reserved": 2048},
			"DISK_GB":   map[string]any{"total": 4000},
		}
		el := parallel(*providers, *clients, func(i int) {
			u := newUUID()
			st, b, err := do("POST", "/resource_providers", map[string]any{"name": "load-" + u, "uuid": u})
			must(st, 200, b, err, "create provider")
			st, b, err = do("PUT", "/resource_providers/"+u+"/inventories", map[string]any{
				"resource_provider_generation": 0, "inventories": inv})
			must(st, 200, b, err, "set inventories")
			uuids[i] = u
		})
		fmt.Printf("creates (POST + PUT inventories), %d clients: %d in %s = %.0f/s\n",
			*clients, *providers, el.Round(time.Millisecond), float64(*providers)/el.Seconds())
	} else {
		st, b, err := do("GET", "/resource_providers", nil)
		must(st, 200, b, err, "list providers")
		var l struct {
			RPs []struct{ UUID string } `json:"resource_providers"`
		}
		_ = json.Unmarshal(b, &l)
		for _, p := range l.RPs {
			uuids = append(uuids, p.UUID)
		}
	}
	fmt.Printf("providers: %d\n", len(uuids))

	for _, variant := range []string{"&limit=1000", ""} {
		var lat []time.Duration
		n := 0
		for i := 0; i < *queries; i++ {
			t := time.Now()
			st, b, err := do("GET", "/allocation_candidates?"+query+variant, nil)
			lat = append(lat, time.Since(t))
			must(st, 200, b, err, "candidates")
			var r struct {
				AR []json.RawMessage `json:"allocation_requests"`
			}
			_ = json.Unmarshal(b, &r)
			n = len(r.AR)
		}
		name := "no limit"
		if variant != "" {
			name = "limit=1000"
		}
		fmt.Printf("candidates (%s): %d results, p50 %s, p90 %s, max %s over %d queries\n",
			name, n, ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 1)), *queries)
	}

	for _, k := range []int{1, *clients} {
		var conflicts atomic.Int64
		el := parallel(*claims, k, func(i int) {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(uuids))))
			rp := uuids[n.Int64()]
			st, b, err := do("PUT", "/allocations/"+newUUID(), map[string]any{
				"allocations": map[string]any{rp: map[string]any{"resources": map[string]int{"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40}}},
				"project_id":  "load", "user_id": "load", "consumer_generation": nil,
			})
			if err == nil && st == 409 {
				conflicts.Add(1) // provider full
				return
			}
			must(st, 204, b, err, "claim")
		})
		fmt.Printf("claims, %d client(s): %d in %s = %.0f/s (%d refused as full)\n",
			k, *claims, el.Round(time.Millisecond), float64(*claims)/el.Seconds(), conflicts.Load())
	}
}
