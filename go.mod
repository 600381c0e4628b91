module github.com/goplacement/placement

go 1.25
