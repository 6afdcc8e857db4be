module github.com/patchgate/patchgate

go 1.26.0

require (
	github.com/expr-lang/expr v1.17.8
	github.com/go-pdf/fpdf v0.9.0
	github.com/goccy/go-yaml v1.19.2
	github.com/gopcua/opcua v0.9.1
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/simonvetter/modbus v1.6.4
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/goburrow/serial v0.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
)
