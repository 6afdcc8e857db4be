package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/plant"
	"github.com/patchgate/patchgate/simulators/plc"
	"github.com/patchgate/patchgate/simulators/simopt"
	"github.com/patchgate/patchgate/simulators/station"
)

// faultFlags collects repeated --fault flags.
type faultFlags struct{ set fault.Set }

func (f *faultFlags) String() string     { return f.set.String() }
func (f *faultFlags) Set(s string) error { return f.set.Parse(s) }

func runSim(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "sim")
	model := fs.String("model", "tank", "plant model: "+strings.Join(plant.Names(), ", "))
	fw := fs.String("firmware", "", "firmware profile (default: the model's baseline); see --list")
	mb := fs.String("modbus", "127.0.0.1:5020", "Modbus TCP listen address (port 0: a free port; empty: off)")
	ua := fs.String("opcua", "127.0.0.1:4840", "OPC UA listen address (port 0: a free port; empty: off)")
	unit := fs.Uint("unit", 1, "Modbus unit id the controller answers")
	seed := fs.Uint64("seed", 1, "random seed of the process (noise, part arrivals)")
	sec := fs.String("security", "all", "OPC UA endpoints: all, none, sign, encrypt, or secure (sign and encrypt, no None); secure ones with Basic256Sha256, Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss; a firmware with insecure_endpoint adds None")
	debug := fs.String("debug", "127.0.0.1", "where the firmware's extra ports listen (open_ports, e.g. debug-port's shell): a loopback host opens each at its number, host:0 on a free port; empty: closed")
	uaUser := fs.String("opcua-user", "", "OPC UA sessions need this user name, with the password in the environment variable "+simPasswordEnv+"; anonymous ones are refused")
	start := fs.String("start", "default", "where the plant starts: "+simopt.StartWords+"; random is drawn from --seed")
	scan := fs.String("scan", "", "nominal scan period replacing the model's and the firmware's, "+simopt.ScanWords+"; the firmware's scan_factor still applies")
	layout := fs.String("map", plc.DefaultLayout, "register layout served over Modbus: default, or scaled (holding registers, scaled integers, a status word; scenarios/pointmaps/MODEL-scaled.yaml)")
	var faults faultFlags
	fs.Var(&faults, "fault", "fault to inject, repeatable: "+fault.Words)
	pidFile := fs.String("pid-file", "", "write the process id to this file (removed at exit), for a restart command: kill -HUP $(cat FILE)")
	list := fs.Bool("list", false, "list models and firmware profiles, a line each, and exit")
	asJSON := fs.Bool("json", false, "with --list: JSON; otherwise print the endpoints as one JSON line")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if *list {
		return listProfiles(env, *asJSON)
	}
	if *unit < 1 || *unit > 247 {
		return badInput("--unit %d: expected 1 to 247", *unit)
	}
	if _, err := plant.Lookup(*model); err != nil {
		return usageError{err}
	}
	if _, err := firmware.Lookup(*model, *fw); err != nil {
		return usageError{err}
	}
	opts, err := simOptions(*model, *start, *scan, *layout)
	if err != nil {
		return err
	}
	for _, a := range []string{*mb, *ua} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return badInput("listen address %q: expected host:port, e.g. 127.0.0.1:5020", a)
		}
	}
	if *debug != "" {
		if _, _, err := station.SplitDebug(*debug); err != nil {
			return badInput("--%v", err)
		}
	}
	var users map[string]string
	if *uaUser != "" {
		pw := os.Getenv(simPasswordEnv)
		if pw == "" {
			return badInput("--opcua-user %s: its password goes in the environment variable %s, which is not set", *uaUser, simPasswordEnv)
		}
		if strings.EqualFold(*sec, "none") {
			return badInput("--opcua-user with --security none: a password needs a secure endpoint; expected --security all, sign, encrypt or secure")
		}
		users = map[string]string{*uaUser: pw}
	}
	st, err := station.Start(ctx, station.Config{
		Model: *model, Firmware: *fw, Seed: *seed, Faults: faults.set,
		Start: opts.Start, Scan: opts.Scan, Layout: opts.Layout,
		Modbus: *mb, OPCUA: *ua, UnitID: uint8(*unit), Security: *sec, OPCUAUsers: users, Debug: *debug,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	// SIGHUP restarts the controller, as a vendor tool power-cycles a PLC: connections
	// drop, the controller answers nothing for its restart time, non-retained memory is
	// lost and retained memory kept (the firmware's profile decides), as sim:// restarts
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("--pid-file: %w", err)
		}
		defer os.Remove(*pidFile)
	}
	printStation(env, st, *asJSON)
	if !*asJSON {
		fmt.Fprintln(env.Stdout, "Ctrl-C stops; SIGHUP restarts the controller.")
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			st.Controller.Restart()
			fmt.Fprintln(env.Stderr, "SIGHUP: the controller restarts")
		}
	}
}

// simPasswordEnv holds the password of sim --opcua-user.
const simPasswordEnv = "PATCHGATE_SIM_OPCUA_PASSWORD"

// simOptions checks --start, --scan and --map, naming the flag and what was expected.
func simOptions(model, start, scan, layout string) (station.Config, error) {
	var cfg station.Config
	var err error
	if cfg.Start, err = simopt.ParseStart(start); err != nil {
		return cfg, badInput("--%v", err)
	}
	if scan != "" {
		if cfg.Scan, err = simopt.ParseScan(scan); err != nil {
			return cfg, badInput("--%v", err)
		}
	}
	if !slices.Contains(plc.Layouts(model), layout) {
		return cfg, badInput("--map %q: expected one of %s (the register layouts shipped for %s)", layout, strings.Join(plc.Layouts(model), ", "), model)
	}
	cfg.Layout = layout
	return cfg, nil
}

type stationInfo struct {
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	Profile  string `json:"profile"`
	Kind     string `json:"kind"`
	Modbus   string `json:"modbus,omitempty"`
	OPCUA    string `json:"opcua,omitempty"`
	Faults   string `json:"faults"`
	Start    string `json:"start"`
	Scan     string `json:"scan"`                  // nominal period in force, scan_factor included
	Map      string `json:"map"`                   // the point map served, e.g. tank-scaled
	Debug    []int  `json:"debug_ports,omitempty"` // the firmware's extra open ports
}

func info(st *station.Station) stationInfo {
	p := st.Controller.Profile()
	return stationInfo{
		Model: p.Model, Firmware: p.Version, Profile: p.Name, Kind: string(p.Kind),
		Modbus: st.ModbusURL(), OPCUA: st.OPCUAURL(), Faults: st.Controller.Faults().String(),
		Start: st.Config.Start.String(), Scan: st.Controller.Period().String(), Map: st.Controller.Points().Name,
		Debug: st.DebugPorts(),
	}
}

func printStation(env Env, st *station.Station, asJSON bool) {
	in := info(st)
	if asJSON {
		b, _ := json.Marshal(in)
		fmt.Fprintln(env.Stdout, string(b))
		return
	}
	fmt.Fprintf(env.Stdout, "simulated %s, firmware %s (%s, %s)\n", in.Model, in.Firmware, in.Profile, in.Kind)
	if in.Modbus != "" {
		fmt.Fprintf(env.Stdout, "  modbus  %s\n", in.Modbus)
	}
	if in.OPCUA != "" {
		fmt.Fprintf(env.Stdout, "  opcua   %s\n", in.OPCUA)
	}
	for _, p := range in.Debug {
		fmt.Fprintf(env.Stdout, "  debug   tcp port %d (the firmware's debug shell: accepts and hangs up)\n", p)
	}
	fmt.Fprintf(env.Stdout, "  faults  %s\n", in.Faults)
	fmt.Fprintf(env.Stdout, "  scan    %s, start %s, point map %s\n", in.Scan, in.Start, in.Map)
}

type listing struct {
	Models   []modelInfo        `json:"models"`
	Profiles []firmware.Profile `json:"profiles"`
}

type modelInfo struct {
	Name         string  `json:"name"`
	Description  string  `json:"description"`
	ScanPeriodMs float64 `json:"scan_period_ms"`
}

func listProfiles(env Env, asJSON bool) error {
	var l listing
	for _, n := range plant.Names() {
		s, _ := plant.Lookup(n)
		l.Models = append(l.Models, modelInfo{Name: n, Description: s.Description, ScanPeriodMs: s.ScanPeriod * 1000})
	}
	l.Profiles = firmware.All()
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, m := range l.Models {
		fmt.Fprintf(tw, "model\t%s\t%g ms scan\t\t%s\n", m.Name, m.ScanPeriodMs, m.Description)
	}
	for _, p := range l.Profiles {
		fmt.Fprintf(tw, "firmware\t%s\t%s\t%s\t%s: %s\n", p.Model, p.Name, p.Kind, p.Version, p.Description)
	}
	return tw.Flush()
}
