package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// help is what 'patchgate help CMD' and 'patchgate CMD -h' print beside the flags. It is kept
// apart from the command table so that adding a command stays a one-line change there; a
// command without an entry gets its summary, a generic usage line and its flags.
type help struct {
	usage    []string // after "patchgate "
	examples []string
	exits    []string // its exit codes, a line each
	more     string   // printed after the usage
}

var (
	exitsRun = []string{
		"0  every run completed (its checks are in the summary)",
		"2  bad input: scenario, point map, target URL (an unknown sim:// model), writes to a real controller without --arm",
		"3  interrupted: the run was aborted and the values captured before it restored",
		"4  tool, connection or target error: connection refused, controller lost during the run",
	}
	exitsLong = []string{ // sim and demo serve until interrupted
		"0  stopped with Ctrl-C or SIGTERM",
		"2  bad input: an unknown model, firmware profile, fault or address",
		"4  a listen address that cannot be bound",
	}
	exitsStore = []string{
		"0  done",
		"2  bad input: no such file, run id or format",
		"4  the database or the output file could not be read or written",
	}
)

// restartMore is the help of the commands that run scenarios: how a restart step is done on
// a controller the harness cannot restart.
const restartMore = `
A restart step on a real controller asks the operator: on a terminal the prompt says
"Restart the controller now, then press Enter (or type abort)" (--restart-timeout, default
10m); --restart-cmd CMD runs a command instead (PATCHGATE_TARGET, PATCHGATE_SIDE and
PATCHGATE_STEP in its environment; its output is recorded, a non-zero exit faults the run).
The run goes on once the controller was seen to go away and answer again, within
--gap-limit of the confirmation; who confirmed and when is in the trace. With neither a
terminal nor --restart-cmd the step is INCONCLUSIVE.
`

var helps = map[string]help{
	"discover": {
		usage: []string{"discover URL [-o FILE] [--force] [--name NAME] [--root NODE] [--ranges LIST] [--rate N]", "discover URL --check FILE"},
		examples: []string{
			"patchgate discover 'opc.tcp://10.0.0.7:4840?security=None&allow_insecure=1' -o pointmaps/plc.yaml",
			"patchgate discover 'modbus://10.0.0.8:502?unit=1' --ranges hr:0-999,ir:0-99,co:0-199,di:0-199 -o pointmaps/pump.yaml",
			"patchgate discover 'modbus://10.0.0.8:502?unit=1' --check pointmaps/pump.yaml",
		},
		exits: []string{
			"0  the point map was written; --check: every point read",
			"1  --check: a point of the map does not read (each is listed with its cause)",
			"2  bad input: the URL or its parameters, --ranges, --root, --rate, a -o file that exists without --force, a --check map that does not load",
			"3  interrupted",
			"4  connection or target error: refused, no answer, nothing that answered in the ranges; an unwritable -o",
		},
		more: "Reads only; it never writes to the device. Over OPC UA it browses from the Objects folder (or\n" +
			"--root) and lists every readable scalar variable with its type, access, unit and description.\n" +
			"Over Modbus it probes the four tables with the read function codes (FC01-FC04), at most\n" +
			"--rate requests a second, and writes a skeleton: each register a uint16 marked \"confirm type\",\n" +
			"the exception codes as comments. Edit the map, then read every point of it once with --check\n" +
			"(README.md, \"Bring up your own PLC\").",
	},
	"import": {
		usage:    []string{"import telegraf FILE [-o DIR] [--force]"},
		examples: []string{"patchgate import telegraf /etc/telegraf/telegraf.d/plc.conf -o pointmaps"},
		exits: []string{
			"0  the point maps were written (warnings, if any, on stderr)",
			"2  bad input: no such file, not TOML, a field that cannot be converted (file:line), a point map that exists without --force",
			"4  the output directory could not be written",
		},
		more: "Converts telegraf's [[inputs.modbus]] (register and request styles) and [[inputs.opcua]] into one\npoint map per plugin instance (docs/pointmap-format.md, \"From a telegraf configuration\").",
	},
	"new": {
		usage: []string{"new scenario --from-map FILE [-o FILE] [--force]"},
		examples: []string{
			"patchgate new scenario --from-map pointmaps/plc.yaml -o plc-soak.yaml",
			"patchgate new scenario --from-map scenarios/pointmaps/tank.yaml",
		},
		exits: []string{
			"0  the scenario was written (to stdout without -o)",
			"2  bad input: no --from-map, a point map that does not load (file:line:column), an -o file that exists without --force",
			"4  the scenario file could not be written",
		},
		more: "Writes a starter scenario that samples every tag of the point map for a minute at rest, holds\nits alarm-like bool tags off, measures the scan period when the map has a cycle counter\n(ScanCount, CycleCounter) and the read round trip. It writes nothing to the controller.\nEdit it from there (docs/scenario-format.md); the desktop's \"From point map\" writes the same.\n",
	},
	"sim": {
		usage: []string{"sim [--model tank] [--firmware NAME] [--modbus ADDR] [--opcua ADDR] [--fault F ...]", "sim --list [--json]"},
		examples: []string{"patchgate sim --model tank --firmware alarm-shift --modbus 127.0.0.1:5020", "patchgate sim --model heater --pid-file sim.pid", "patchgate sim --list",
			"PATCHGATE_SIM_OPCUA_PASSWORD=s3cret patchgate sim --opcua-user operator --security encrypt"},
		exits: exitsLong,
		more:  "\nSIGHUP restarts the controller, as a vendor tool power-cycles a PLC: connections drop, it answers\nnothing for its restart time (--fault restart-time=DUR, default 2s), non-retained memory is lost.\n",
	},
	"run": {
		usage: []string{"run --scenario FILE --target URL [--repeat N] [--json] [--dry-run] [--arm] [--fast]"},
		examples: []string{
			"patchgate run --scenario scenarios/tank-steady-state.yaml --target sim://tank --fast",
			"patchgate run --scenario scenarios/tank-alarm-trip.yaml --target modbus://10.0.0.7?unit=1 --dry-run",
			"patchgate run --scenario scenarios/heater-restart-retain.yaml --target modbus://127.0.0.1:5020 --arm --restart-cmd 'kill -HUP $(cat sim.pid)'",
		},
		exits: exitsRun,
		more:  restartMore,
	},
	"validate": {
		usage: []string{
			"validate --scenario FILE --before URL --after URL [--patch ID] [--bundle ZIP] [--junit XML] [--json]",
			"validate --scenario FILE --before-run IDS --after-run IDS [--patch ID]",
		},
		examples: []string{
			"patchgate validate --scenario scenarios/tank-alarm-trip.yaml --before sim://tank --after 'sim://tank?firmware=alarm-shift' --fast",
			"patchgate validate --scenario scenarios/tank-soak.yaml --before-run 12,13 --after-run 14,15 --patch P-2026-001 --bundle evidence.zip",
			"patchgate validate --scenario scenarios/tank-restart-retain.yaml --before modbus://10.0.0.7 --after modbus://10.0.0.8 --arm --restart-timeout 5m",
		},
		more: restartMore,
		exits: []string{
			"0  GO",
			"1  NO-GO",
			"2  bad input: scenario, targets, run ids, an unknown --patch or versions that contradict it; nothing ran",
			"3  INCONCLUSIVE, or interrupted before a verdict",
			"4  tool, connection or target error: connection refused, the register or the bundle could not be written",
		},
	},
	"runs": {
		usage:    []string{"runs [--db FILE] [-n 20] [--json]"},
		examples: []string{"patchgate runs", "patchgate runs --json -n 100"},
		exits:    exitsStore,
	},
	"study": {
		usage:    []string{"study [--seeds 100] [--only MODEL[/PROFILE]] [--bench NAME] [--out FILE]"},
		examples: []string{"patchgate study --seeds 20 --only tank", "patchgate study --out docs/detection.md"},
		exits: []string{
			"0  every profile detected (or passed) as often as required",
			"1  a profile below the bar (listed on stderr)",
			"2  bad input: --seeds, --only, --bench, an unwritable --out",
			"4  a tool error while validating",
		},
	},
	"export": {
		usage:    []string{"export --run ID [--db FILE] [--format csv|events|json] [-o FILE]"},
		examples: []string{"patchgate export --run 3 --format json -o run3.json"},
		exits:    exitsStore,
	},
	"register": {
		usage: []string{"register SUBCOMMAND [flags]"},
		more:  registerUsage[strings.Index(registerUsage, "\n")+1:],
		examples: []string{"patchgate register add --supplier Acme --product T100 --type security --to 2.4.1",
			"patchgate register export --validation V-2026-001 -o V-2026-001.zip", "patchgate register verify --json"},
		exits: []string{
			"0  done; verify: the audit chain is intact",
			"1  verify: the audit chain is broken",
			"2  bad input: unknown patch or validation, an illegal state change, a missing field",
			"4  the database could not be read or written",
		},
	},
	"verify": {
		usage: []string{"verify BUNDLE [--trust PUBKEY.pem ...] [--any-signer] [--key-dir DIR] [--json]"},
		examples: []string{
			"patchgate verify evidence.zip",
			"patchgate verify evidence.zip --trust lab-workstation.pub.pem",
		},
		exits: []string{
			"0  every byte is as signed, by a trusted key (this workstation's or a --trust key; any key with --any-signer); a sign-off addendum too, and its sign-offs are listed",
			"1  refused: tampered, unsigned, or signed by a key not trusted (its fingerprint is printed)",
			"2  bad input: no such bundle, an unreadable --trust key",
		},
	},
	"trust": {
		usage: []string{"trust list [--trust DIR] [--json]", "trust add THUMBPRINT [--trust DIR] [--json]", "trust remove THUMBPRINT [--trust DIR] [--json]"},
		more:  trustUsage[strings.Index(trustUsage, "\n\n")+1:],
		examples: []string{
			"patchgate trust list",
			"patchgate trust add 3f2a9c41",
			"patchgate trust remove 3f:2a:9c:41 --trust /etc/patchgate/pki/trusted",
		},
		exits: []string{
			"0  done",
			"2  bad input: a thumbprint that picks no certificate or more than one, an unknown subcommand or flag",
			"4  a certificate folder could not be read or written",
		},
	},
	"demo": {
		usage:    []string{"demo [--after PROFILE] [--host 127.0.0.1] [--start default]"},
		examples: []string{"patchgate demo --after scan-slow-5"},
		exits:    exitsLong,
	},
	"version": {
		usage:    []string{"version", "--version"},
		examples: []string{"patchgate --version"},
		exits:    []string{"0  always"},
	},
}

func runVersion(_ context.Context, env Env, args []string) error {
	if err := parseFlags(newFlags(env, "version"), env, args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "patchgate", Version)
	return nil
}

// printHelp writes a command's help: its description, usage, examples, flags (fs may be
// nil) and exit codes.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	h, ok := helps[name]
	summary := ""
	for _, c := range commands() {
		if c.name == name {
			summary = c.summary
		}
	}
	var b strings.Builder
	if summary != "" {
		fmt.Fprintf(&b, "patchgate %s: %s\n\n", name, summary)
	}
	b.WriteString("usage:\n")
	if !ok || len(h.usage) == 0 {
		h.usage = []string{name + " [flags]"}
	}
	for _, u := range h.usage {
		fmt.Fprintf(&b, "  patchgate %s\n", strings.TrimSpace(u))
	}
	b.WriteString(h.more)
	if len(h.examples) > 0 {
		b.WriteString("\nexamples:\n")
		for _, e := range h.examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	if fs != nil {
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			b.WriteString("\nflags:\n")
			fs.SetOutput(&b)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	b.WriteString("\nexit codes:\n")
	if ok && len(h.exits) > 0 {
		for _, e := range h.exits {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	} else {
		b.WriteString(exitCodesText)
	}
	io.WriteString(w, b.String())
}
