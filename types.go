package placement

import "time"

// ResourceProvider is a provider of resources: a compute node, a NUMA cell,
// a shared storage pool, a NIC. Providers form trees (ParentUUID, RootUUID).
type ResourceProvider struct {
	UUID       string
	Name       string
	Generation int64
	// ParentUUID is empty for a root provider.
	ParentUUID string
	// RootUUID is the uuid of the tree's root (the provider's own for a root).
	RootUUID  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Inventory is a provider's stock of one resource class. Allocations of the
// class must satisfy MinUnit <= amount <= MaxUnit and amount % StepSize == 0,
// and the provider's usage may not exceed
// (Total - Reserved) * AllocationRatio (see Capacity).
type Inventory struct {
	ResourceClass   string
	Total           int64
	Reserved        int64
	MinUnit         int64
	MaxUnit         int64
	StepSize        int64
	AllocationRatio float64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ResourceClass is a kind of resource. Standard classes (VCPU, MEMORY_MB,
// ...) are built in; custom ones are named CUSTOM_*.
type ResourceClass struct {
	Name      string
	Standard  bool
	CreatedAt time.Time // zero for standard classes
	UpdatedAt time.Time
}

// Trait is a qualitative property of a provider (HW_CPU_X86_AVX2,
// CUSTOM_FAST_DISK). Standard traits are built in; custom ones are named CUSTOM_*.
type Trait struct {
	Name      string
	Standard  bool
	CreatedAt time.Time // zero for standard traits
	UpdatedAt time.Time
}

// Consumer is whatever holds allocations: an instance, a migration, a job.
// Its record exists while it holds allocations.
type Consumer struct {
	UUID      string
	ProjectID string
	UserID    string
	// ConsumerType is empty for consumers written without one (Placement
	// reports them as "unknown").
	ConsumerType string
	Generation   int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AllocationRecord is one stored allocation: a consumer holds Used units of a
// class on a provider.
type AllocationRecord struct {
	ConsumerUUID  string
	ProviderUUID  string
	ResourceClass string
	Used          int64
}
