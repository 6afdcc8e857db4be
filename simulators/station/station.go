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
	"net"
	"strconv"
	"strings"
	"sync"
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
	// Debug is where the firmware's extra open ports listen (firmware.Profile.OpenPorts: a
	// debug shell that accepts a connection and closes it): "" leaves them closed; a host
	// alone ("127.0.0.1") opens each at the profile's port number; host:0 on a free port
	// each (as tests do); host:port, for a profile with one open port, there. Loopback
	// hosts only (127.0.0.1, ::1, localhost): the service is a hole by design.
	Debug string
}

// Station is a running simulated controller. Its security posture (docs/architecture.md,
// section Security posture) is the firmware's: extra open ports (Debug), the OPC UA
// endpoint None/None, the OPC UA certificate's key, hash and validity, and the extra
// Modbus function codes it answers.
type Station struct {
	Config     Config // as it was started
	Controller *plc.Controller
	Modbus     *modbusserver.Server // nil when off
	OPCUA      *opcuaserver.Server  // nil when off
	debug      []net.Listener
	debugWG    sync.WaitGroup
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
	prof := c.Profile()
	if err := st.openDebug(prof.OpenPorts); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.Modbus != "" {
		st.Modbus, err = modbusserver.Start(c, modbusserver.Config{Addr: cfg.Modbus, UnitID: cfg.UnitID, ExtraCodes: prof.ExtraCodes})
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
		cs := prof.Certificate()
		st.OPCUA, err = opcuaserver.Start(ctx, c, opcuaserver.Config{Addr: cfg.OPCUA, Security: sec,
			Policies: opcuaserver.AllPolicies, Users: cfg.OPCUAUsers, InsecureEndpoint: prof.InsecureEndpoint,
			Cert: opcuaserver.CertSpec{Bits: cs.Bits, Hash: cs.Hash, Days: cs.Days}})
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

// openDebug listens on the firmware's extra ports where Config.Debug says.
func (st *Station) openDebug(ports []int) error {
	if st.Config.Debug == "" || len(ports) == 0 {
		return nil
	}
	host, port, err := SplitDebug(st.Config.Debug)
	if err != nil {
		return err
	}
	if port != "" && port != "0" && len(ports) > 1 {
		return fmt.Errorf("debug listen address %q: firmware %s opens %d ports; give a host alone or port 0", st.Config.Debug, st.Config.Firmware, len(ports))
	}
	for _, p := range ports {
		addr := net.JoinHostPort(host, port)
		if port == "" {
			addr = net.JoinHostPort(host, strconv.Itoa(p))
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("debug port %d of firmware %s on %s: %w", p, st.Config.Firmware, addr, err)
		}
		st.debug = append(st.debug, ln)
		st.debugWG.Add(1)
		go func() {
			defer st.debugWG.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					time.Sleep(10 * time.Millisecond) // a transient failure such as running out of descriptors
					continue
				}
				c.Close() // a shell that hangs up at once: the port is open, which is the finding
			}
		}()
	}
	return nil
}

// SplitDebug checks a Config.Debug address: a loopback host, alone or with a port.
func SplitDebug(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), ""
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", "", fmt.Errorf("debug listen address %q: a loopback host (127.0.0.1, ::1, localhost) only", addr)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return "", "", fmt.Errorf("debug listen address %q: port %q; expected 0 to 65535", addr, port)
		}
	}
	return host, port, nil
}

// DebugPorts are the ports the firmware's extra services listen on, in the profile's order
// (none when Config.Debug is "" or the firmware opens none).
func (st *Station) DebugPorts() []int {
	var out []int
	for _, ln := range st.debug {
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// Close stops the servers, then the controller, and waits for all of them.
func (st *Station) Close() error {
	for _, ln := range st.debug {
		ln.Close()
	}
	st.debugWG.Wait()
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
