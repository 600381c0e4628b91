package placementtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementhttp"
)

// Server is a Placement REST API test server: an *httptest.Server (URL,
// Client, Close, ...) over an Engine on a fresh in-memory store, with the
// Engine and the store at hand for seeding and assertions.
type Server struct {
	*httptest.Server
	// Engine is the server's Engine. It uses Placement's default policy;
	// call it with placement.AdminContext (or Admin) to seed data.
	Engine *placement.Engine
	// Store is the server's memstore (Snapshot/Restore, Dump).
	Store *memstore.Store
}

// ServerOption configures NewServer.
type ServerOption func(*serverConfig)

type serverConfig struct {
	engineOpts  []placement.Option
	handlerOpts []placementhttp.Option
	tls         bool
}

// ServerEngineOptions adds options for the Engine (e.g. WithClock,
// WithAuthorizer).
func ServerEngineOptions(opts ...placement.Option) ServerOption {
	return func(c *serverConfig) { c.engineOpts = append(c.engineOpts, opts...) }
}

// ServerHandlerOptions adds options for the HTTP handler (e.g.
// placementhttp.WithAuthenticator). By default requests authenticate with
// NoAuth2 ("X-Auth-Token: admin") and the access log is discarded.
func ServerHandlerOptions(opts ...placementhttp.Option) ServerOption {
	return func(c *serverConfig) { c.handlerOpts = append(c.handlerOpts, opts...) }
}

// ServerTLS serves HTTPS (httptest.NewTLSServer; use Server.Client()).
func ServerTLS() ServerOption { return func(c *serverConfig) { c.tls = true } }

// NewServer starts a Placement API server over a new, empty memstore and
// closes it with t.Cleanup. Its clients authenticate as Placement's noauth2
// tests do: header "X-Auth-Token: admin" (see placementhttp.NoAuth2), and
// choose a microversion with "OpenStack-API-Version: placement 1.39".
//
//	srv := placementtest.NewServer(t)
//	ctx := srv.Admin()
//	rp, _ := srv.Engine.CreateProvider(ctx, placement.ProviderSpec{Name: "cn1"})
//	req, _ := http.NewRequest("GET", srv.URL+"/resource_providers/"+rp.UUID, nil)
//	req.Header.Set("X-Auth-Token", "admin")
//	resp, _ := srv.Client().Do(req)
func NewServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	var c serverConfig
	for _, o := range opts {
		o(&c)
	}
	store := memstore.New()
	eng, err := placement.New(store, c.engineOpts...)
	if err != nil {
		t.Fatalf("placementtest.NewServer: %v", err)
	}
	hopts := append([]placementhttp.Option{placementhttp.WithLogger(slog.New(slog.DiscardHandler))}, c.handlerOpts...)
	ts := httptest.NewUnstartedServer(placementhttp.NewHandler(eng, hopts...))
	ts.Listener = placementhttp.LenientListener(ts.Listener)
	if c.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return &Server{Server: ts, Engine: eng, Store: store}
}

// Admin returns a context whose caller is an admin, for seeding the Engine
// directly.
func (s *Server) Admin() context.Context { return placement.AdminContext(context.Background()) }
