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

// obj is a JSON object that keeps its key order (Placement's dicts).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) { return marshal(o), nil }

func latest(t time.Time, times ...time.Time) time.Time {
	for _, x := range times {
		if x.After(t) {
			t = x
		}
	}
	return t
}

func modified(created, updated time.Time) time.Time {
	if !updated.IsZero() {
		return updated
	}
	return created
}

func (h *handler) providerURL(uuid string) string { return h.prefix + "/resource_providers/" + uuid }

// appendProvider appends a provider's representation.
func (rq *request) appendProvider(b []byte, p placement.ResourceProvider) []byte {
	b = append(b, `{"uuid": `...)
	b = appendString(b, p.UUID)
	b = append(b, `, "name": `...)
	b = appendString(b, p.Name)
	b = append(b, `, "generation": `...)
	b = strconv.AppendInt(b, p.Generation, 10)
	b = append(b, `, "links": [`...)
	link := func(b []byte, rel string) []byte {
		b = append(b, `{"rel": "`...)
		if rel == "" {
			b = append(b, "self"...)
		} else {
			b = append(b, rel...)
		}
		b = append(b, `", "href": "`...)
		b = appendEscaped(b, rq.h.prefix)
		b = append(b, "/resource_providers/"...)
		b = appendEscaped(b, p.UUID)
		if rel != "" {
			b = append(b, '/')
			b = append(b, rel...)
		}
		return append(b, `"}`...)
	}
	b = link(b, "")
	for _, rel := range [...]string{"inventories", "usages", "aggregates", "traits", "allocations"} {
		switch {
		case rel == "aggregates" && !rq.version.atLeast(1),
			rel == "traits" && !rq.version.atLeast(6),
			rel == "allocations" && !rq.version.atLeast(11):
			continue
		}
		b = append(b, ", "...)
		b = link(b, rel)
	}
	b = append(b, ']')
	if rq.version.atLeast(14) {
		b = append(b, `, "parent_provider_uuid": `...)
		if p.ParentUUID == "" {
			b = append(b, "null"...)
		} else {
			b = appendString(b, p.ParentUUID)
		}
		b = append(b, `, "root_provider_uuid": `...)
		b = appendString(b, p.RootUUID)
	}
	return append(b, '}')
}

// writeProvider answers status with a provider's representation.
func (rq *request) writeProvider(status int, p placement.ResourceProvider) {
	rq.writeJSONWith(status, func(b []byte) []byte { return rq.appendProvider(b, p) })
}

// providerNotFound is the 404 of an unknown provider in a path.
func providerNotFound(uuid string) *apiError {
	return notFound(fmt.Sprintf("No resource provider with uuid %s found", uuid))
}

// common maps the errors every handler treats alike: denials and unknown
// providers named in the path.
func (rq *request) common(err error, uuid string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, placement.ErrForbidden):
		var fe *placement.ForbiddenError
		if errors.As(err, &fe) {
			return forbidden(fe.Action)
		}
		return errorf(http.StatusForbidden, "", "Access was denied to this resource.")
	}
	var nf *placement.NotFoundError
	if errors.As(err, &nf) && nf.Resource == "resource provider" && uuid != "" && nf.ID == uuid {
		return providerNotFound(uuid)
	}
	return err
}

func isNotFound(err error, resource string) (*placement.NotFoundError, bool) {
	var nf *placement.NotFoundError
	if errors.As(err, &nf) && (resource == "" || nf.Resource == resource) {
		return nf, true
	}
	return nil, false
}

// getProviderOr404 reads the provider named in the path.
func (rq *request) getProvider(uuid string) (placement.ResourceProvider, error) {
	p, err := rq.h.eng.Provider(rq.ctx, uuid)
	if err != nil {
		if _, ok := isNotFound(err, "resource provider"); ok {
			return p, providerNotFound(uuid)
		}
		return p, rq.common(err, uuid)
	}
	return p, nil
}

func (h *handler) listProviders(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProvidersList, placement.Target{}); err != nil {
		return err
	}
	schema := "rpList10"
	switch {
	case rq.version.atLeast(18):
		schema = "rpList118"
	case rq.version.atLeast(14):
		schema = "rpList114"
	case rq.version.atLeast(4):
		schema = "rpList14"
	case rq.version.atLeast(3):
		schema = "rpList13"
	}
	q, err := rq.query(schema)
	if err != nil {
		return err
	}
	var f placement.ProviderFilter
	if q.has("member_of") {
		m, err := rq.normalizeMemberOfParams(q, "")
		if err != nil {
			return err
		}
		f.MemberOf, f.NotMemberOf = m.required, m.forbidden
	}
	if q.has("required") {
		t, err := rq.normalizeTraitsParams(q, "")
		if err != nil {
			return err
		}
		f.Required, f.Forbidden = t.required, t.forbidden
	}
	f.UUID, _ = q.get("uuid")
	f.Name, _ = q.get("name")
	f.InTree, _ = q.get("in_tree")
	if v, ok := q.get("resources"); ok {
		resources, err := normalizeResources(v)
		if err != nil {
			return err
		}
		for _, r := range resources {
			f.Resources = append(f.Resources, placement.ResourceAmount{Class: r.class, Amount: r.amount})
		}
	}
	if (f.UUID != "" || q.has("uuid")) && f.UUID == "" {
		f.UUID = "\x00" // uuid= (empty) matches nothing
	}
	if f.Name == "" && q.has("name") {
		f.Name = "\x00"
	}
	if f.InTree == "" && q.has("in_tree") {
		f.InTree = "\x00"
	}
	providers, err := h.eng.Providers(rq.ctx, f)
	if err != nil {
		if nf, ok := isNotFound(err, "trait"); ok {
			return badRequest(fmt.Sprintf("Invalid trait(s) in \"required\" parameter: No such trait(s): %s.", nf.ID))
		}
		if class, ok := unknownClass(err); ok {
			return badRequest(fmt.Sprintf("Invalid resource class in resources parameter: No such resource class %s.", class))
		}
		return rq.common(err, "")
	}
	var last time.Time
	for _, p := range providers {
		last = latest(last, modified(p.CreatedAt, p.UpdatedAt))
	}
	rq.cache(last)
	rq.writeJSONWith(http.StatusOK, func(b []byte) []byte {
		b = append(b, `{"resource_providers": [`...)
		for i, p := range providers {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = rq.appendProvider(b, p)
		}
		return append(b, "]}"...)
	})
	return nil
}

// unknownClass recognises an unknown resource class named in a query:
// the Engine's NotFoundError, or its refusal of a name that cannot be a
// class (Placement does not check the shape there, it finds no such class).
func unknownClass(err error) (string, bool) {
	if nf, ok := isNotFound(err, "resource class"); ok {
		return nf.ID, true
	}
	var ve *placement.ValidationError
	if errors.As(err, &ve) && strings.HasPrefix(ve.Field, "resources") && strings.Contains(ve.Rule, "must match") {
		return ve.Value, true
	}
	return "", false
}

func (h *handler) getProvider(rq *request) error {
	if err := rq.checkAccept(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProvidersShow, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	p, err := rq.getProvider(uuid)
	if err != nil {
		return err
	}
	rq.cache(modified(p.CreatedAt, p.UpdatedAt))
	rq.writeProvider(http.StatusOK, p)
	return nil
}

func (h *handler) createProvider(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProvidersCreate, placement.Target{}); err != nil {
		return err
	}
	schema := "rpPost"
	if rq.version.atLeast(14) {
		schema = "rpPost114"
	}
	data, err := rq.extractJSON(schema)
	if err != nil {
		return err
	}
	spec := placement.ProviderSpec{Name: data.get("name").s}
	if u := data.get("uuid"); u != nil && u.s != "" {
		spec.UUID, _ = placement.CanonicalUUID(u.s)
	} else {
		spec.UUID = placement.NewUUID()
	}
	if p := data.get("parent_provider_uuid"); p != nil && p.kind == jString {
		spec.ParentUUID = p.s
	}
	p, err := h.eng.CreateProvider(rq.ctx, spec)
	if err != nil {
		var ee *placement.ExistsError
		var ve *placement.ValidationError
		switch {
		case errors.As(err, &ee):
			v := spec.UUID
			if ee.Field == "name" {
				v = spec.Name
			}
			return conflict(CodeDuplicateName, fmt.Sprintf("Conflicting resource provider %s: %s already exists.", ee.Field, v))
		case errors.As(err, &ve):
			reason := ve.Rule
			switch {
			case ve.Field == "name" && spec.Name == "":
				reason = "name is required"
			case errors.Is(err, placement.ErrSelfParent):
				reason = "parent provider UUID cannot be same as UUID. Please set parent provider UUID to None if there is no parent."
			case errors.Is(err, placement.ErrParentNotFound):
				reason = "parent provider UUID does not exist."
			}
			return badRequest(fmt.Sprintf("Unable to create resource provider \"%s\", %s: Object action create failed because: %s",
				spec.Name, spec.UUID, reason))
		}
		return rq.common(err, "")
	}
	rq.setLocation(h.providerURL(p.UUID))
	if rq.version.atLeast(20) {
		rq.cache(modified(p.CreatedAt, p.UpdatedAt))
		rq.writeProvider(http.StatusOK, p)
		return nil
	}
	rq.writeEmpty(http.StatusCreated)
	return nil
}

func (h *handler) updateProvider(rq *request) error {
	if err := rq.requireJSON(); err != nil {
		return err
	}
	if err := rq.authorize(placement.ActionProvidersUpdate, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	if _, err := rq.getProvider(uuid); err != nil {
		return err
	}
	schema := "rpPut"
	if rq.version.atLeast(14) {
		schema = "rpPut114"
	}
	data, err := rq.extractJSON(schema)
	if err != nil {
		return err
	}
	u := placement.ProviderUpdate{Name: data.get("name").s, KeepParent: !rq.version.atLeast(37)}
	if p := data.get("parent_provider_uuid"); p != nil {
		u.SetParent = true
		if p.kind == jString {
			u.ParentUUID = p.s
		}
	}
	p, err := h.eng.UpdateProvider(rq.ctx, uuid, u)
	if err != nil {
		var ee *placement.ExistsError
		var ve *placement.ValidationError
		switch {
		case errors.As(err, &ee):
			return conflict(CodeDuplicateName, fmt.Sprintf("Conflicting resource provider %s already exists.", u.Name))
		case errors.As(err, &ve):
			action, reason := "update", ve.Rule
			switch {
			case ve.Field == "name":
				reason = "name " + ve.Rule
			case errors.Is(err, placement.ErrParentNotFound):
				action, reason = "create", "parent provider UUID does not exist."
			case errors.Is(err, placement.ErrReparent):
				reason = "re-parenting a provider is not currently allowed."
			case errors.Is(err, placement.ErrUnparent):
				reason = "un-parenting a provider is not currently allowed."
			case errors.Is(err, placement.ErrProviderLoop):
				reason = "creating loop in the provider tree is not allowed."
			}
			return badRequest(fmt.Sprintf("Unable to save resource provider %s: Object action %s failed because: %s", uuid, action, reason))
		}
		return rq.common(err, uuid)
	}
	rq.cache(modified(p.CreatedAt, p.UpdatedAt))
	rq.writeProvider(http.StatusOK, p)
	return nil
}

func (h *handler) deleteProvider(rq *request) error {
	if err := rq.authorize(placement.ActionProvidersDelete, placement.Target{}); err != nil {
		return err
	}
	uuid := rq.pathValue("uuid")
	err := h.eng.DeleteProvider(rq.ctx, uuid)
	switch {
	case err == nil:
		rq.writeEmpty(http.StatusNoContent)
		return nil
	case errors.Is(err, placement.ErrProviderHasChildren):
		return conflict(CodeProviderCannotDelete, fmt.Sprintf("Unable to delete parent resource provider %s: It has child resource providers.", uuid))
	case errors.Is(err, placement.ErrProviderInUse):
		return conflict(CodeProviderInUse, fmt.Sprintf("Unable to delete resource provider %s: Resource provider has allocations.", uuid))
	}
	if _, ok := isNotFound(err, "resource provider"); ok {
		return notFound(fmt.Sprintf("No resource provider with uuid %s found for delete", uuid))
	}
	return rq.common(err, uuid)
}
