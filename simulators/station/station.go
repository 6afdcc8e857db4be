// Package station runs one simulated controller with its protocol servers: the unit that
// `patchgate sim`, the desktop app's embedded simulators and the tests start. Both servers
// serve the same controller, so a Modbus master and an OPC UA client see the same state.
//
// The controller lives as long as the station: what a client writes, the plant's state and
// the scan counter carry across client connections and runs, as on a bench PLC (a sim://
// target, by contrast, starts afresh every run; see package simdriver).
package station

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/modbusserver"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
	"github.com/patchgate/patchgate/simulators/plc"
	"github.com/patchgate/patchgate/simulators/simopt"
)

// Config says what to simulate and where to serve it.
type Config struct {
	Model    string
	Firmware string // empty: the model's baseline
	Seed     uint64
	Faults   fault.Set
	// Start is where the plant begins: the model's fixed start (zero value) or a random
	// valid state drawn from Seed (simopt.ParseStart reads "random").
	Start simopt.Start
	// Scan, when not 0, replaces the nominal scan period (1ms..5s); the firmware's
	// scan_factor still applies.
	Scan time.Duration
	// Layout is the register layout served over Modbus ("" or "default", "scaled"; see
	// plc.Layouts). OPC UA serves the same nodes whatever the layout.
	Layout string
	// Clock is the controller's clock; nil is the wall clock. Tests pass a *clock.Virtual to
	// step the controller while its servers answer on the wire.
	Clock clock.Clock
	// Modbus and OPCUA are host:port listen addresses; port 0 picks a free port; an empty
	// address leaves that protocol off.
	Modbus string
	OPCUA  string
	UnitID uint8
	// Security is the OPC UA endpoint set (see opcuaserver); empty means all. The secure
	// endpoints are offered with every policy opcuaserver implements.
	Security string
	// OPCUAUsers are the user names and passwords the OPC UA server accepts; with any,
	// anonymous sessions are refused (see opcuaserver.Config.Users).
	OPCUAUsers map[string]string
}

// Station is a running simulated controller.
type Station struct {
	Config     Config // as it was started
	Controller *plc.Controller
	Modbus     *modbusserver.Server // nil when off
	OPCUA      *opcuaserver.Server  // nil when off
}

// Start builds the controller, starts scanning and starts the servers. It returns once they
// listen, or with every part it started stopped again.
func Start(ctx context.Context, cfg Config) (*Station, error) {
	c, err := plc.New(cfg.Model, cfg.Firmware, plc.Options{
		Seed: cfg.Seed, Faults: cfg.Faults, Clock: cfg.Clock,
		Start: cfg.Start, Scan: cfg.Scan, Layout: cfg.Layout,
	})
	if err != nil {
		return nil, err
	}
	c.Start()
	st := &Station{Config: cfg, Controller: c}
	if cfg.Modbus != "" {
		st.Modbus, err = modbusserver.Start(c, modbusserver.Config{Addr: cfg.Modbus, UnitID: cfg.UnitID})
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	if cfg.OPCUA != "" {
		sec, err := opcuaserver.ParseSecurity(cfg.Security)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.OPCUA, err = opcuaserver.Start(ctx, c, opcuaserver.Config{Addr: cfg.OPCUA, Security: sec,
			Policies: opcuaserver.AllPolicies, Users: cfg.OPCUAUsers})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("opc ua on %s: %w", cfg.OPCUA, err)
		}
	}
	return st, nil
}

// ModbusURL is the patchgate target URL for the Modbus face ("" when off).
func (st *Station) ModbusURL() string {
	if st.Modbus == nil {
		return ""
	}
	return st.Modbus.URL()
}

// OPCUAURL is the OPC UA endpoint URL ("" when off).
func (st *Station) OPCUAURL() string {
	if st.OPCUA == nil {
		return ""
	}
	return st.OPCUA.URL()
}

// Close stops the servers, then the controller, and waits for all of them.
func (st *Station) Close() error {
	var errs []error
	if st.OPCUA != nil {
		errs = append(errs, st.OPCUA.Close())
	}
	if st.Modbus != nil {
		errs = append(errs, st.Modbus.Close())
	}
	st.Controller.Close()
	return errors.Join(errs...)
}
