package main

// The drivers the desktop build carries: each registers its URL scheme.
import (
	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)
