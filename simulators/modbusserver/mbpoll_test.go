package modbusserver

import (
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
)

// TestMbpollInterop drives the tank with Debian's mbpoll, a third-party Modbus master, using
// the commands the README documents (installed by `make deps`).
func TestMbpollInterop(t *testing.T) {
	bin, err := exec.LookPath("mbpoll")
	if err != nil {
		t.Skip("mbpoll not installed (make deps installs it)")
	}
	c, s := startTank(t, "")
	_, port, _ := net.SplitHostPort(s.Addr())
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-m", "tcp", "-a", "1", "-p", port, "-o", "2"}, args...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("mbpoll %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	value := regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(\S+)`)
	first := func(out string) string {
		m := value.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no value in mbpoll output:\n%s", out)
		}
		return m[2]
	}

	// write the setpoint (holding 2-3, float32, big-endian word order: -B), read it back
	run("-t", "4:float", "-B", "-r", "3", "127.0.0.1", "75.5")
	if v, _ := c.Get("Setpoint"); v.Float() != 75.5 {
		t.Errorf("Setpoint after mbpoll write = %v, want 75.5", v)
	}
	if got := first(run("-t", "4:float", "-B", "-r", "3", "-c", "1", "-1", "127.0.0.1")); got != "75.5" && got != "75.500000" {
		t.Errorf("mbpoll read Setpoint %q, want 75.5", got)
	}

	// read the level (input 0-1)
	lvl, err := strconv.ParseFloat(first(run("-t", "3:float", "-B", "-r", "1", "-c", "1", "-1", "127.0.0.1")), 64)
	if err != nil || lvl < 40 || lvl > 60 {
		t.Errorf("mbpoll read Level %v (%v), want about 50", lvl, err)
	}

	// open the inlet valve (coil 0)
	run("-t", "0", "-r", "1", "127.0.0.1", "1")
	if v, _ := c.Get("InletValve"); !v.Equal(point.Bool(true)) {
		t.Errorf("InletValve after mbpoll write = %v, want true", v)
	}

	// an unmapped address is refused with an exception mbpoll reports
	out, err := exec.Command(bin, "-m", "tcp", "-a", "1", "-p", port, "-o", "2", "-t", "3", "-r", "901", "-1", "127.0.0.1").CombinedOutput()
	if err == nil && !strings.Contains(strings.ToLower(string(out)), "illegal data address") {
		t.Errorf("unmapped address: mbpoll did not report illegal data address:\n%s", out)
	}
}
