package placementhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/goplacement/placement"
)

// Option configures the handler made by NewHandler.
type Option func(*handler)

// WithAuthenticator sets how callers are identified (default NoAuth2).
func WithAuthenticator(a Authenticator) Option {
	return func(h *handler) {
		if a != nil {
			h.auth = a
		}
	}
}

// WithLogger sets the logger of the access log (one Info record per
// request) and of internal errors (default: slog.Default()). Use
// slog.New(slog.DiscardHandler) to silence it.
func WithLogger(l *slog.Logger) Option {
	return func(h *handler) {
		if l != nil {
			h.log = l
		}
	}
}

// WithMaxBodyBytes limits request bodies (default 1 MiB); a larger body is
// refused with 413.
func WithMaxBodyBytes(n int64) Option {
	return func(h *handler) {
		if n > 0 {
			h.maxBody = n
		}
	}
}

// WithURLPrefix sets the path the handler is mounted under (Placement's
// SCRIPT_NAME, e.g. "/placement"), used in links and Location headers. The
// handler itself must receive paths without it (see http.StripPrefix).
func WithURLPrefix(prefix string) Option {
	return func(h *handler) { h.prefix = strings.TrimRight(prefix, "/") }
}

type handler struct {
	eng     *placement.Engine
	auth    Authenticator
	log     *slog.Logger
	maxBody int64
	prefix  string
	mux     *http.ServeMux
	now     func() time.Time
}

// NewHandler returns an http.Handler serving the OpenStack Placement REST
// API (microversions 1.0 to 1.39) over engine. Every request other than the
// version document at "/" is authenticated (WithAuthenticator; default
// NoAuth2), and every operation is authorized by the engine's Authorizer
// before its body is read.
func NewHandler(engine *placement.Engine, opts ...Option) http.Handler {
	h := &handler{
		eng:     engine,
		auth:    NoAuth2(),
		log:     slog.Default(),
		maxBody: defaultMaxBodyBytes,
		now:     time.Now,
	}
	for _, o := range opts {
		o(h)
	}
	h.routes()
	return h
}

// request is the state of one request as it goes through the handler.
type request struct {
	h          *handler
	w          http.ResponseWriter
	r          *http.Request
	ctx        context.Context
	id         string
	accept     string
	version    version
	versionSet bool
	status     int
	bytes      int
	user       string
	bodyBytes  []byte
}

type requestKey struct{}

// ServeHTTP runs Placement's middleware chain: request id and access log,
// authentication, panic guard, microversion negotiation, then routing.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq := &request{h: h, w: w, r: r, ctx: r.Context(), id: "req-" + placement.NewUUID()}
	// RequestLog: a missing or */* Accept means JSON errors.
	rq.accept = r.Header.Get("Accept")
	if rq.accept == "" || rq.accept == "*/*" {
		rq.accept = "application/json"
	}
	w.Header().Set(requestIDHeader, rq.id)
	defer rq.logAccess(start)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.ErrorContext(r.Context(), "placement API unexpected error", "request_id", rq.id,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rq.status == 0 {
				rq.renderError(errorf(http.StatusInternalServerError, "", fmt.Sprint(p)))
			}
		}
	}()

	if r.URL.Path != "/" {
		id, ok := h.auth.Authenticate(r)
		if !ok {
			rq.renderError(&apiError{status: http.StatusUnauthorized, plainFormat: true})
			return
		}
		rq.user = id.UserID
		rq.ctx = placement.WithIdentity(rq.ctx, id)
	}

	v, verr := negotiateVersion(r.Header.Values(versionHeader))
	if verr != nil {
		status := http.StatusNotAcceptable
		if verr.bad {
			status = http.StatusBadRequest
		}
		rq.renderError(errorf(status, "", "Invalid microversion: "+verr.msg))
		return
	}
	rq.version, rq.versionSet = v, true

	if r.Header.Get(InvalidContentLengthHeader) != "" {
		rq.renderError(badRequest("content-length header must be an integer"))
		return
	}
	if cl := r.Header.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
		if err != nil {
			rq.renderError(badRequest("content-length header must be an integer"))
			return
		}
		if n > 0 && r.Header.Get("Content-Type") == "" {
			rq.renderError(badRequest("content-type header required when content-length > 0"))
			return
		}
	} else if r.ContentLength > 0 && r.Header.Get("Content-Type") == "" {
		rq.renderError(badRequest("content-type header required when content-length > 0"))
		return
	}

	if p := r.URL.Path; p != "/" && (path.Clean(p) != p || strings.Contains(p, "//")) {
		rq.renderError(notFound(""))
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, rq)))
}

func (rq *request) logAccess(start time.Time) {
	r := rq.r
	if !rq.h.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", rq.id),
		slog.String("remote", r.RemoteAddr),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rq.status),
		slog.Int("bytes", rq.bytes),
		slog.Duration("duration", time.Since(start)),
	}
	if r.URL.RawQuery != "" {
		attrs = append(attrs, slog.String("query", r.URL.RawQuery))
	}
	if rq.versionSet {
		attrs = append(attrs, slog.String("microversion", rq.version.String()))
	}
	if rq.user != "" {
		attrs = append(attrs, slog.String("user", rq.user))
	}
	// oslo's global request id: a caller's own req-<uuid>, for tracing
	// one operation across services
	if g := r.Header.Get(requestIDHeader); strings.HasPrefix(g, "req-") && placement.IsCanonicalUUID(g[4:]) {
		attrs = append(attrs, slog.String("global_request_id", g))
	}
	rq.h.log.LogAttrs(r.Context(), slog.LevelInfo, "placement request", attrs...)
}

// writeRaw writes the status, the headers set so far and body (nothing
// for HEAD and bodiless statuses).
func (rq *request) writeRaw(status int, body []byte) {
	h := rq.w.Header()
	if len(body) > 0 {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	rq.status = status
	rq.w.WriteHeader(status)
	if rq.r.Method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified {
		n, _ := rq.w.Write(body)
		rq.bytes = n
	}
}

// success headers: the microversion and Vary.
func (rq *request) successHeaders() {
	h := rq.w.Header()
	h.Set(versionHeader, rq.version.header())
	h.Set("Vary", "openstack-api-version")
}

// cache sets Last-Modified and Cache-Control from microversion 1.15. A zero
// time means now.
func (rq *request) cache(lastModified time.Time) {
	if !rq.version.atLeast(15) {
		return
	}
	if lastModified.IsZero() {
		lastModified = rq.h.now()
	}
	h := rq.w.Header()
	h.Set("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
}

// setLocation sets the Location header to path made absolute with the
// request's scheme and host, as WebOb does.
func (rq *request) setLocation(path string) {
	scheme := "http"
	if rq.r.TLS != nil {
		scheme = "https"
	}
	rq.w.Header().Set("Location", scheme+"://"+rq.r.Host+path)
}

// writeJSON answers status with v as JSON.
func (rq *request) writeJSON(status int, v any) {
	rq.successHeaders()
	rq.w.Header().Set("Content-Type", "application/json")
	bp := getBody()
	*bp = appendJSON(*bp, v)
	rq.writeRaw(status, *bp)
	putBody(bp)
}

// writeJSONWith answers status with the JSON body that enc appends to
// the buffer it is given.
func (rq *request) writeJSONWith(status int, enc func(b []byte) []byte) {
	rq.successHeaders()
	rq.w.Header().Set("Content-Type", "application/json")
	bp := getBody()
	*bp = enc(*bp)
	rq.writeRaw(status, *bp)
	putBody(bp)
}

// writeEmpty answers a bodiless status (201, 204).
func (rq *request) writeEmpty(status int) {
	rq.successHeaders()
	rq.writeRaw(status, nil)
}

// fail renders err: an *apiError as is, anything else as 500.
func (rq *request) fail(err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		rq.h.log.ErrorContext(rq.ctx, "placement API unexpected error", "request_id", rq.id, "error", err.Error())
		ae = errorf(http.StatusInternalServerError, "", err.Error())
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ae = errorf(http.StatusServiceUnavailable, "", "The request was cancelled or timed out.")
		}
	}
	rq.renderError(ae)
}

// --- checks shared by handlers (Placement's decorators) ---

// minVersion refuses (404, or the given status) a request older than 1.minor.
func (rq *request) minVersion(minor int) error {
	if !rq.version.atLeast(minor) {
		return notFound("")
	}
	return nil
}

// checkAccept is util.check_accept('application/json').
func (rq *request) checkAccept() error {
	a := rq.r.Header.Get("Accept")
	if a == "" {
		return nil
	}
	if len(acceptableOffers(rq.accept, "application/json")) == 0 {
		return errorf(http.StatusNotAcceptable, "", "Only application/json is provided")
	}
	return nil
}

// requireJSON is util.require_content('application/json').
func (rq *request) requireJSON() error {
	ct := rq.r.Header.Get("Content-Type")
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	if mt != "application/json" {
		if mt == "" {
			mt = "None"
		}
		return errorf(http.StatusUnsupportedMediaType, "", fmt.Sprintf("The media type %s is not supported, use application/json", mt))
	}
	return nil
}

// authorize asks the engine's policy, before anything is parsed.
func (rq *request) authorize(action placement.Action, target placement.Target) error {
	if err := rq.h.eng.Authorize(rq.ctx, action, target); err != nil {
		return forbidden(action)
	}
	return nil
}

func forbidden(action placement.Action) *apiError {
	return errorf(http.StatusForbidden, "", fmt.Sprintf("Policy does not allow %s to be performed.", action))
}

// body reads the request body (bounded by the size limit).
func (rq *request) body() ([]byte, error) {
	if rq.bodyBytes != nil {
		return rq.bodyBytes, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, rq.h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "",
				fmt.Sprintf("Request body larger than the limit of %d bytes.", rq.h.maxBody))
		}
		return nil, badRequest("Unable to read the request body: " + err.Error())
	}
	rq.bodyBytes = b
	return b, nil
}

// extractJSON is util.extract_json: parse the body and validate it with the
// named schema.
func (rq *request) extractJSON(schema string) (*jvalue, error) {
	b, err := rq.body()
	if err != nil {
		return nil, err
	}
	v, err := parseJSON(b)
	if err != nil {
		return nil, badRequest("Malformed JSON: " + err.Error())
	}
	if e := validate(schema, v); e != nil {
		return nil, badRequest("JSON does not validate: " + e.String())
	}
	return v, nil
}

// pathValue returns a path wildcard's value.
func (rq *request) pathValue(name string) string { return rq.r.PathValue(name) }

func itoa(i int) string { return strconv.Itoa(i) }
