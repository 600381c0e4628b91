// Command placement-load measures a Placement server under the workload of
// issue 5: providers created by 8 clients (POST plus PUT inventories: VCPU
// 64 ratio 4.0, MEMORY_MB 262144 reserved 2048, DISK_GB 4000), allocation
// candidate queries (resources=VCPU:2,MEMORY_MB:4096,DISK_GB:40) with
// limit=1000 and without, and claims of that amount (PUT /allocations for
// new consumers, consumer_generation null, on a random provider) with 1
// and with 8 clients. All requests use microversion 1.36 and the noauth2
// admin token. It only talks to the URL it is given (use a server on this
// machine, started on an empty database), and every loop is bounded.
//
// -providers takes one count or several ("1000,5000"): the providers are
// created in stages up to each count, and the candidate queries run after
// each stage; the claims run at the end. The last lines sum the figures
// up next to the targets (20 times OpenStack Placement 8.0.0 on
// creates and claims, 50 times on the query at 1,000 providers, 20 times at
// 5,000 without limit).
//
//	placement-api --database /tmp/load.db &
//	placement-load -url http://127.0.0.1:8778 -providers 1000,5000
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	baseURL   = flag.String("url", "http://127.0.0.1:8778", "server base URL (a server on this machine)")
	providers = flag.String("providers", "1000", "number of providers to create, or increasing numbers separated by commas (created in stages, the queries run after each)")
	clients   = flag.Int("clients", 8, "concurrent clients for creates and the parallel claim phase")
	queries   = flag.Int("queries", 30, "candidate queries per variant")
	claims    = flag.Int("claims", 2000, "claims per claim phase")
	version   = flag.String("microversion", "1.36", "microversion")
	skipSetup = flag.Bool("skip-create", false, "do not create providers (reuse existing ones)")
)

const query = "resources=VCPU:2,MEMORY_MB:4096,DISK_GB:40"

// Placement 8.0.0's figures on the reference machine and the factors the
// issue asks for.
const (
	refCreates    = 120.0 // creates/s, 8 clients
	refQuery1000  = 140.0 // ms p50, 1,000 providers
	refQuery5000  = 520.0 // ms p50, 5,000 providers, no limit
	refClaims1    = 50.0  // claims/s, 1 client
	refClaims8    = 96.0  // claims/s, 8 clients
	factorCreates = 20.0
	factorQuery   = 50.0
	factorQuery5k = 20.0
	factorClaims  = 20.0

	inventories = `{"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 64, "allocation_ratio": 4.0}, "MEMORY_MB": {"total": 262144, "reserved": 2048}, "DISK_GB": {"total": 4000}}}`
)

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

// do sends a request with a JSON body (already encoded, "" for none) and
// returns the status and the response body.
func do(method, path, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, *baseURL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Auth-Token", "admin")
	req.Header.Set("OpenStack-API-Version", "placement "+*version)
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength < 1<<30 {
		buf.Grow(int(resp.ContentLength))
	}
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
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

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// create makes n providers with k clients and returns the elapsed time.
func create(uuids []string, k int) time.Duration {
	return parallel(len(uuids), k, func(i int) {
		u := newUUID()
		st, b, err := do("POST", "/resource_providers", `{"name": "load-`+u+`", "uuid": "`+u+`"}`)
		must(st, 200, b, err, "create provider")
		st, b, err = do("PUT", "/resource_providers/"+u+"/inventories", inventories)
		must(st, 200, b, err, "set inventories")
		uuids[i] = u
	})
}

// candidates runs the query *queries times and returns the p50.
func candidates(variant string) time.Duration {
	var lat []time.Duration
	n := 0
	for i := 0; i < *queries; i++ {
		t := time.Now()
		st, b, err := do("GET", "/allocation_candidates?"+query+variant, "")
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
	p50 := percentile(lat, 0.5)
	fmt.Printf("candidates (%s): %d results, p50 %s, p90 %s, max %s over %d queries\n",
		name, n, ms(p50), ms(percentile(lat, 0.9)), ms(percentile(lat, 1)), *queries)
	return p50
}

type stageResult struct {
	providers         int
	limitP50, fullP50 time.Duration
}

func main() {
	flag.Parse()
	var counts []int
	for _, f := range strings.Split(*providers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(counts) > 0 && n <= counts[len(counts)-1]) {
			fmt.Fprintf(os.Stderr, "bad -providers %q: increasing positive numbers separated by commas\n", *providers)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	if *queries < 1 || *claims < 1 || *clients < 1 {
		fmt.Fprintln(os.Stderr, "-queries, -claims and -clients must be at least 1")
		os.Exit(2)
	}

	var uuids []string
	var stages []stageResult
	var created int
	var createTime time.Duration
	if *skipSetup {
		st, b, err := do("GET", "/resource_providers", "")
		must(st, 200, b, err, "list providers")
		var l struct {
			RPs []struct{ UUID string } `json:"resource_providers"`
		}
		_ = json.Unmarshal(b, &l)
		for _, p := range l.RPs {
			uuids = append(uuids, p.UUID)
		}
		counts = []int{len(uuids)}
		fmt.Printf("providers: %d (existing)\n", len(uuids))
	}
	for _, target := range counts {
		sr := stageResult{providers: target}
		if !*skipSetup {
			batch := make([]string, target-len(uuids))
			el := create(batch, *clients)
			uuids = append(uuids, batch...)
			created += len(batch)
			createTime += el
			fmt.Printf("creates (POST + PUT inventories), %d clients: %d in %s = %.0f/s (providers: %d)\n",
				*clients, len(batch), el.Round(time.Millisecond), float64(len(batch))/el.Seconds(), len(uuids))
		}
		sr.limitP50 = candidates("&limit=1000")
		sr.fullP50 = candidates("")
		stages = append(stages, sr)
	}

	claimRate := map[int]float64{}
	ks := []int{1}
	if *clients != 1 {
		ks = append(ks, *clients)
	}
	for _, k := range ks {
		var conflicts atomic.Int64
		el := parallel(*claims, k, func(i int) {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(uuids))))
			rp := uuids[n.Int64()]
			st, b, err := do("PUT", "/allocations/"+newUUID(),
				`{"allocations": {"`+rp+`": {"resources": {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40}}}, "project_id": "load", "user_id": "load", "consumer_generation": null}`)
			if err == nil && st == 409 {
				conflicts.Add(1) // provider full
				return
			}
			must(st, 204, b, err, "claim")
		})
		claimRate[k] = float64(*claims) / el.Seconds()
		fmt.Printf("claims, %d client(s): %d in %s = %.0f/s (%d refused as full)\n",
			k, *claims, el.Round(time.Millisecond), claimRate[k], conflicts.Load())
	}

	fmt.Println("summary (targets: the issue's factors times OpenStack Placement 8.0.0's figures):")
	if created > 0 {
		rate := float64(created) / createTime.Seconds()
		line(fmt.Sprintf("creates, %d clients", *clients), fmt.Sprintf("%.0f/s", rate),
			fmt.Sprintf(">= %.0f/s", factorCreates*refCreates), rate >= factorCreates*refCreates)
	}
	for _, s := range stages {
		for _, v := range []struct {
			name string
			p50  time.Duration
		}{{"limit=1000", s.limitP50}, {"no limit", s.fullP50}} {
			label := fmt.Sprintf("candidates p50, %d, %s", s.providers, v.name)
			value := fmt.Sprintf("%.1f ms", msf(v.p50))
			switch {
			case s.providers == 1000:
				line(label, value, fmt.Sprintf("<= %.1f ms", refQuery1000/factorQuery), msf(v.p50) <= refQuery1000/factorQuery)
			case s.providers == 5000 && v.name == "no limit":
				line(label, value, fmt.Sprintf("<= %.1f ms", refQuery5000/factorQuery5k), msf(v.p50) <= refQuery5000/factorQuery5k)
			default:
				line(label, value, "", true)
			}
		}
	}
	for _, k := range ks {
		label := fmt.Sprintf("claims, %d client(s)", k)
		value := fmt.Sprintf("%.0f/s", claimRate[k])
		ref := map[int]float64{1: refClaims1, 8: refClaims8}[k]
		if ref == 0 {
			line(label, value, "", true)
			continue
		}
		line(label, value, fmt.Sprintf(">= %.0f/s", factorClaims*ref), claimRate[k] >= factorClaims*ref)
	}
}

// line prints a summary line; target "" means none is given.
func line(label, value, target string, ok bool) {
	if target == "" {
		fmt.Printf("  %-38s %10s\n", label, value)
		return
	}
	fmt.Printf("  %-38s %10s   target %-11s %s\n", label, value, target, verdict(ok))
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
