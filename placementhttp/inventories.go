package placementhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goplacement/placement"
)

// pyfloat marshals like Python's json.dumps of a float (1.0, not 1).
type pyfloat float64

func (f pyfloat) MarshalJSON() ([]byte, error) { return []byte(pyFloat(float64(f))), nil }

func (h *handler) inventoryURL(uuid, class string) string {
	return h.providerURL(uuid) + "/inventories/" + class
}

// appendInventory appends an inventory record's fields (without the
// closing brace, so that a generation may follow).
func appendInventory(b []byte, inv *placement.Inventory) []byte {
	b = append(b, `{"total": `...)
	b = strconv.AppendInt(b, inv.Total, 10)
	b = append(b, `, "reserved": `...)
	b = strconv.AppendInt(b, inv.Reserved, 10)
	b = append(b, `, "min_unit": `...)
	b = strconv.AppendInt(b, inv.MinUnit, 10)
	b = append(b, `, "max_unit": `...)
	b = strconv.AppendInt(b, inv.MaxUnit, 10)
	b = append(b, `, "step_size": `...)
	b = strconv.AppendInt(b, inv.StepSize, 10)
	b = append(b, `, "allocation_ratio": `...)
	return appendPyFloat(b, inv.AllocationRatio)
}

// sendInventory answers one inventory record with the provider generation
// (Placement omits a zero generation).
func (rq *request) sendInventory(status int, inv placement.Inventory, gen int64) {
	rq.cache(modified(inv.CreatedAt, inv.UpdatedAt))
	rq.writeJSONWith(status, func(b []byte) []byte {
		b = appendInventory(b, &inv)
		if gen != 0 {
			b = append(b, `, "resource_provider_generation": `...)
			b = strconv.AppendInt(b, gen, 10)
		}
		return append(b, '}')
	})
}

func (rq *request) sendInventories(pi placement.ProviderInventories) {
	var last time.Time
	for _, inv := range pi.Inventories {
		last = latest(last, modified(inv.CreatedAt, inv.UpdatedAt))
	}
	if rq.version.atLeast(15) {
		rq.w.Header().Set("Cache-Control", "no-cache")
		if !last.IsZero() {
			rq.w.Header().Set("Last-Modified", last.UTC().Format(http.TimeFormat))
		}
	}
	rq.writeJSONWith(http.StatusOK, func(b []byte) []byte {
		b = append(b, `{"resource_provider_generation": `...)
		b = strconv.AppendInt(b, pi.Generation, 10)
		b = append(b, `, "inventories": {`...)
		for i := range pi.Inventories {
			inv := &pi.Inventories[i]
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, inv.ResourceClass)
			b = append(b, ": "...)
			b = appendInventory(b, inv)
			b = append(b, '}')
		}
		return append(b, "}}"...)
	})
}

// inventoryFrom builds an inventory from a validated record, with
// Placement's API defaults.
func inventoryFrom(class string, rec *jvalue) placement.Inventory {
	inv := placement.NewInventory(class, 0)
	for _, m := range rec.obj {
		var p *int64
		switch m.key {
		case "total":
			p = &inv.Total
		case "reserved":
			p = &inv.Reserved
		case "min_unit":
			p = &inv.MinUnit
		case "max_unit":
			p = &inv.MaxUnit
		case "step_size":
			p = &inv.StepSize
		case "allocation_ratio":
			inv.AllocationRatio = m.val.float()
		}
		if p != nil {
			*p = m.val.int64()
		}
	}
	return inv
}

// validateCapacity is _validate_inventory_capacity: before 1.26 the
// capacity must be positive, from 1.26 not negative.
func (rq *request) validateCapacity(uuid, prefix string, invs ...placement.Inventory) error {
	for _, inv := range invs {
		c := inv.CapacityInt()
		if rq.version.atLeast(26) {
			if c < 0 {
				return badRequest(fmt.Sprintf("%s%s: Invalid inventory for '%s' on resource provider '%s'. The reserved value is greater than total.",
					prefix, uuid, inv.ResourceClass, uuid))
			}
		} else if c <= 0 {
			return badRequest(fmt.Sprintf("%s%s: Invalid inventory for '%s' on resource provider '%s'. The reserved value is greater than or equal to total.",
				prefix, uuid, inv.ResourceClass, uuid))
		}
	}
	return nil
}

func inUseMessage(err error, uuid string) string {
	var iu *placement.InUseError
	if errors.As(err, &iu) {
		return fmt.Sprintf("Inventory for '%s' on resource provider '%s' in use.", strings.Join(iu.Classes, ", "), uuid)
	}
	return err.Error()
}

func conflictMessage(err error) string {
	var ce *placement.ConflictError
	if errors.As(err, &ce) {
		return "Another thread concurrently updated the resource provider data. Please retry your update"
	}
	return "Another thread concurrently updated the data. Please retry your update"
}

func (h *handler) getInventories(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionInventoriesList, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	pi, err := h.eng.Inventories(rq.ctx, uuid)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return notFound(fmt.Sprintf("No resource provider with uuid %s found : No resource provider with uuid %s found", uuid, uuid))
		}
		return rq.common(err, uuid)
	}
	rq.sendInventories(pi)
	return nil
}

func (h *handler) getInventory(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionInventoriesShow, placement.Target{}); err != nil {
		return err
	}
	uuid, class := rq.pathValue("uuid"), rq.pathValue("resource_class")
	inv, gen, err := h.eng.Inventory(rq.ctx, uuid, class)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return notFound(fmt.Sprintf("No resource provider with uuid %s found : No resource provider with uuid %s found", uuid, uuid))
		}
		if _, ok := isNotFound(err, ""); ok {
			return notFound(fmt.Sprintf("No inventory of class %s for %s", class, uuid))
		}
		return rq.common(err, uuid)
	}
	rq.sendInventory(http.StatusOK, inv, gen)
	return nil
}

func (h *handler) createInventory(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionInventoriesCreate, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	if _, err := rq.getProvider(uuid); err != nil {
		return err
	}
	data, err := rq.extractJSON("invPost")
	if err != nil {
		return err
	}
	class := data.get("resource_class").s
	inv := inventoryFrom(class, data)
	if err := rq.validateCapacity(uuid, "Unable to create inventory for resource provider ", inv); err != nil {
		return err
	}
	ch, err := h.eng.CreateInventory(rq.ctx, uuid, inv)
	if err != nil {
		var ee *placement.ExistsError
		switch {
		case errors.As(err, &ee):
			return conflict(CodeConcurrentUpdate, fmt.Sprintf("Update conflict: (DBDuplicateEntry) inventory of %s already exists on resource provider %s", class, uuid))
		case errors.Is(err, placement.ErrConcurrentUpdate):
			return conflict(CodeConcurrentUpdate, "Update conflict: "+conflictMessage(err))
		}
		if nf, ok := isNotFound(err, "resource class"); ok {
			return badRequest(fmt.Sprintf("Unable to create inventory for resource provider %s: No such resource class %s.", uuid, nf.ID))
		}
		if _, ok := isNotFound(err, "resource provider"); ok {
			return providerNotFound(uuid)
		}
		return rq.invalid(err, uuid)
	}
	for _, x := range ch.Inventories {
		if x.ResourceClass == class {
			inv = x
		}
	}
	rq.setLocation(h.inventoryURL(uuid, class))
	rq.sendInventory(http.StatusCreated, inv, ch.Generation)
	return nil
}

// invalid maps an Engine validation error that the schema did not catch.
func (rq *request) invalid(err error, uuid string) error {
	var ve *placement.ValidationError
	if errors.As(err, &ve) {
		return badRequest(fmt.Sprintf("Bad inventory for resource provider %s: %s", uuid, ve.Error()))
	}
	return rq.common(err, uuid)
}

func (h *handler) updateInventory(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionInventoriesUpdate, placement.Target{}); err != nil {
		return err
	}
	uuid, class := rq.pathValue("uuid"), rq.pathValue("resource_class")
	p, err := rq.getProvider(uuid)
	if err != nil {
		return err
	}
	data, err := rq.extractJSON("invBase")
	if err != nil {
		return err
	}
	gen := data.get("resource_provider_generation").int64()
	if gen != p.Generation {
		return conflict(CodeConcurrentUpdate, "resource provider generation conflict")
	}
	inv := inventoryFrom(class, data)
	if err := rq.validateCapacity(uuid, "Unable to update inventory for resource provider ", inv); err != nil {
		return err
	}
	ch, err := h.eng.UpdateInventory(rq.ctx, uuid, placement.ExpectGeneration(gen), inv)
	if err != nil {
		if errors.Is(err, placement.ErrConcurrentUpdate) {
			return conflict(CodeConcurrentUpdate, "update conflict: "+conflictMessage(err))
		}
		if nf, ok := isNotFound(err, "resource class"); ok {
			return notFound(fmt.Sprintf("No such resource class %s.", nf.ID))
		}
		if _, ok := isNotFound(err, "inventory"); ok {
			return badRequest(fmt.Sprintf("No inventory record with resource class for resource provider %s: No inventory of class %s found.", uuid, class))
		}
		var ve *placement.ValidationError
		if errors.As(err, &ve) && strings.Contains(ve.Field, "resource_class") {
			return notFound(fmt.Sprintf("No such resource class %s.", class))
		}
		return rq.invalid(err, uuid)
	}
	for _, x := range ch.Inventories {
		if x.ResourceClass == class {
			inv = x
		}
	}
	rq.sendInventory(http.StatusOK, inv, ch.Generation)
	return nil
}

func (h *handler) setInventories(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionInventoriesUpdate, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	// Placement reads the provider (404) before it parses the body (400),
	// then compares the generation (409) before it checks the capacities
	// (400). Here the write itself checks the provider and the generation,
	// so the provider is read only when something fails, to answer as
	// Placement would have.
	data, err := rq.extractJSON("invPutAll")
	if err != nil {
		if _, perr := rq.getProvider(uuid); perr != nil {
			return perr
		}
		return err
	}
	gen := data.get("resource_provider_generation").int64()
	precheck := func() error {
		p, err := rq.getProvider(uuid)
		if err != nil {
			return err
		}
		if gen != p.Generation {
			return conflict(CodeConcurrentUpdate, "resource provider generation conflict")
		}
		return nil
	}
	var invs []placement.Inventory // nil when there are none
	members := data.get("inventories").obj
	if len(members) > 0 {
		invs = make([]placement.Inventory, 0, len(members))
	}
	for _, m := range members {
		invs = append(invs, inventoryFrom(m.key, m.val))
	}
	if err := rq.validateCapacity(uuid, "Unable to update inventory for resource provider ", invs...); err != nil {
		if perr := precheck(); perr != nil {
			return perr
		}
		return err
	}
	ch, err := h.eng.ReplaceInventories(rq.ctx, uuid, placement.ExpectGeneration(gen), invs)
	if err != nil {
		if perr := precheck(); perr != nil {
			return perr
		}
		switch {
		case errors.Is(err, placement.ErrInventoryInUse):
			return conflict(CodeInventoryInUse, "update conflict: "+inUseMessage(err, uuid))
		case errors.Is(err, placement.ErrConcurrentUpdate):
			return conflict(CodeConcurrentUpdate, "update conflict: "+conflictMessage(err))
		}
		if nf, ok := isNotFound(err, "resource class"); ok {
			return badRequest(fmt.Sprintf("Unknown resource class in inventory for resource provider %s: No such resource class %s.", uuid, nf.ID))
		}
		return rq.invalid(err, uuid)
	}
	rq.sendInventories(ch.ProviderInventories)
	return nil
}

func (h *handler) deleteInventories(rq *request) error {
	if !rq.version.atLeast(5) {
		return &apiError{status: http.StatusMethodNotAllowed}
	}
	if err := rq.authorize(placement.ActionInventoriesDelete, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	if _, err := rq.getProvider(uuid); err != nil {
		return err
	}
	_, err := h.eng.DeleteInventories(rq.ctx, uuid, placement.SkipGenerationCheck())
	if err != nil {
		switch {
		case errors.Is(err, placement.ErrInventoryInUse):
			return conflict(CodeInventoryInUse, inUseMessage(err, uuid))
		case errors.Is(err, placement.ErrConcurrentUpdate):
			return conflict(CodeConcurrentUpdate, fmt.Sprintf("Unable to delete inventory for resource provider %s because the inventory was updated by another process. Please retry your request.", uuid))
		}
		return rq.common(err, uuid)
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}

func (h *handler) deleteInventory(rq *request) error {
	if err := rq.authorize(placement.ActionInventoriesDelete, placement.Target{}); err != nil {
		return err
	}
	uuid, class := rq.pathValue("uuid"), rq.pathValue("resource_class")
	if _, err := rq.getProvider(uuid); err != nil {
		return err
	}
	_, err := h.eng.DeleteInventory(rq.ctx, uuid, placement.SkipGenerationCheck(), class)
	if err != nil {
		switch {
		case errors.Is(err, placement.ErrInventoryInUse):
			return conflict(CodeConcurrentUpdate, fmt.Sprintf("Unable to delete inventory of class %s: %s", class, inUseMessage(err, uuid)))
		case errors.Is(err, placement.ErrConcurrentUpdate):
			return conflict(CodeConcurrentUpdate, fmt.Sprintf("Unable to delete inventory of class %s: %s", class, conflictMessage(err)))
		}
		if _, ok := isNotFound(err, ""); ok {
			return notFound(fmt.Sprintf("No inventory of class %s found for delete: No inventory of class %s found for delete", class, class))
		}
		return rq.common(err, uuid)
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}
