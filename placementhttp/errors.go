package placementhttp

import (
	"html"
	"net/http"
	"regexp"
	"strings"
)

// Placement's error codes (placement/errors.py), sent from microversion 1.23.
const (
	CodeDefault                    = "placement.undefined_code"
	CodeInventoryInUse             = "placement.inventory.inuse"
	CodeConcurrentUpdate           = "placement.concurrent_update"
	CodeDuplicateName              = "placement.duplicate_name"
	CodeProviderInUse              = "placement.resource_provider.inuse"
	CodeProviderCannotDelete       = "placement.resource_provider.cannot_delete_parent"
	CodeProviderNotFound           = "placement.resource_provider.not_found"
	CodeQueryDuplicateKey          = "placement.query.duplicate_key"
	CodeQueryBadValue              = "placement.query.bad_value"
	CodeQueryMissingValue          = "placement.query.missing_value"
	errorCodeMinVersionMinor       = 23
	requestIDHeader                = "X-Openstack-Request-Id"
	defaultMaxBodyBytes      int64 = 1 << 20
)

// apiError is an HTTP error answer, rendered as WebOb renders Placement's
// errors: a JSON document {"errors": [...]} (or HTML / plain text when the
// client's Accept header prefers them).
type apiError struct {
	status int
	msg    string // the specific message (WebOb's "detail")
	code   string // Placement error code ("" = undefined_code)
	allow  string // Allow header for 405
	// plainFormat marks errors produced outside Placement's JSON error
	// formatter (the 401 of the auth middleware): WebOb's own JSON shape.
	plainFormat bool
}

func (e *apiError) Error() string { return http.StatusText(e.status) + ": " + e.msg }

func errorf(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

func badRequest(msg string) *apiError { return errorf(http.StatusBadRequest, "", msg) }
func notFound(msg string) *apiError   { return errorf(http.StatusNotFound, "", msg) }
func conflict(code, msg string) *apiError {
	return errorf(http.StatusConflict, code, msg)
}

// WebOb's titles and explanations.
var titles = map[int]string{
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
	413: "Request Entity Too Large", 415: "Unsupported Media Type",
	500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}

var explanations = map[int]string{
	400: "The server could not comply with the request since\r\nit is either malformed or otherwise incorrect.\r\n",
	401: "This server could not verify that you are authorized to\r\naccess the document you requested.  Either you supplied the\r\nwrong credentials (e.g., bad password), or your browser\r\ndoes not understand how to supply the credentials required.\r\n",
	403: "Access was denied to this resource.",
	404: "The resource could not be found.",
	409: "There was a conflict when trying to complete your request.",
	413: "The body of your request was too large for this server.",
	500: "The server has either erred or is incapable of performing\r\nthe requested operation.\r\n",
	503: "The server is currently unavailable. Please try again at a later time.",
}

func title(status int) string {
	if t, ok := titles[status]; ok {
		return t
	}
	return http.StatusText(status)
}

// rawBody is WebOb's body template for the status, with detail filled in;
// escape is applied to substituted values (HTML escaping for HTML bodies).
func (e *apiError) rawBody(r *http.Request, accept string, escape func(string) string) string {
	d := escape(e.msg)
	switch e.status {
	case 405:
		return "The method " + escape(r.Method) + " is not allowed for this resource. <br /><br />\n" + d
	case 406:
		return "The resource could not be generated that was acceptable to your browser\n(content of type " +
			escape(accept) + ". <br /><br />\n" + d
	case 415:
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "None"
		}
		return "The request media type " + escape(ct) + " is not supported by this server.\n<br /><br />\n" + d
	case 501:
		return "\nThe request method " + escape(r.Method) + " is not implemented for this server. <br /><br />\n" + d
	}
	// WebOb normalises every explanation's whitespace at import time
	return escape(strings.Join(strings.Fields(explanations[e.status]), " ")) + "<br /><br />\n" + d + "\n\n"
}

var (
	brRe      = regexp.MustCompile(`(?i)<br.*?>`)
	commentRe = regexp.MustCompile(`(?s)<!--.*?-->`)
	tagRe     = regexp.MustCompile(`(?s)<.*?>`)
)

// stripTags is webob.exc.strip_tags.
func stripTags(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "\r", "")
	s = brRe.ReplaceAllString(s, "\n")
	s = commentRe.ReplaceAllString(s, "")
	return tagRe.ReplaceAllString(s, "")
}

func noEscape(s string) string { return s }

// renderError writes e. versionKnown tells whether the microversion was
// parsed (then the error carries the version header and, from 1.23, a
// code).
func (rq *request) renderError(e *apiError) {
	w, r := rq.w, rq.r
	h := w.Header()
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	if rq.versionSet {
		h.Set(versionHeader, rq.version.header())
	}
	status := title(e.status)
	statusLine := itoa(e.status) + " " + status
	var body []byte
	switch best := acceptableOffers(rq.accept, "text/html", "application/json"); {
	case len(best) > 0 && best[0] == "text/html":
		h.Set("Content-Type", "text/html; charset=UTF-8")
		body = []byte("<html>\n <head>\n  <title>" + statusLine + "</title>\n </head>\n <body>\n  <h1>" +
			statusLine + "</h1>\n  " + e.rawBody(r, rq.accept, html.EscapeString) + "\n </body>\n</html>")
	case len(best) > 0:
		h.Set("Content-Type", "application/json")
		detail := stripTags(e.rawBody(r, rq.accept, noEscape))
		var doc obj
		if e.plainFormat {
			doc = obj{{"message", e.rawBody(r, rq.accept, noEscape)}, {"code", statusLine}, {"title", status}}
		} else {
			item := obj{{"status", e.status}, {"title", status}, {"detail", detail}}
			if rq.versionSet && rq.version.atLeast(errorCodeMinVersionMinor) {
				code := e.code
				if code == "" {
					code = CodeDefault
				}
				item = append(item, kv{"code", code})
			}
			item = append(item, kv{"request_id", rq.id})
			if e.status == http.StatusNotAcceptable && !rq.versionSet {
				item = append(item, kv{"max_version", MaxVersion}, kv{"min_version", MinVersion})
			}
			doc = obj{{"errors", []obj{item}}}
		}
		body = marshal(doc)
	default:
		h.Set("Content-Type", "text/plain; charset=UTF-8")
		body = []byte(statusLine + "\n\n" + stripTags(e.rawBody(r, rq.accept, noEscape)))
	}
	rq.writeRaw(e.status, body)
}
