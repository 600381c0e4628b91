package placementhttp_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementhttp"
)

func ExampleNewHandler() {
	engine, err := placement.New(memstore.New())
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(placementhttp.NewHandler(engine,
		placementhttp.WithLogger(slog.New(slog.DiscardHandler))))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/resource_providers",
		strings.NewReader(`{"name": "cn1", "uuid": "9f0e3c5a-5b1e-4d7e-9a59-1c2f4e8b7d60"}`))
	req.Header.Set("X-Auth-Token", "admin") // NoAuth2: an admin
	req.Header.Set("OpenStack-API-Version", "placement 1.39")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("OpenStack-API-Version"))
	fmt.Println(string(body)[:80])
	// Output:
	// 200 OK placement 1.39
	// {"uuid": "9f0e3c5a-5b1e-4d7e-9a59-1c2f4e8b7d60", "name": "cn1", "generation": 0,
}
