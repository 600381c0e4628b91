package placementhttp

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/goplacement/placement"
)

func (h *handler) getAllocations(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionAllocationsList, placement.Target{}); err != nil {
		return err
	}
	consumer := rq.pathValue("consumer_uuid")
	set, err := h.eng.ConsumerAllocations(rq.ctx, consumer)
	if err != nil {
		return rq.common(err, "")
	}
	byRP := obj{}
	for _, a := range set.Allocations {
		i := -1
		for j := range byRP {
			if byRP[j].k == a.ProviderUUID {
				i = j
			}
		}
		if i < 0 {
			byRP = append(byRP, kv{a.ProviderUUID, obj{{"resources", obj{}}, {"generation", set.ProviderGenerations[a.ProviderUUID]}}})
			i = len(byRP) - 1
		}
		entry := byRP[i].v.(obj)
		entry[0].v = append(entry[0].v.(obj), kv{a.ResourceClass, a.Used})
	}
	out := obj{{"allocations", byRP}}
	var last time.Time
	if set.Exists && len(set.Allocations) > 0 {
		last = modified(set.Consumer.CreatedAt, set.Consumer.UpdatedAt)
		if rq.version.atLeast(12) {
			out = append(out, kv{"project_id", set.Consumer.ProjectID}, kv{"user_id", set.Consumer.UserID})
			if rq.version.atLeast(28) {
				out = append(out, kv{"consumer_generation", set.Consumer.Generation})
			}
			if rq.version.atLeast(38) {
				ct := set.Consumer.ConsumerType
				if ct == "" {
					ct = placement.UnknownConsumerType
				}
				out = append(out, kv{"consumer_type", ct})
			}
		}
	}
	rq.cache(last)
	rq.writeJSON(http.StatusOK, out)
	return nil
}

func (h *handler) providerAllocations(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProviderAllocations, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	set, err := h.eng.ProviderAllocations(rq.ctx, uuid)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return notFound(fmt.Sprintf("Resource provider '%s' not found: No resource provider with uuid %s found", uuid, uuid))
		}
		return rq.common(err, uuid)
	}
	byConsumer := obj{}
	var last time.Time
	for _, a := range set.Allocations {
		i := -1
		for j := range byConsumer {
			if byConsumer[j].k == a.ConsumerUUID {
				i = j
			}
		}
		if i < 0 {
			c := set.Consumers[a.ConsumerUUID]
			last = latest(last, modified(c.CreatedAt, c.UpdatedAt))
			entry := obj{{"resources", obj{}}}
			if rq.version.atLeast(28) {
				entry = append(entry, kv{"consumer_generation", c.Generation})
			}
			byConsumer = append(byConsumer, kv{a.ConsumerUUID, entry})
			i = len(byConsumer) - 1
		}
		entry := byConsumer[i].v.(obj)
		entry[0].v = append(entry[0].v.(obj), kv{a.ResourceClass, a.Used})
	}
	rq.cache(last)
	rq.writeJSON(http.StatusOK, obj{{"allocations", byConsumer}, {"resource_provider_generation", set.Generation}})
	return nil
}

// consumerBody turns one validated consumer entry (the PUT body, or one
// value of a POST /allocations or reshaper body) into the Engine's form.
func (rq *request) consumerBody(consumer string, data *jvalue) placement.ConsumerAllocations {
	ca := placement.ConsumerAllocations{ConsumerUUID: consumer, Generation: placement.SkipGenerationCheck()}
	if rq.version.atLeast(28) {
		if g := data.get("consumer_generation"); g == nil || g.kind == jNull {
			ca.Generation = placement.ExpectNewConsumer()
		} else {
			ca.Generation = placement.ExpectGeneration(g.int64())
		}
	}
	if p := data.get("project_id"); p != nil {
		ca.ProjectID = p.s
	}
	if u := data.get("user_id"); u != nil {
		ca.UserID = u.s
	}
	if t := data.get("consumer_type"); t != nil && rq.version.atLeast(38) {
		ca.ConsumerType = t.s
	}
	allocs := data.get("allocations")
	add := func(rp string, resources *jvalue) {
		// a provider named twice (list form): the last wins
		kept := ca.Allocations[:0]
		for _, a := range ca.Allocations {
			if a.ProviderUUID != rp {
				kept = append(kept, a)
			}
		}
		ca.Allocations = kept
		for _, r := range resources.obj {
			ca.Allocations = append(ca.Allocations, placement.Allocation{ProviderUUID: rp, ResourceClass: r.key, Used: r.val.int64()})
		}
	}
	if allocs.kind == jArray {
		for _, a := range allocs.arr {
			add(a.get("resource_provider").get("uuid").s, a.get("resources"))
		}
	} else {
		for _, m := range allocs.obj {
			add(m.key, m.val.get("resources"))
		}
	}
	return ca
}

func putAllocationSchema(v version) string {
	switch {
	case v.atLeast(38):
		return "alloc138"
	case v.atLeast(34):
		return "alloc134"
	case v.atLeast(28):
		return "alloc128"
	case v.atLeast(12):
		return "alloc112"
	case v.atLeast(8):
		return "alloc18"
	}
	return "alloc10"
}

func postAllocationSchema(v version) string {
	switch {
	case v.atLeast(38):
		return "allocPost138"
	case v.atLeast(34):
		return "allocPost134"
	case v.atLeast(28):
		return "allocPost128"
	}
	return "allocPost113"
}

func (h *handler) putAllocations(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionAllocationsUpdate, placement.Target{}); err != nil {
		return err
	}
	raw := rq.pathValue("consumer_uuid")
	consumer, ok := placement.CanonicalUUID(raw)
	if !ok {
		return badRequest(fmt.Sprintf("Malformed consumer_uuid: %s", raw))
	}
	data, err := rq.extractJSON(putAllocationSchema(rq.version))
	if err != nil {
		return err
	}
	ca := rq.consumerBody(consumer, data)
	if err := h.eng.SetAllocations(rq.ctx, ca); err != nil {
		return rq.allocationError(err, []placement.ConsumerAllocations{ca},
			fmt.Sprintf("Unable to allocate inventory for consumer %s: ", consumer))
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}

func (h *handler) postAllocations(rq *request) error {
	if err := rq.minVersion(13); err != nil {
		return err
	}
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionAllocationsManage, placement.Target{}); err != nil {
		return err
	}
	data, err := rq.extractJSON(postAllocationSchema(rq.version))
	if err != nil {
		return err
	}
	cas := make([]placement.ConsumerAllocations, 0, len(data.obj))
	for _, m := range data.obj {
		cas = append(cas, rq.consumerBody(m.key, m.val))
	}
	if err := h.eng.SetAllocationsMulti(rq.ctx, cas); err != nil {
		return rq.allocationError(err, cas, "Unable to allocate inventory ")
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}

// allocationError maps the errors of an allocation write as Placement's
// allocation handlers do. notFoundPrefix starts the message of an unknown
// resource class.
func (rq *request) allocationError(err error, cas []placement.ConsumerAllocations, notFoundPrefix string) error {
	var ce *placement.ConflictError
	var capErr *placement.CapacityError
	var ve *placement.ValidationError
	switch {
	case errors.As(err, &ce) && ce.Kind == placement.ConsumerGeneration:
		expected := "null"
		if ce.Exists {
			expected = fmt.Sprint(ce.Actual)
		}
		got := "None"
		for _, ca := range cas {
			if equalUUID(ca.ConsumerUUID, ce.UUID) {
				if g, ok := ca.Generation.Generation(); ok {
					got = fmt.Sprint(g)
				}
			}
		}
		return conflict(CodeConcurrentUpdate, fmt.Sprintf("consumer generation conflict - expected %s but got %s", expected, got))
	case errors.As(err, &ce):
		return conflict(CodeConcurrentUpdate, "Inventory and/or allocations changed while attempting to allocate: "+conflictMessage(err))
	case errors.As(err, &capErr):
		return conflict("", "Unable to allocate inventory: "+capacityMessage(capErr))
	case errors.As(err, &ve) && strings.HasPrefix(ve.Field, "allocations["):
		// an amount above 2147483647: no inventory can take it
		rp, class := splitAllocField(ve.Field)
		return conflict("", fmt.Sprintf("Unable to allocate inventory: Unable to create allocation for '%s' on resource provider '%s'. The requested amount would violate inventory constraints.", class, rp))
	}
	if nf, ok := isNotFound(err, "resource provider"); ok {
		return badRequest(fmt.Sprintf("Allocation for resource provider '%s' that does not exist.", nf.ID))
	}
	if nf, ok := isNotFound(err, "resource class"); ok {
		return badRequest(fmt.Sprintf("%sNo such resource class %s.", notFoundPrefix, nf.ID))
	}
	if errors.As(err, &ve) {
		return badRequest(ve.Error())
	}
	return rq.common(err, "")
}

func equalUUID(a, b string) bool {
	ca, _ := placement.CanonicalUUID(a)
	cb, _ := placement.CanonicalUUID(b)
	return ca == cb
}

func splitAllocField(field string) (rp, class string) {
	// "allocations[<rp>].<CLASS>" or "allocations[<rp>]"
	rest := strings.TrimPrefix(field, "allocations[")
	rp, class, _ = strings.Cut(rest, "]")
	return rp, strings.TrimPrefix(class, ".")
}

// capacityMessage is the message of Placement's InvalidInventory family for
// the first problem (Placement stops at the first).
func capacityMessage(e *placement.CapacityError) string {
	if len(e.Problems) == 0 {
		return e.Error()
	}
	problems := append([]placement.Problem(nil), e.Problems...)
	// Placement checks "no inventory at all" first, then walks the request.
	sort.SliceStable(problems, func(i, j int) bool {
		return problems[i].Reason == placement.ReasonNoInventory && problems[j].Reason != placement.ReasonNoInventory
	})
	p := problems[0]
	switch p.Reason {
	case placement.ReasonNoInventory:
		return fmt.Sprintf("Inventory for '%s' on resource provider '%s' invalid.", p.Class, p.Provider)
	case placement.ReasonMinUnit, placement.ReasonMaxUnit, placement.ReasonStepSize:
		return fmt.Sprintf("Unable to create allocation for '%s' on resource provider '%s'. The requested amount would violate inventory constraints.", p.Class, p.Provider)
	}
	return fmt.Sprintf("Unable to create allocation for '%s' on resource provider '%s'. The requested amount would exceed the capacity.", p.Class, p.Provider)
}

func (h *handler) deleteAllocations(rq *request) error {
	if err := rq.authorize(placement.ActionAllocationsDelete, placement.Target{}); err != nil {
		return err
	}
	consumer := rq.pathValue("consumer_uuid")
	if err := h.eng.DeleteAllocations(rq.ctx, consumer); err != nil {
		if _, ok := isNotFound(err, ""); ok {
			return notFound(fmt.Sprintf("No allocations for consumer '%s'", consumer))
		}
		return rq.common(err, "")
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}

// --- reshaper ---

func (h *handler) reshape(rq *request) error {
	if err := rq.minVersion(30); err != nil {
		return err
	}
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionReshape, placement.Target{}); err != nil {
		return err
	}
	schema := "reshaper"
	switch {
	case rq.version.atLeast(38):
		schema = "reshaper138"
	case rq.version.atLeast(34):
		schema = "reshaper134"
	}
	data, err := rq.extractJSON(schema)
	if err != nil {
		return err
	}
	var req placement.ReshapeRequest
	for _, m := range data.get("inventories").obj {
		uuid := m.key
		p, err := h.eng.Provider(rq.ctx, uuid)
		if err != nil {
			if _, ok := isNotFound(err, "resource provider"); ok {
				return errorf(http.StatusBadRequest, CodeProviderNotFound,
					fmt.Sprintf("Resource provider %s in inventories not found: No resource provider with uuid %s found", uuid, uuid))
			}
			return rq.common(err, uuid)
		}
		gen := m.val.get("resource_provider_generation").int64()
		if gen != p.Generation {
			return conflict(CodeConcurrentUpdate, fmt.Sprintf("resource provider generation conflict for provider %s: actual: %d, given: %d", uuid, p.Generation, gen))
		}
		u := placement.ProviderInventoryUpdate{ProviderUUID: uuid, Generation: placement.ExpectGeneration(gen)}
		for _, inv := range m.val.get("inventories").obj {
			u.Inventories = append(u.Inventories, inventoryFrom(inv.key, inv.val))
		}
		req.Inventories = append(req.Inventories, u)
	}
	for _, m := range data.get("allocations").obj {
		req.Allocations = append(req.Allocations, rq.consumerBody(m.key, m.val))
	}
	if err := h.eng.Reshape(rq.ctx, req); err != nil {
		var ce *placement.ConflictError
		switch {
		case errors.As(err, &ce) && ce.Kind == placement.ConsumerGeneration:
			return rq.allocationError(err, req.Allocations, "")
		case errors.Is(err, placement.ErrConcurrentUpdate):
			return conflict(CodeConcurrentUpdate, "update conflict: "+conflictMessage(err))
		case errors.Is(err, placement.ErrInventoryInUse):
			var iu *placement.InUseError
			errors.As(err, &iu)
			return conflict(CodeInventoryInUse, "update conflict: "+inUseMessage(err, iu.ID))
		}
		var capErr *placement.CapacityError
		if errors.As(err, &capErr) {
			return conflict("", "Unable to allocate inventory: "+capacityMessage(capErr))
		}
		if nf, ok := isNotFound(err, "resource provider"); ok {
			return badRequest(fmt.Sprintf("Allocation for resource provider '%s' that does not exist.", nf.ID))
		}
		if nf, ok := isNotFound(err, ""); ok {
			return badRequest(fmt.Sprintf("malformed reshaper data: No such %s %s.", nf.Resource, nf.ID))
		}
		var ve *placement.ValidationError
		if errors.As(err, &ve) {
			return badRequest("malformed reshaper data: " + ve.Error())
		}
		return rq.common(err, "")
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}
