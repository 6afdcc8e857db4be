package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/simopt"
	"github.com/patchgate/patchgate/simulators/station"
)

// runDemo is `make run` until the desktop app exists: a baseline tank and the same tank on
// a patched firmware, side by side, with the commands to reach both.
func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "demo")
	after := fs.String("after", "alarm-shift", "firmware profile of the patched tank")
	host := fs.String("host", "127.0.0.1", "address to listen on (loopback by default)")
	start := fs.String("start", "default", "where both tanks start: "+simopt.StartWords+"; both draw from the same seed, so they start alike")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	st0, err := simopt.ParseStart(*start)
	if err != nil {
		return badInput("--%v", err)
	}
	if _, err := firmware.Lookup("tank", *after); err != nil {
		return usageError{err}
	}
	var stations []*station.Station
	defer func() {
		for _, st := range stations {
			st.Close()
		}
	}()
	for i, fw := range []string{"baseline", *after} {
		st, err := station.Start(ctx, station.Config{
			Model: "tank", Firmware: fw, Seed: 1, Start: st0,
			Modbus: freeOr(*host, 5020+i), OPCUA: freeOr(*host, 4840+i),
		})
		if err != nil {
			return err
		}
		stations = append(stations, st)
	}
	fmt.Fprintln(env.Stdout, "patchgate demo: two simulated tanks, before and after a patch")
	for i, st := range stations {
		fmt.Fprintf(env.Stdout, "\n[%s] ", []string{"before", "after"}[i])
		printStation(env, st, false)
	}
	b := stations[0].Modbus
	fmt.Fprintf(env.Stdout, "\nRead the level (float32, input registers 0-1) with Debian's mbpoll:\n")
	_, port, _ := net.SplitHostPort(b.Addr())
	fmt.Fprintf(env.Stdout, "  mbpoll -m tcp -a 1 -p %s -t 3:float -B -r 1 -c 1 -1 %s\n", port, *host)
	fmt.Fprintf(env.Stdout, "Open the inlet valve (coil 0):\n  mbpoll -m tcp -a 1 -p %s -t 0 -r 1 %s 1\n", port, *host)
	fmt.Fprintln(env.Stdout, "\nCtrl-C stops.")
	<-ctx.Done()
	return nil
}

// freeOr returns host:port if the port is free, else host:0 (a free port, printed later).
func freeOr(host string, port int) string {
	a := net.JoinHostPort(host, fmt.Sprint(port))
	l, err := net.Listen("tcp", a)
	if err != nil {
		return net.JoinHostPort(host, "0")
	}
	l.Close()
	return a
}
