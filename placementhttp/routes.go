package placementhttp

import (
	"net/http"
	"strings"
)

// methodFunc handles one method of a route; it returns an error to render
// (an *apiError, or anything else as 500).
type methodFunc func(rq *request) error

type methodRoute struct {
	method string
	fn     methodFunc
}

// routes registers Placement's route table (placement/handler.py
// ROUTE_DECLARATIONS) on a Go 1.22 ServeMux. Each path pattern dispatches
// on the method itself so that a known path with an unknown method answers
// Placement's 405 (with Allow listing the methods in Placement's order).
func (h *handler) routes() {
	h.mux = http.NewServeMux()
	add := func(pattern string, methods ...methodRoute) {
		allow := make([]string, len(methods))
		for i, m := range methods {
			allow[i] = m.method
		}
		allowHeader := strings.Join(allow, ", ")
		h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			rq := r.Context().Value(requestKey{}).(*request)
			rq.r = r
			for _, m := range methods {
				if m.method == r.Method {
					if err := m.fn(rq); err != nil {
						rq.fail(err)
					}
					return
				}
			}
			rq.renderError(&apiError{status: http.StatusMethodNotAllowed, allow: allowHeader,
				msg: "The method specified is not allowed for this resource."})
		})
	}
	m := func(method string, fn methodFunc) methodRoute { return methodRoute{method, fn} }

	add("/{$}", m("GET", h.home))
	add("/resource_classes", m("GET", h.listResourceClasses), m("POST", h.createResourceClass))
	add("/resource_classes/{name}", m("GET", h.getResourceClass), m("PUT", h.updateResourceClass),
		m("DELETE", h.deleteResourceClass))
	add("/resource_providers", m("GET", h.listProviders), m("POST", h.createProvider))
	add("/resource_providers/{uuid}", m("GET", h.getProvider), m("DELETE", h.deleteProvider),
		m("PUT", h.updateProvider))
	add("/resource_providers/{uuid}/inventories", m("GET", h.getInventories), m("POST", h.createInventory),
		m("PUT", h.setInventories), m("DELETE", h.deleteInventories))
	add("/resource_providers/{uuid}/inventories/{resource_class}", m("GET", h.getInventory),
		m("PUT", h.updateInventory), m("DELETE", h.deleteInventory))
	add("/resource_providers/{uuid}/usages", m("GET", h.providerUsages))
	add("/resource_providers/{uuid}/aggregates", m("GET", h.getAggregates), m("PUT", h.setAggregates))
	add("/resource_providers/{uuid}/allocations", m("GET", h.providerAllocations))
	add("/allocations", m("POST", h.postAllocations))
	add("/allocations/{consumer_uuid}", m("GET", h.getAllocations), m("PUT", h.putAllocations),
		m("DELETE", h.deleteAllocations))
	add("/allocation_candidates", m("GET", h.allocationCandidates))
	add("/traits", m("GET", h.listTraits))
	add("/traits/{name}", m("GET", h.getTrait), m("PUT", h.putTrait), m("DELETE", h.deleteTrait))
	add("/resource_providers/{uuid}/traits", m("GET", h.providerTraits), m("PUT", h.setProviderTraits),
		m("DELETE", h.deleteProviderTraits))
	add("/usages", m("GET", h.totalUsages))
	add("/reshaper", m("POST", h.reshape))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rq := r.Context().Value(requestKey{}).(*request)
		rq.renderError(notFound(""))
	})
}

// home is the version document (GET /).
func (h *handler) home(rq *request) error {
	doc := map[string]any{"versions": []any{map[string]any{
		"id":          "v" + MinVersion,
		"max_version": MaxVersion,
		"min_version": MinVersion,
		"status":      "CURRENT",
		"links":       []any{map[string]string{"rel": "self", "href": ""}},
	}}}
	rq.cache(h.now())
	rq.writeJSON(http.StatusOK, doc)
	return nil
}
