// Command placement-api serves the OpenStack Placement REST API
// (microversions 1.0 to 1.39) over the placement library.
//
// Run "placement-api --help" for the flags; every flag can also be set
// through the environment variable named in its help text.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementhttp"
	"github.com/goplacement/placement/sqlstore"
)

const usageText = `placement-api serves the OpenStack Placement REST API (microversions 1.0-1.39).

Clients such as nova, neutron, the "openstack resource provider ..." CLI
(osc-placement) or gophercloud can talk to it as to OpenStack Placement 8.0.0.

Usage:
  placement-api [flags]

Examples:
  placement-api                                   # SQLite file ./placement.db, 127.0.0.1:8778
  placement-api --database memory                 # throw-away in-memory store
  placement-api --database /var/lib/placement/placement.db --listen :8778
  placement-api --database 'postgres://placement:secret@db/placement?sslmode=disable'
  curl -H 'X-Auth-Token: admin' -H 'OpenStack-API-Version: placement latest' \
       http://127.0.0.1:8778/resource_providers

Authentication (--auth):
  noauth2        Placement's test mode: "X-Auth-Token: admin" is an admin,
                 "X-Auth-Token: user[:project]" has no role unless X-Roles
                 says so, "OpenStack-System-Scope: all" makes the caller
                 system-scoped, and no token is 401 (except GET /). It trusts
                 the client entirely: keep it on localhost or a test network.
  trusted-proxy  an authenticating proxy in front (keystonemiddleware, an API
                 gateway) passes X-User-Id, X-Project-Id, X-Roles and
                 OpenStack-System-Scope; the proxy must strip those headers
                 from client requests.
Authorization always follows Placement 8.0.0's default policy (admin may do
everything; a system-scoped reader may read).

Flags (each also read from the environment variable shown):
`

type config struct {
	listen          string
	database        string
	auth            string
	logLevel        string
	logFormat       string
	maxBody         int64
	shutdownTimeout time.Duration
	urlPrefix       string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "placement-api:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("placement-api", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", env("PLACEMENT_LISTEN", "127.0.0.1:8778"),
		"address to listen on, host:port `addr` (PLACEMENT_LISTEN)")
	fs.StringVar(&c.database, "database", env("PLACEMENT_DATABASE", "placement.db"),
		"where to keep the data: an SQLite file `path` (created if missing), a PostgreSQL DSN\n"+
			"(postgres://user:pass@host/db?sslmode=disable), or \"memory\" for a throw-away\nin-memory store (PLACEMENT_DATABASE)")
	fs.StringVar(&c.auth, "auth", env("PLACEMENT_AUTH", "noauth2"),
		"authentication `mode`: noauth2 or trusted-proxy, see above (PLACEMENT_AUTH)")
	fs.StringVar(&c.logLevel, "log-level", env("PLACEMENT_LOG_LEVEL", "info"),
		"`level` of the logs: debug, info (one access log line per request, written in batches\nat most 0.1 s late), warn or error (written at once) (PLACEMENT_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", env("PLACEMENT_LOG_FORMAT", "text"),
		"log `format`: text or json (PLACEMENT_LOG_FORMAT)")
	maxBody := env("PLACEMENT_MAX_BODY_BYTES", "1048576")
	fs.Func("max-body-bytes", "largest request body accepted, in `bytes` (default 1048576) (PLACEMENT_MAX_BODY_BYTES)", func(s string) error {
		maxBody = s
		return nil
	})
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second,
		"how long to let in-flight requests finish on SIGTERM/SIGINT")
	fs.StringVar(&c.urlPrefix, "url-prefix", env("PLACEMENT_URL_PREFIX", ""),
		"path `prefix` the API is served under (e.g. /placement), used in links (PLACEMENT_URL_PREFIX)")
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s (see --help)", strings.Join(fs.Args(), " "))
	}
	if _, err := fmt.Sscan(maxBody, &c.maxBody); err != nil || c.maxBody <= 0 {
		return c, fmt.Errorf("bad --max-body-bytes %q", maxBody)
	}
	return c, nil
}

// newLogger returns the logger, writing to out through a logBuffer that
// the caller closes at the end.
func newLogger(c config, out io.Writer) (*slog.Logger, *logBuffer, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, nil, fmt.Errorf("bad --log-level %q (debug, info, warn, error)", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	buf := newLogBuffer(out)
	switch c.logFormat {
	case "text":
		return slog.New(flushHandler{slog.NewTextHandler(buf, opts), buf}), buf, nil
	case "json":
		return slog.New(flushHandler{slog.NewJSONHandler(buf, opts), buf}), buf, nil
	}
	return nil, nil, fmt.Errorf("bad --log-format %q (text, json)", c.logFormat)
}

// openStore opens the store named by --database.
func openStore(ctx context.Context, db string) (placement.Store, func() error, string, error) {
	switch {
	case db == "memory":
		return memstore.New(), func() error { return nil }, "memory", nil
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		s, err := sqlstore.OpenPostgres(ctx, db)
		if err != nil {
			return nil, nil, "", err
		}
		return s, s.Close, "postgresql", nil
	default:
		s, err := sqlstore.OpenSQLite(ctx, db)
		if err != nil {
			return nil, nil, "", err
		}
		return s, s.Close, "sqlite " + db, nil
	}
}

// run serves until ctx is done, then shuts down gracefully. started, if
// not nil, is called with the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, started func(addr string)) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log, logBuf, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	defer logBuf.Close()
	var auth placementhttp.Authenticator
	switch c.auth {
	case "noauth2":
		auth = placementhttp.NoAuth2()
	case "trusted-proxy":
		auth = placementhttp.TrustedProxy()
	default:
		return fmt.Errorf("bad --auth %q (noauth2, trusted-proxy)", c.auth)
	}

	store, closeStore, desc, err := openStore(ctx, c.database)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer closeStore()
	engine, err := placement.New(store, placement.WithLogger(log))
	if err != nil {
		return err
	}
	var handler http.Handler = placementhttp.NewHandler(engine,
		placementhttp.WithAuthenticator(auth),
		placementhttp.WithLogger(log),
		placementhttp.WithMaxBodyBytes(c.maxBody),
		placementhttp.WithURLPrefix(c.urlPrefix))
	if c.urlPrefix != "" {
		handler = http.StripPrefix(strings.TrimRight(c.urlPrefix, "/"), handler)
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("placement-api listening", "address", ln.Addr().String(), "database", desc, "auth", c.auth,
		"microversions", placementhttp.MinVersion+"-"+placementhttp.MaxVersion)
	logBuf.Flush()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(newLenientListener(ln)) }()
	if started != nil {
		started(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("placement-api shutting down", "timeout", c.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
