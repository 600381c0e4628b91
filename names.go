package placement

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Name rules shared by every operation.

const (
	// MaxProviderNameLength is the longest provider name, in characters.
	MaxProviderNameLength = 200
	// MaxNameLength is the longest class, trait or consumer type name.
	MaxNameLength = 255
	// CustomPrefix starts every custom resource class and trait name.
	CustomPrefix = "CUSTOM_"
)

var (
	standardClassSet = toSet(standardClasses[:])
	standardTraitSet = toSet(standardTraits[:])
)

func toSet(names []string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}

// StandardResourceClasses returns the standard resource class names in
// Placement's id order.
func StandardResourceClasses() []string { return slices.Clone(standardClasses[:]) }

// StandardTraits returns the standard trait names, sorted.
func StandardTraits() []string { return slices.Clone(standardTraits[:]) }

// IsStandardResourceClass reports whether name is a standard resource class.
func IsStandardResourceClass(name string) bool {
	_, ok := standardClassSet[name]
	return ok
}

// IsStandardTrait reports whether name is a standard trait.
func IsStandardTrait(name string) bool {
	_, ok := standardTraitSet[name]
	return ok
}

// isUpperName reports whether s matches ^[A-Z0-9_]+$.
func isUpperName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !upperNameByte[s[i]] {
			return false
		}
	}
	return true
}

// upperNameByte tells the bytes of ^[A-Z0-9_]+$.
var upperNameByte = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['_'] = true
	return t
}()

// ValidateCustomName checks a custom resource class or trait name:
// ^CUSTOM_[A-Z0-9_]+$ and at most 255 characters. field names the argument
// in the error ("name", "resource_class", "trait").
func ValidateCustomName(field, name string) error {
	if len(name) > MaxNameLength {
		return invalid(field, name, fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	if !strings.HasPrefix(name, CustomPrefix) || len(name) == len(CustomPrefix) || !isUpperName(name) {
		return invalid(field, name, "must match ^CUSTOM_[A-Z0-9_]+$")
	}
	return nil
}

// validateClassName checks the shape of a class name used in an inventory or
// allocation (^[A-Z0-9_]+$, at most 255 characters); whether it exists is
// checked against the store.
func validateClassName(field, name string) error {
	if len(name) > MaxNameLength || !isUpperName(name) {
		return invalid(field, name, "must match ^[A-Z0-9_]+$ and be at most 255 characters")
	}
	return nil
}

// ValidateConsumerType checks a consumer type name: ^[A-Z0-9_]+$, 1 to 255 characters.
func ValidateConsumerType(name string) error {
	if len(name) > MaxNameLength || !isUpperName(name) {
		return invalid("consumer_type", name, "must match ^[A-Z0-9_]+$ and be at most 255 characters")
	}
	return nil
}

func validateProviderName(name string) error {
	if name == "" {
		return invalid("name", "", "is required")
	}
	if !utf8.ValidString(name) {
		return invalid("name", name, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxProviderNameLength {
		return invalid("name", name, fmt.Sprintf("must be at most %d characters", MaxProviderNameLength))
	}
	return nil
}

// canonicalUUIDField canonicalises a uuid argument or names it in an error.
func canonicalUUIDField(field, s string) (string, error) {
	c, ok := CanonicalUUID(s)
	if !ok {
		return "", invalid(field, s, "is not a 'uuid'")
	}
	return c, nil
}

// sortedUnique returns a sorted copy of names without duplicates.
func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
