// Package workspace is the engine side of the desktop app: the embedded simulated
// controllers, the register in the workspace folder, the shipped scenarios, validations run
// in the background and the evidence bundles they give. It knows nothing of Fyne (a test
// guards it), so everything here runs headless and is tested without a display; package gui
// shows it.
package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/scenarios"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/station"
)

// Version is the tool version written into records and bundles.
var Version = "0.1.0-dev"

// DemoPatchID is the patch entered in an empty register.
const DemoPatchID = "P-DEMO-001"

// Config says where the workspace lives and what to simulate.
type Config struct {
	// Dir is the workspace folder: the register (patchgate.db), the signing key (keys/) and
	// the evidence bundles (bundles/). Empty: DefaultDir.
	Dir string
	// After is the firmware profile of the patched tank (default "alarm-shift").
	After string
	// Host is where the embedded simulators listen (default 127.0.0.1, free ports).
	Host string
	// Now is the clock of the register's 35-day evaluation view (default time.Now).
	Now func() time.Time
	// Actor is who the register records as making changes (default: Actor()).
	Actor string
}

// DefaultDir is os.UserConfigDir()/patchgate/workspace.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "patchgate", "workspace"), nil
}

// Workspace is one open workspace: its register, its embedded simulators and its shipped
// scenarios. Its methods are safe from any goroutine.
type Workspace struct {
	Dir string
	DB  *ledger.DB
	Now func() time.Time

	host     string
	actor    string
	mu       sync.Mutex
	stations []*Station
}

// Station is one embedded simulated controller with its role on the bench.
type Station struct {
	Role string // "before" or "after"
	*station.Station
	modbusAddr, opcuaAddr string
	faulted               bool
}

// Firmware returns the firmware profile the station runs.
func (s *Station) Firmware() firmware.Profile { return s.Controller.Profile() }

// OPCUATarget is the target URL of the station's OPC UA face: its endpoint with security
// None, accepted explicitly (the embedded stations listen on loopback and serve only that).
func (s *Station) OPCUATarget() string {
	return s.OPCUAURL() + "?security=None&mode=None&allow_insecure=1"
}

// Faulted reports whether the demo fault (20 ms latency) is on.
func (s *Station) Faulted() bool { return s.faulted }

// Open opens (creating) the workspace folder and its register, starts the two embedded tank
// stations and enters the demo patch when the register is empty.
func Open(ctx context.Context, cfg Config) (*Workspace, error) {
	if cfg.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, fmt.Errorf("workspace folder: %w", err)
		}
		cfg.Dir = d
	}
	if cfg.After == "" {
		cfg.After = "alarm-shift"
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := firmware.Lookup("tank", cfg.After); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("workspace folder: %w", err)
	}
	db, err := ledger.Open(ctx, filepath.Join(cfg.Dir, "patchgate.db"))
	if err != nil {
		return nil, fmt.Errorf("register in %s: %w", cfg.Dir, err)
	}
	if cfg.Actor == "" {
		cfg.Actor = Actor()
	}
	w := &Workspace{Dir: cfg.Dir, DB: db, Now: cfg.Now, host: cfg.Host, actor: cfg.Actor}
	for _, s := range []struct{ role, fw string }{{"before", "baseline"}, {"after", cfg.After}} {
		st, err := w.start(ctx, s.role, s.fw, "", "", fault.Set{})
		if err != nil {
			w.Close()
			return nil, err
		}
		w.stations = append(w.stations, st)
	}
	if err := w.seed(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *Workspace) start(ctx context.Context, role, fw, mb, ua string, f fault.Set) (*Station, error) {
	if mb == "" {
		mb = w.host + ":0"
	}
	if ua == "" {
		ua = w.host + ":0"
	}
	cfg := station.Config{Model: "tank", Firmware: fw, Seed: 1, Faults: f, Modbus: mb, OPCUA: ua, Security: "none"}
	st, err := station.Start(ctx, cfg)
	if err != nil && (!strings.HasSuffix(mb, ":0") || !strings.HasSuffix(ua, ":0")) {
		// the old ports may still be taken: fall back to free ones
		cfg.Modbus, cfg.OPCUA = w.host+":0", w.host+":0"
		st, err = station.Start(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded %s tank on firmware %s: %w", role, fw, err)
	}
	s := &Station{Role: role, Station: st, faulted: !f.Healthy()}
	if st.Modbus != nil {
		s.modbusAddr = st.Modbus.Addr()
	}
	if st.OPCUA != nil {
		s.opcuaAddr = hostPort(st.OPCUAURL())
	}
	return s, nil
}

func hostPort(u string) string {
	u = strings.TrimPrefix(u, "opc.tcp://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

// Stations returns the embedded stations: before (baseline) and after (patched).
func (w *Workspace) Stations() []*Station {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.stations)
}

// Restart restarts station i on another firmware profile, on the same ports when it can.
func (w *Workspace) Restart(ctx context.Context, i int, fw string) (*Station, error) {
	if _, err := firmware.Lookup("tank", fw); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.stations[i]
	f := old.Controller.Faults()
	old.Close()
	st, err := w.start(ctx, old.Role, fw, old.modbusAddr, old.opcuaAddr, f)
	if err != nil {
		return nil, err
	}
	w.stations[i] = st
	return st, nil
}

// DemoFault is the fault the Bench tab switches on: 20 ms added to every request.
var DemoFault = fault.Set{Latency: 20 * time.Millisecond}

// SetFault switches the demo fault of station i on or off.
func (w *Workspace) SetFault(i int, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stations[i]
	if on {
		st.Controller.SetFaults(DemoFault)
	} else {
		st.Controller.SetFaults(fault.Set{})
	}
	st.faulted = on
}

// Reading is one tag's current value on a station.
type Reading struct {
	Tag, Value, Unit string
}

// Read returns the current values of station i's tags, in the model's order.
func (w *Workspace) Read(i int) []Reading {
	st := w.Stations()[i]
	var out []Reading
	for _, t := range st.Controller.Tags() {
		v, err := st.Controller.Get(t.Name)
		var s string
		switch {
		case err != nil:
			s = "error: " + err.Error()
		case v.Kind() == point.KindFloat:
			s = fmt.Sprintf("%.2f", v.Float())
		case v.Kind() == point.KindString:
			s = v.Text()
		default:
			s = v.String()
		}
		out = append(out, Reading{Tag: t.Name, Value: s, Unit: t.Unit})
	}
	return out
}

// Close stops the simulators and closes the register.
func (w *Workspace) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.stations {
		st.Close()
	}
	w.stations = nil
	if w.DB != nil {
		return w.DB.Close()
	}
	return nil
}

// Actor is who the register records as making a change: the logged-in user.
func Actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "patchgate"
}

// Actor is who this workspace records as making changes.
func (w *Workspace) Actor() string { return w.actor }

// seed enters the demo patch in an empty register: the tank firmware update the embedded
// "after" station runs, as a security patch (so the 35-day clock shows), in test.
func (w *Workspace) seed(ctx context.Context) error {
	ps, err := w.DB.Patches(ctx)
	if err != nil || len(ps) > 0 {
		return err
	}
	after := w.stations[1].Firmware()
	base := w.stations[0].Firmware()
	now := w.Now()
	p, err := w.DB.AddPatch(ctx, ledger.Patch{
		ID: DemoPatchID, Supplier: "Simulated Controls", Product: "Tank controller (simulated)",
		FromVersion: base.Version, ToVersion: after.Version, Type: ledger.Security,
		CVEs: []string{"CVE-2026-0001"}, Advisory: "demo advisory: " + after.Description,
		Qualification: ledger.QualificationUnknown,
		Notes:         "demo patch of the embedded workspace: validate it on the Validate tab",
		Identified:    now.AddDate(0, 0, -12), Created: now,
	}, w.actor)
	if err != nil {
		return fmt.Errorf("demo patch: %w", err)
	}
	for _, s := range []ledger.State{ledger.StateApplicable, ledger.StateInTest} {
		if p, err = w.DB.SetState(ctx, p.ID, s, w.actor, ledger.StateDetail{At: now}); err != nil {
			return fmt.Errorf("demo patch: %w", err)
		}
	}
	return nil
}

// Scenario is a shipped scenario file.
type Scenario struct {
	Name string // file name, e.g. tank-alarm-trip.yaml
	Data []byte
}

// Scenarios lists the shipped scenarios (embedded), by file name.
func Scenarios() []Scenario {
	var out []Scenario
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	for _, n := range names {
		data, _ := scenarios.FS.ReadFile(n)
		out = append(out, Scenario{Name: n, Data: data})
	}
	return out
}

// ErrNoScenario is a scenario name that is not shipped.
var ErrNoScenario = errors.New("no such shipped scenario")

// Loaded is a compiled scenario with the bytes it was compiled from.
type Loaded struct {
	*scenario.Scenario
	Data      []byte
	SHA256    string
	PointMap  string // its file name
	PointData []byte
}

// LoadScenario compiles a shipped scenario; errors carry line:column.
func LoadScenario(name string) (*Loaded, error) {
	data, err := scenarios.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoScenario)
	}
	return ParseScenario(name, data)
}

// ParseScenario compiles scenario text, with its point map from the shipped ones.
func ParseScenario(name string, data []byte) (*Loaded, error) {
	l := &Loaded{Data: data}
	sc, err := scenario.Parse(name, data, func(pm string) (*point.Map, error) {
		if pm == "" {
			return nil, errors.New("the scenario names no point map (points:)")
		}
		pd, err := scenarios.FS.ReadFile(filepath.ToSlash(filepath.Clean(pm)))
		if err != nil {
			return nil, fmt.Errorf("point map %s: not shipped", pm)
		}
		l.PointMap, l.PointData = filepath.Base(pm), pd
		return point.Parse(pm, pd)
	})
	if err != nil {
		return nil, err
	}
	l.Scenario = sc
	h := sha256.Sum256(data)
	l.SHA256 = hex.EncodeToString(h[:])
	return l, nil
}
