// Package simtest starts simulated controllers for tests, in the manner of net/http/httptest:
// on 127.0.0.1 with free ports, returning once they listen, stopped by t.Cleanup. Tests never
// sleep for readiness and never use fixed ports.
package simtest

import (
	"context"
	"testing"

	"github.com/patchgate/patchgate/simulators/station"
)

// Start runs model on firmware ("" for the baseline) with Modbus TCP and OPC UA (security
// policy None and Basic256Sha256) on 127.0.0.1 free ports.
func Start(t testing.TB, model, firmware string) *station.Station {
	t.Helper()
	return StartConfig(t, station.Config{Model: model, Firmware: firmware, Seed: 1})
}

// StartConfig is Start with every knob; listen addresses default to 127.0.0.1:0.
func StartConfig(t testing.TB, cfg station.Config) *station.Station {
	t.Helper()
	if cfg.Modbus == "" {
		cfg.Modbus = "127.0.0.1:0"
	}
	if cfg.OPCUA == "" {
		cfg.OPCUA = "127.0.0.1:0"
	}
	if cfg.OPCUA == "-" {
		cfg.OPCUA = ""
	}
	st, err := station.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("simtest: start %s/%s: %v", cfg.Model, cfg.Firmware, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("simtest: close: %v", err)
		}
	})
	return st
}
