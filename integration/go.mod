module github.com/goplacement/placement/integration

go 1.25.0

require github.com/goplacement/placement v0.0.0

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/gophercloud/gophercloud/v2 v2.15.0
	pgregory.net/rapid v1.3.0 // indirect
)

replace github.com/goplacement/placement => ../
