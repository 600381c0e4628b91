package placementhttp

import (
	"errors"
	"fmt"
	"net/http"
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

func serializeInventory(inv placement.Inventory) obj {
	return obj{{"total", inv.Total}, {"reserved", inv.Reserved}, {"min_unit", inv.MinUnit},
		{"max_unit", inv.MaxUnit}, {"step_size", inv.StepSize}, {"allocation_ratio", pyfloat(inv.AllocationRatio)}}
}

// sendInventory answers one inventory record with the provider generation
// (Placement omits a zero generation).
func (rq *request) sendInventory(status int, inv placement.Inventory, gen int64) {
	o := serializeInventory(inv)
	if gen != 0 {
		o = append(o, kv{"resource_provider_generation", gen})
	}
	rq.cache(modified(inv.CreatedAt, inv.UpdatedAt))
	rq.writeJSON(status, o)
}

func (rq *request) sendInventories(pi placement.ProviderInventories) {
	invs := obj{}
	var last time.Time
	for _, inv := range pi.Inventories {
		invs = append(invs, kv{inv.ResourceClass, serializeInventory(inv)})
		last = latest(last, modified(inv.CreatedAt, inv.UpdatedAt))
	}
	if rq.version.atLeast(15) {
		rq.w.Header().Set("Cache-Control", "no-cache")
		if !last.IsZero() {
			rq.w.Header().Set("Last-Modified", last.UTC().Format(http.TimeFormat))
		}
	}
	rq.writeJSON(http.StatusOK, obj{{"resource_provider_generation", pi.Generation}, {"inventories", invs}})
}

// inventoryFrom builds an inventory from a validated record, with
// Placement's API defaults.
func inventoryFrom(class string, rec *jvalue) placement.Inventory {
	inv := placement.NewInventory(class, 0)
	ints := map[string]*int64{"total": &inv.Total, "reserved": &inv.Reserved, "min_unit": &inv.MinUnit,
		"max_unit": &inv.MaxUnit, "step_size": &inv.StepSize}
	for k, p := range ints {
		if v := rec.get(k); v != nil {
			*p = v.int64()
		}
	}
	if v := rec.get("allocation_ratio"); v != nil {
		inv.AllocationRatio = v.float()
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
	p, err := rq.getProvider(uuid)
	if err != nil {
		return err
	}
	data, err := rq.extractJSON("invPutAll")
	if err != nil {
		return err
	}
	gen := data.get("resource_provider_generation").int64()
	if gen != p.Generation {
		return conflict(CodeConcurrentUpdate, "resource provider generation conflict")
	}
	var invs []placement.Inventory
	for _, m := range data.get("inventories").obj {
		invs = append(invs, inventoryFrom(m.key, m.val))
	}
	if err := rq.validateCapacity(uuid, "Unable to update inventory for resource provider ", invs...); err != nil {
		return err
	}
	ch, err := h.eng.ReplaceInventories(rq.ctx, uuid, placement.ExpectGeneration(gen), invs)
	if err != nil {
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
