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

// --- aggregates ---

func (h *handler) getAggregates(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.minVersion(1); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionAggregatesList, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	aggs, gen, err := h.eng.ProviderAggregates(rq.ctx, uuid)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return providerNotFound(uuid)
		}
		return rq.common(err, uuid)
	}
	rq.sendAggregates(aggs, gen)
	return nil
}

func (rq *request) sendAggregates(aggs []string, gen int64) {
	if aggs == nil {
		aggs = []string{}
	}
	o := obj{{"aggregates", aggs}}
	if rq.version.atLeast(19) {
		o = append(o, kv{"resource_provider_generation", gen})
	}
	rq.cache(rq.h.now())
	rq.writeJSON(http.StatusOK, o)
}

func (h *handler) setAggregates(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.minVersion(1); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionAggregatesUpdate, placement.Target{}); err != nil {
		return err
	}
	withGen := rq.version.atLeast(19)
	schema := "aggPut11"
	if withGen {
		schema = "aggPut119"
	}
	uuid := rq.pathValue("uuid")
	p, err := rq.getProvider(uuid)
	if err != nil {
		return err
	}
	data, err := rq.extractJSON(schema)
	if err != nil {
		return err
	}
	list := data
	check := placement.SkipGenerationCheck()
	if withGen {
		gen := data.get("resource_provider_generation").int64()
		if gen != p.Generation {
			return conflict(CodeConcurrentUpdate, "Resource provider's generation already changed. Please update the generation and try again.")
		}
		check = placement.ExpectGeneration(gen)
		list = data.get("aggregates")
	}
	aggs := make([]string, 0, len(list.arr))
	for _, a := range list.arr {
		aggs = append(aggs, a.s)
	}
	newGen, err := h.eng.SetProviderAggregates(rq.ctx, uuid, check, aggs)
	if err != nil {
		if errors.Is(err, placement.ErrConcurrentUpdate) {
			return conflict(CodeConcurrentUpdate, "Update conflict: "+conflictMessage(err))
		}
		return rq.common(err, uuid)
	}
	rq.sendAggregates(aggs, newGen)
	return nil
}

// --- traits ---

const invalidTraitMessage = `The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"`

func (h *handler) traitURL(name string) string { return h.prefix + "/traits/" + name }

func traitNotFound(name string) *apiError {
	return notFound(fmt.Sprintf("No such trait(s): %s.", name))
}

func (h *handler) putTrait(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionTraitsUpdate, placement.Target{}); err != nil {
		return err
	}
	name := rq.pathValue("name")
	if validate("customTrait", strValue(name)) != nil {
		return badRequest(invalidTraitMessage)
	}
	created, err := h.eng.EnsureTrait(rq.ctx, name)
	if err != nil {
		if errors.Is(err, placement.ErrInvalid) {
			return badRequest(invalidTraitMessage)
		}
		return rq.common(err, "")
	}
	status := http.StatusNoContent
	last := time.Time{}
	if created {
		status = http.StatusCreated
	} else if t, err := h.eng.Trait(rq.ctx, name); err == nil {
		last = t.CreatedAt
	}
	rq.setLocation(h.traitURL(name))
	rq.cache(last)
	rq.writeEmpty(status)
	return nil
}

func (h *handler) getTrait(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionTraitsShow, placement.Target{}); err != nil {
		return err
	}
	name := rq.pathValue("name")
	t, err := h.eng.Trait(rq.ctx, name)
	if err != nil {
		if _, ok := isNotFound(err, ""); ok {
			return traitNotFound(name)
		}
		return rq.common(err, "")
	}
	rq.cache(t.CreatedAt)
	rq.writeEmpty(http.StatusNoContent)
	return nil
}

func (h *handler) deleteTrait(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionTraitsDelete, placement.Target{}); err != nil {
		return err
	}
	name := rq.pathValue("name")
	err := h.eng.DeleteTrait(rq.ctx, name)
	switch {
	case err == nil:
		rq.writeEmpty(http.StatusNoContent)
		return nil
	case errors.Is(err, placement.ErrStandardName):
		return badRequest(fmt.Sprintf("Cannot delete standard trait %s.", name))
	case errors.Is(err, placement.ErrTraitInUse):
		return conflict("", fmt.Sprintf("The trait %s is in use by a resource provider.", name))
	}
	if _, ok := isNotFound(err, ""); ok {
		return traitNotFound(name)
	}
	return rq.common(err, "")
}

func (h *handler) listTraits(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionTraitsList, placement.Target{}); err != nil {
		return err
	}
	q, err := rq.query("traitList")
	if err != nil {
		return err
	}
	var f placement.TraitFilter
	if v, ok := q.get("name"); ok {
		op, value, found := strings.Cut(v, ":")
		if !found {
			return badRequest(fmt.Sprintf(`Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "%s"`, v))
		}
		switch op {
		case "in":
			f.NamesIn = strings.Split(value, ",")
		case "startswith":
			f.Prefix = value
		}
	}
	if v, ok := q.get("associated"); ok {
		switch strings.ToLower(v) {
		case "true":
			t := true
			f.Associated = &t
		case "false":
			t := false
			f.Associated = &t
		default:
			return badRequest(`The query parameter "associated" only accepts "true" or "false"`)
		}
	}
	traits, err := h.eng.Traits(rq.ctx, f)
	if err != nil {
		return rq.common(err, "")
	}
	names := make([]string, 0, len(traits))
	var last time.Time
	for _, t := range traits {
		names = append(names, t.Name)
		last = latest(last, modified(t.CreatedAt, t.UpdatedAt))
	}
	rq.cache(last)
	rq.writeJSON(http.StatusOK, obj{{"traits", names}})
	return nil
}

func (h *handler) providerTraits(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProviderTraitsList, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	traits, gen, err := h.eng.ProviderTraits(rq.ctx, uuid)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return notFound(fmt.Sprintf("No resource provider with uuid %s found: No resource provider with uuid %s found", uuid, uuid))
		}
		return rq.common(err, uuid)
	}
	if traits == nil {
		traits = []string{}
	}
	rq.cache(h.now())
	rq.writeJSON(http.StatusOK, obj{{"traits", traits}, {"resource_provider_generation", gen}})
	return nil
}

func (h *handler) setProviderTraits(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProviderTraitsUpdate, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	data, err := rq.extractJSON("rpTraitsPut")
	if err != nil {
		return err
	}
	p, err := rq.getProvider(uuid)
	if err != nil {
		return err
	}
	gen := data.get("resource_provider_generation").int64()
	genMismatch := conflict(CodeConcurrentUpdate, "Resource provider's generation already changed. Please update the generation and try again.")
	if gen != p.Generation {
		return genMismatch
	}
	traits := []string{}
	for _, t := range data.get("traits").arr {
		traits = appendUnique(traits, t.s)
	}
	newGen, err := h.eng.SetProviderTraits(rq.ctx, uuid, placement.ExpectGeneration(gen), traits)
	if err != nil {
		if errors.Is(err, placement.ErrConcurrentUpdate) {
			return genMismatch
		}
		if nf, ok := isNotFound(err, "trait"); ok {
			return badRequest("No such trait " + nf.ID)
		}
		return rq.common(err, uuid)
	}
	sort.Strings(traits)
	rq.cache(h.now())
	rq.writeJSON(http.StatusOK, obj{{"traits", traits}, {"resource_provider_generation", newGen}})
	return nil
}

func (h *handler) deleteProviderTraits(rq *request) error {
	if err := rq.minVersion(6); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProviderTraitsDelete, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	if _, err := rq.getProvider(uuid); err != nil {
		return err
	}
	if err := h.eng.DeleteProviderTraits(rq.ctx, uuid, placement.SkipGenerationCheck()); err != nil {
		if errors.Is(err, placement.ErrConcurrentUpdate) {
			return conflict(CodeConcurrentUpdate, conflictMessage(err))
		}
		return rq.common(err, uuid)
	}
	rq.writeEmpty(http.StatusNoContent)
	return nil
}

// --- resource classes ---

func (h *handler) resourceClassURL(name string) string { return h.prefix + "/resource_classes/" + name }

func (rq *request) serializeClass(name string) obj {
	return obj{{"name", name}, {"links", []obj{{{"rel", "self"}, {"href", rq.h.resourceClassURL(name)}}}}}
}

func classNotFound(name string) *apiError {
	return notFound(fmt.Sprintf("No such resource class %s.", name))
}

func (h *handler) listResourceClasses(rq *request) error {
	if err := rq.minVersion(2); err != nil {
		return err
	}
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionResourceClassesList, placement.Target{}); err != nil {
		return err
	}
	rcs, err := h.eng.ResourceClasses(rq.ctx)
	if err != nil {
		return rq.common(err, "")
	}
	out := make([]obj, 0, len(rcs))
	var last time.Time
	for _, rc := range rcs {
		out = append(out, rq.serializeClass(rc.Name))
		last = latest(last, modified(rc.CreatedAt, rc.UpdatedAt))
	}
	rq.cache(last)
	rq.writeJSON(http.StatusOK, obj{{"resource_classes", out}})
	return nil
}

func (h *handler) getResourceClass(rq *request) error {
	if err := rq.minVersion(2); err != nil {
		return err
	}
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionResourceClassesShow, placement.Target{}); err != nil {
		return err
	}
	name := rq.pathValue("name")
	rc, err := h.eng.ResourceClass(rq.ctx, name)
	if err != nil {
		if _, ok := isNotFound(err, ""); ok {
			return classNotFound(name)
		}
		return rq.common(err, "")
	}
	rq.cache(modified(rc.CreatedAt, rc.UpdatedAt))
	rq.writeJSON(http.StatusOK, rq.serializeClass(rc.Name))
	return nil
}

func (h *handler) createResourceClass(rq *request) error {
	if err := rq.minVersion(2); err != nil {
		return err
	}
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionResourceClassesCreate, placement.Target{}); err != nil {
		return err
	}
	data, err := rq.extractJSON("rcPost")
	if err != nil {
		return err
	}
	name := data.get("name").s
	if _, err := h.eng.CreateResourceClass(rq.ctx, name); err != nil {
		if errors.Is(err, placement.ErrAlreadyExists) {
			return conflict("", fmt.Sprintf("Conflicting resource class already exists: %s", name))
		}
		return rq.common(err, "")
	}
	rq.setLocation(h.resourceClassURL(name))
	rq.writeEmpty(http.StatusCreated)
	return nil
}

func (h *handler) updateResourceClass(rq *request) error {
	if err := rq.minVersion(2); err != nil {
		return err
	}
	name := rq.pathValue("name")
	if !rq.version.atLeast(7) {
		if err := rq.requireJSON(); err != nil {
			return err
		}
		if err := rq.authorize(placement.ActionResourceClassesUpdate, placement.Target{}); err != nil {
			return err
		}
		data, err := rq.extractJSON("rcPost")
		if err != nil {
			return err
		}
		to := data.get("name").s
		rc, err := h.eng.RenameResourceClass(rq.ctx, name, to)
		if err != nil {
			switch {
			case errors.Is(err, placement.ErrStandardName):
				return badRequest(fmt.Sprintf("Cannot update standard resource class %s", name))
			case errors.Is(err, placement.ErrAlreadyExists):
				return conflict("", fmt.Sprintf("Resource class already exists: %s", to))
			}
			if _, ok := isNotFound(err, ""); ok {
				return classNotFound(name)
			}
			return rq.common(err, "")
		}
		rq.writeJSON(http.StatusOK, rq.serializeClass(rc.Name))
		return nil
	}
	if err := rq.authorize(placement.ActionResourceClassesUpdate, placement.Target{}); err != nil {
		return err
	}
	if e := validate("rcPost", &jvalue{kind: jObject, obj: []jmember{{"name", strValue(name)}}}); e != nil {
		return badRequest("JSON does not validate: " + e.String())
	}
	_, created, err := h.eng.EnsureResourceClass(rq.ctx, name)
	if err != nil {
		return rq.common(err, "")
	}
	rq.setLocation(h.resourceClassURL(name))
	if created {
		rq.writeEmpty(http.StatusCreated)
	} else {
		rq.writeEmpty(http.StatusNoContent)
	}
	return nil
}

func (h *handler) deleteResourceClass(rq *request) error {
	if err := rq.minVersion(2); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionResourceClassesDelete, placement.Target{}); err != nil {
		return err
	}
	name := rq.pathValue("name")
	err := h.eng.DeleteResourceClass(rq.ctx, name)
	switch {
	case err == nil:
		rq.writeEmpty(http.StatusNoContent)
		return nil
	case errors.Is(err, placement.ErrStandardName):
		return badRequest(fmt.Sprintf("Error in delete resource class: Cannot delete standard resource class %s.", name))
	case errors.Is(err, placement.ErrResourceClassInUse):
		return conflict("", fmt.Sprintf("Error in delete resource class: Cannot delete resource class %s. Class is in use in inventory.", name))
	}
	if _, ok := isNotFound(err, ""); ok {
		return classNotFound(name)
	}
	return rq.common(err, "")
}

// --- usages ---

func (h *handler) providerUsages(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProviderUsages, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	u, err := h.eng.ProviderUsages(rq.ctx, uuid)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return notFound(fmt.Sprintf("No resource provider with uuid %s found: No resource provider with uuid %s found", uuid, uuid))
		}
		return rq.common(err, uuid)
	}
	rq.cache(h.now())
	rq.writeJSON(http.StatusOK, obj{{"resource_provider_generation", u.Generation}, {"usages", sortedUsages(u.Usages)}})
	return nil
}

func sortedUsages(m map[string]int64) obj {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := make(obj, 0, len(keys))
	for _, k := range keys {
		o = append(o, kv{k, m[k]})
	}
	return o
}

func (h *handler) totalUsages(rq *request) error {
	if err := rq.minVersion(9); err != nil {
		return err
	}
	if err := rq.checkAccept(); err != nil {
		return err
	}
	raw, err := parseQuery(rq.r.URL.RawQuery)
	if err != nil {
		return err
	}
	project, _ := raw.get("project_id")
	if err := rq.authorize(placement.ActionUsages, placement.Target{ProjectID: project}); err != nil {
		return err
	}
	withTypes := rq.version.atLeast(38)
	schema := "usages19"
	if withTypes {
		schema = "usages138"
	}
	q, err := rq.query(schema)
	if err != nil {
		return err
	}
	uq := placement.UsageQuery{ProjectID: project}
	uq.UserID, _ = q.get("user_id")
	if withTypes {
		uq.ConsumerType, _ = q.get("consumer_type")
	} else {
		uq.ConsumerType = placement.AllConsumerTypes
	}
	groups, err := h.eng.Usages(rq.ctx, uq)
	if err != nil {
		return rq.common(err, "")
	}
	var usages obj
	if withTypes {
		types := make([]string, 0, len(groups))
		for t := range groups {
			types = append(types, t)
		}
		sort.Strings(types)
		usages = obj{}
		for _, t := range types {
			g := groups[t]
			o := sortedUsages(g.Usages)
			o = append(o, kv{"consumer_count", g.ConsumerCount})
			usages = append(usages, kv{t, o})
		}
	} else {
		usages = sortedUsages(groups[placement.AllConsumerTypes].Usages)
	}
	rq.cache(h.now())
	rq.writeJSON(http.StatusOK, obj{{"usages", usages}})
	return nil
}
