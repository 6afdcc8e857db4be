// Package workspace is the engine side of the desktop app: the embedded simulated
// controllers, the register in the workspace folder, the shipped scenarios, validations run
// in the background and the evidence bundles they give. It knows nothing of Fyne (a test
// guards it), so everything here runs headless and is tested without a display; package gui
// shows it.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/pgstore"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/scenarios"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/simopt"
	"github.com/patchgate/patchgate/simulators/station"
)

// Version is the tool version written into records and bundles.
var Version = "0.1.0-dev"

// DemoPatchID is the patch entered in an empty register.
const DemoPatchID = "P-DEMO-001"

// Config says where the workspace lives and what to simulate.
type Config struct {
	// Dir is the workspace folder: the register (patchgate.db), the engineer's scenarios
	// (scenarios/) and point maps (pointmaps/), seeded with the shipped ones (files.go), the
	// targets (targets.yaml), the signing key (keys/, unless KeyDir names another folder)
	// and the evidence bundles (bundles/). Empty: DefaultDir.
	Dir string
	// KeyDir is the folder of the signing key (key.pem, pub.pem). Empty: Dir/keys.
	KeyDir string
	// Register is the PostgreSQL URL of a shared register (postgres://USER@HOST/DB): the
	// patches, validations and sign-offs live there, the runs stay in Dir/patchgate.db, and
	// no demo patch is entered. Empty: the register in Dir/patchgate.db.
	Register string
	// TrustDir is the folder of trusted OPC UA server certificates for targets that name
	// none with trust=DIR. Empty: the driver's default (DefaultTrustDir).
	TrustDir string
	// After is the firmware profile of the patched tank (default "alarm-shift").
	After string
	// Host is where the embedded simulators listen (default 127.0.0.1, free ports).
	Host string
	// Now is the clock of the register's 35-day evaluation view (default time.Now).
	Now func() time.Time
	// Actor is who the register records as making changes (default: validation.Actor()).
	Actor string
	// Start is where the embedded tanks' plants begin: the fixed start (zero value) or, with
	// Start.Random, a random valid state, a different one for each tank, as a bench is left
	// by whoever used it last (docs/architecture.md, "Simulators").
	Start simopt.Start
	// Scan, when not 0, is the embedded tanks' scan period instead of 10 ms (1ms..5s).
	Scan time.Duration
	// ModbusOnly starts the embedded tanks without their OPC UA servers (each costs about a
	// second of CPU to start, most of it reading the standard address space): for tests and
	// for a bench that needs no OPC UA.
	ModbusOnly bool
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
	DB  *ledger.DB     // the runs, and the register unless a shared one is configured
	Reg register.Store // the register: DB, or the shared one (Config.Register)
	Now func() time.Time

	host    string
	actor   string
	startAt simopt.Start
	scan    time.Duration
	// modbusOnly: Config.ModbusOnly
	modbusOnly bool
	mu         sync.Mutex
	stations   []*Station

	registerURL string // Config.Register

	folders  sync.Mutex // guards keyDir and trustDir, which Settings may change (settings.go)
	keyDir   string
	trustDir string
}

// Station is one embedded simulated controller with its role on the bench.
type Station struct {
	Role string // "before" or "after"
	*station.Station
	modbusAddr, opcuaAddr string
	faulted               bool
	stopped               bool // by Stop: servers closed; Start brings it back
}

// Firmware returns the firmware profile the station runs.
func (s *Station) Firmware() firmware.Profile { return s.Controller.Profile() }

// OPCUATarget is the target URL of the station's OPC UA face: its endpoint with security
// None, accepted explicitly (the embedded stations listen on loopback and serve only that).
func (s *Station) OPCUATarget() string {
	return s.OPCUAURL() + "?security=None&mode=None&allow_insecure=1"
}

// Faulted reports whether a fault is on (the demo fault or any of FaultKinds).
func (s *Station) Faulted() bool { return s.faulted }

// Running reports whether the station serves (Stop stops it, Start starts it again).
func (s *Station) Running() bool { return !s.stopped }

// Faults returns the faults in force on the station.
func (s *Station) Faults() fault.Set { return s.Controller.Faults() }

// Open opens (creating) the workspace folder and its register, copies the shipped
// scenarios and point maps that are not there yet (SeedFiles), starts the two embedded tank
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
	w0 := &Workspace{Dir: cfg.Dir}
	if _, err := w0.SeedFiles(); err != nil {
		return nil, err
	}
	db, err := ledger.Open(ctx, filepath.Join(cfg.Dir, "patchgate.db"))
	if err != nil {
		return nil, fmt.Errorf("register in %s: %w", cfg.Dir, err)
	}
	var reg register.Store = db
	if cfg.Register != "" {
		if !pgstore.IsURL(cfg.Register) {
			db.Close()
			return nil, fmt.Errorf("shared register %s: expected a PostgreSQL URL, postgres://USER@HOST/DB", pgstore.Redact(cfg.Register))
		}
		if reg, err = pgstore.Open(ctx, cfg.Register); err != nil {
			db.Close()
			return nil, err
		}
	}
	if cfg.Actor == "" {
		cfg.Actor = validation.Actor()
	}
	if cfg.Scan != 0 {
		if err := simopt.CheckScan(cfg.Scan); err != nil {
			db.Close()
			if reg != register.Store(db) {
				reg.Close()
			}
			return nil, fmt.Errorf("embedded tanks: %w", err)
		}
	}
	w := &Workspace{Dir: cfg.Dir, DB: db, Reg: reg, registerURL: cfg.Register, Now: cfg.Now, host: cfg.Host, actor: cfg.Actor, keyDir: cfg.KeyDir, trustDir: cfg.TrustDir,
		startAt: cfg.Start, scan: cfg.Scan, modbusOnly: cfg.ModbusOnly}
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
	if w.modbusOnly {
		ua = "" // the station starts no OPC UA server
	}
	cfg := station.Config{Model: "tank", Firmware: fw, Seed: 1, Faults: f, Modbus: mb, OPCUA: ua, Security: "none",
		Start: w.startAt, Scan: w.scan}
	if cfg.Start.Random && !cfg.Start.SeedSet && role == "after" {
		// the two tanks of one bench never start in the same state
		cfg.Start.Seed, cfg.Start.SeedSet = 2, true
	}
	st, err := station.Start(ctx, cfg)
	if err != nil && (!strings.HasSuffix(mb, ":0") || (ua != "" && !strings.HasSuffix(ua, ":0"))) {
		// the old ports may still be taken: fall back to free ones
		cfg.Modbus = w.host + ":0"
		if ua != "" {
			cfg.OPCUA = w.host + ":0"
		}
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

// Restart restarts station i on another firmware profile, on the same ports when it can;
// a stopped station starts.
func (w *Workspace) Restart(ctx context.Context, i int, fw string) (*Station, error) {
	if _, err := firmware.Lookup("tank", fw); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.stations[i]
	f := old.Controller.Faults()
	if !old.stopped {
		old.Close()
	}
	st, err := w.start(ctx, old.Role, fw, old.modbusAddr, old.opcuaAddr, f)
	if err != nil {
		stopped := *old
		stopped.stopped = true // closed above: Start tries again, Close leaves it
		w.stations[i] = &stopped
		return nil, err
	}
	w.stations[i] = st
	return st, nil
}

// DemoFault is the fault the Bench tab switches on: 20 ms added to every request.
var DemoFault = fault.Set{Latency: 20 * time.Millisecond}

// SetFault switches the demo fault of station i on or off.
func (w *Workspace) SetFault(i int, on bool) {
	f := fault.Set{}
	if on {
		f = DemoFault
	}
	w.SetFaults(i, f)
}

// SetFaults sets the faults of station i (kept across Restart, Stop and Start). The
// station is replaced, not changed, so a *Station someone holds never changes under them.
func (w *Workspace) SetFaults(i int, f fault.Set) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := *w.stations[i]
	st.Controller.SetFaults(f)
	st.faulted = !f.Healthy()
	w.stations[i] = &st
}

// FaultKind is one fault the Bench tab offers on an embedded station; several add up
// (Combine).
type FaultKind struct {
	Name string // what the Bench tab shows
	Set  fault.Set
}

// FaultKinds are the faults the Bench tab offers, the demo fault first.
var FaultKinds = []FaultKind{
	{"+20 ms latency", DemoFault},
	{"10 ms jitter", fault.Set{Jitter: 10 * time.Millisecond}},
	{"5 % exceptions", fault.Set{Exceptions: 0.05}},
	{"stall 3 s", fault.Set{Stall: 3 * time.Second}},
	{"drop every 10 s", fault.Set{DropEvery: 10 * time.Second}},
	{"restart every 30 s", fault.Set{RestartEvery: 30 * time.Second, RestartTime: 2 * time.Second}},
}

// Combine adds up the fault kinds switched on (on[k] for FaultKinds[k]).
func Combine(on []bool) fault.Set {
	var f fault.Set
	for k, fk := range FaultKinds {
		if k >= len(on) || !on[k] {
			continue
		}
		s := fk.Set
		f.Latency = max(f.Latency, s.Latency)
		f.Jitter = max(f.Jitter, s.Jitter)
		f.Exceptions = max(f.Exceptions, s.Exceptions)
		f.Stall = max(f.Stall, s.Stall)
		f.DropEvery = max(f.DropEvery, s.DropEvery)
		f.RestartEvery = max(f.RestartEvery, s.RestartEvery)
		f.RestartTime = max(f.RestartTime, s.RestartTime)
	}
	return f
}

// KindsOn says which of FaultKinds f has on: the inverse of Combine.
func KindsOn(f fault.Set) []bool {
	on := make([]bool, len(FaultKinds))
	for k, fk := range FaultKinds {
		s := fk.Set
		on[k] = (s.Latency == 0 || f.Latency == s.Latency) && (s.Jitter == 0 || f.Jitter == s.Jitter) &&
			(s.Exceptions == 0 || f.Exceptions == s.Exceptions) && (s.Stall == 0 || f.Stall == s.Stall) &&
			(s.DropEvery == 0 || f.DropEvery == s.DropEvery) && (s.RestartEvery == 0 || f.RestartEvery == s.RestartEvery)
	}
	return on
}

// Stop stops station i: its servers close, so clients see the connection refused, and its
// controller stops scanning. Its role, firmware, faults and ports are kept for Start.
func (w *Workspace) Stop(i int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := *w.stations[i]
	if st.stopped {
		return nil
	}
	err := st.Close()
	st.stopped = true
	w.stations[i] = &st
	if err != nil {
		return fmt.Errorf("stopping the embedded %s tank: %w", st.Role, err)
	}
	return nil
}

// Start starts a stopped station i again on its firmware and faults, on the same ports
// when it can; a running station is returned as it is.
func (w *Workspace) Start(ctx context.Context, i int) (*Station, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.stations[i]
	if !old.stopped {
		return old, nil
	}
	st, err := w.start(ctx, old.Role, old.Firmware().Name, old.modbusAddr, old.opcuaAddr, old.Controller.Faults())
	if err != nil {
		return nil, err
	}
	w.stations[i] = st
	return st, nil
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
		if !st.stopped {
			st.Close()
		}
	}
	w.stations = nil
	var errs []error
	if w.Reg != nil && w.Reg != register.Store(w.DB) {
		errs = append(errs, w.Reg.Close())
	}
	if w.DB != nil {
		errs = append(errs, w.DB.Close())
	}
	return errors.Join(errs...)
}

// RegisterName says where the register is: the shared register's URL without its
// password, or the ledger file.
func (w *Workspace) RegisterName() string {
	if w.registerURL != "" {
		return pgstore.Redact(w.registerURL)
	}
	return w.DB.Path()
}

// RegisterURL is Config.Register, the shared register's URL ("" for none).
func (w *Workspace) RegisterURL() string { return w.registerURL }

// IsRegisterURL reports whether u names a PostgreSQL register (Config.Register).
func IsRegisterURL(u string) bool { return pgstore.IsURL(u) }

// RedactURL is a register URL without its password, for display.
func RedactURL(u string) string { return pgstore.Redact(u) }

// Shared reports whether the register is a shared one (Config.Register).
func (w *Workspace) Shared() bool { return w.registerURL != "" }

// Actor is who this workspace records as making changes.
func (w *Workspace) Actor() string { return w.actor }

// seed enters the demo patch in an empty register: the tank firmware update the embedded
// "after" station runs, as a security patch (so the 35-day clock shows), in test.
func (w *Workspace) seed(ctx context.Context) error {
	if w.Shared() { // a shared register holds the lab's patches, not a demo
		return nil
	}
	ps, err := w.Reg.Patches(ctx)
	if err != nil || len(ps) > 0 {
		return err
	}
	after := w.stations[1].Firmware()
	base := w.stations[0].Firmware()
	now := w.Now()
	p, err := w.Reg.AddPatch(ctx, register.Patch{
		ID: DemoPatchID, Supplier: "Simulated Controls", Product: "Tank controller (simulated)",
		FromVersion: base.Version, ToVersion: after.Version, Type: register.Security,
		CVEs: []string{"CVE-2026-0001"}, Advisory: "demo advisory: " + after.Description,
		Qualification: register.QualificationUnknown,
		Notes:         "demo patch of the embedded workspace: validate it on the Validate tab",
		Identified:    now.AddDate(0, 0, -12), Created: now,
	}, w.actor)
	if err != nil {
		return fmt.Errorf("demo patch: %w", err)
	}
	for _, s := range []register.State{register.StateApplicable, register.StateInTest} {
		if p, err = w.Reg.SetState(ctx, p.ID, s, w.actor, register.StateDetail{At: now}); err != nil {
			return fmt.Errorf("demo patch: %w", err)
		}
	}
	return nil
}

// Scenario is a shipped scenario file (the workspace's own are Files: ScenarioFiles).
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

// Loaded is a compiled scenario with the bytes it was compiled from: what harness/validation
// runs, records and bundles.
type Loaded = validation.Scenario

// LoadScenario compiles a shipped scenario; errors carry line:column. The workspace's own
// files: Workspace.LoadScenario.
func LoadScenario(name string) (*Loaded, error) {
	data, err := scenarios.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoScenario)
	}
	return ParseScenario(name, data)
}

// ParseScenario compiles scenario text, with its point map from the shipped ones.
func ParseScenario(name string, data []byte) (*Loaded, error) {
	return validation.Parse(name, data, func(pm string) (string, []byte, error) {
		if pm == "" {
			return "", nil, errors.New("the scenario names no point map (points:)")
		}
		pd, err := scenarios.FS.ReadFile(filepath.ToSlash(filepath.Clean(pm)))
		if err != nil {
			return "", nil, fmt.Errorf("point map %s: not shipped", pm)
		}
		return pm, pd, nil
	})
}
