package modbus

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/fault"
)

func TestReadEveryTankPoint(t *testing.T) {
	c, s := startTank(t, "", true)
	for tag, v := range map[string]point.Value{
		"Setpoint": point.Float(62.5), "Mode": point.Uint(1), "Pump": point.Bool(true), "OutletValve": point.Bool(true),
	} {
		if err := c.Set(tag, v); err != nil {
			t.Fatal(err)
		}
	}
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	tags, out := readAll(t, conn, pm)
	for i, tag := range tags {
		want := mustGet(t, c, tag)
		if out[i].Quality != driver.Good || out[i].Err != nil {
			t.Errorf("%s: quality %s, err %v", tag, out[i].Quality, out[i].Err)
			continue
		}
		if !out[i].Value.Equal(want) {
			t.Errorf("%s = %v (%s), controller has %v (%s)", tag, out[i].Value, out[i].Value.Kind(), want, want.Kind())
		}
	}
	if got := mustGet(t, c, "Firmware").Text(); got != "3.2.0" || out[6].Value.Text() != got {
		t.Errorf("Firmware read %v, controller %q", out[6].Value, got)
	}
	// the plan for the tank is 7 requests (see TestPlan): a read makes exactly those
	if st := conn.Stats(); st.Requests != 7 || st.Errors != 0 || st.RoundTrip <= 0 {
		t.Errorf("stats after one read: %+v, want 7 requests, no errors, a round trip", st)
	}
}

func TestReadFollowsTheProcess(t *testing.T) {
	// on the real clock the scan counter moves between reads: reads are live, not cached
	c, s := startTank(t, "", false)
	conn := dial(t, s, "", tankMap(t))
	tags := []string{"ScanCount"}
	out := make([]driver.Reading, 1)
	if err := conn.Read(context.Background(), tags, out); err != nil {
		t.Fatal(err)
	}
	first, _ := out[0].Value.Uint64()
	for {
		if n, _ := mustGet(t, c, "ScanCount").Uint64(); n > first+2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := conn.Read(context.Background(), tags, out); err != nil {
		t.Fatal(err)
	}
	if n, _ := out[0].Value.Uint64(); n <= first {
		t.Errorf("ScanCount %d then %d: not live", first, n)
	}
}

// bitsMap is a client-side map that sees bit 0 of the tank's Mode register as a bool, to
// test the read-modify-write of a bit inside a holding register against the real server.
const bitsMap = `
version: 1
name: tank-bits
points:
  - {tag: ModeBit0, type: bool, writable: true, modbus: {register: holding, address: 0, bit: 0}}
`

func TestWritesReachController(t *testing.T) {
	c, s := startTank(t, "", true)
	conn := dial(t, s, "", tankMap(t))
	ctx := context.Background()
	cases := []struct {
		name string
		w    driver.Write
		want point.Value
	}{
		{"coil (05)", driver.Write{Tag: "Pump", Value: point.Bool(true)}, point.Bool(true)},
		{"coil from the number 1", driver.Write{Tag: "InletValve", Value: point.Int(1)}, point.Bool(true)},
		{"single holding register (06)", driver.Write{Tag: "Mode", Value: point.Int(1)}, point.Uint(1)},
		{"two holding registers (16)", driver.Write{Tag: "Setpoint", Value: point.Float(71.25)}, point.Float(71.25)},
		{"coil back off", driver.Write{Tag: "Pump", Value: point.Bool(false)}, point.Bool(false)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := conn.Write(ctx, []driver.Write{tc.w}); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, c, tc.w.Tag); !got.Equal(tc.want) {
				t.Errorf("controller %s = %v, want %v", tc.w.Tag, got, tc.want)
			}
		})
	}

	t.Run("bit of a holding register (read-modify-write)", func(t *testing.T) {
		pm, err := point.Parse("bits.yaml", []byte(bitsMap))
		if err != nil {
			t.Fatal(err)
		}
		bc := dial(t, s, "", pm)
		for _, on := range []bool{false, true, false} {
			if err := bc.Write(ctx, []driver.Write{{Tag: "ModeBit0", Value: point.Bool(on)}}); err != nil {
				t.Fatal(err)
			}
			want := point.Uint(0)
			if on {
				want = point.Uint(1)
			}
			if got := mustGet(t, c, "Mode"); !got.Equal(want) {
				t.Errorf("bit 0 set to %v: controller Mode = %v, want %v", on, got, want)
			}
			out := make([]driver.Reading, 1)
			if err := bc.Read(ctx, []string{"ModeBit0"}, out); err != nil {
				t.Fatal(err)
			}
			if !out[0].Value.Equal(point.Bool(on)) {
				t.Errorf("bit 0 reads %v, want %v", out[0].Value, on)
			}
		}
	})

	t.Run("device refuses a value: exception with coordinates", func(t *testing.T) {
		before := mustGet(t, c, "Setpoint")
		err := conn.Write(ctx, []driver.Write{{Tag: "Setpoint", Value: point.Float(150)}})
		if !errors.Is(err, IllegalDataValue) {
			t.Fatalf("got %v, want illegal data value", err)
		}
		want := "unit 1 on " + s.Addr() + ", holding 2+2: write Setpoint: illegal data value"
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if got := mustGet(t, c, "Setpoint"); !got.Equal(before) {
			t.Errorf("refused write changed Setpoint to %v", got)
		}
		// an exception is the device's answer: the connection is still good
		if err := conn.Write(ctx, []driver.Write{{Tag: "Mode", Value: point.Int(0)}}); err != nil {
			t.Errorf("write after an exception: %v", err)
		}
	})
}

func TestWriteRefusedBeforeIO(t *testing.T) {
	c, s := startTank(t, "", true)
	conn := dial(t, s, "", tankMap(t))
	cases := []struct {
		name string
		ws   []driver.Write
		want error  // errors.Is target, or nil to check the message only
		msg  string // substring of the error
	}{
		{"read-only point after a writable one", []driver.Write{{Tag: "Pump", Value: point.Bool(true)}, {Tag: "Level", Value: point.Float(1)}}, driver.ErrNotWritable, "write Level (input 0+2)"},
		{"discrete input", []driver.Write{{Tag: "AlarmHigh", Value: point.Bool(true)}}, driver.ErrNotWritable, "discrete 0"},
		{"unknown tag", []driver.Write{{Tag: "Pump", Value: point.Bool(true)}, {Tag: "Nope", Value: point.Int(1)}}, nil, `write Nope: tag is not in point map "tank"`},
		{"value does not fit the wire type", []driver.Write{{Tag: "Mode", Value: point.Int(70000)}}, point.ErrRange, "write Mode = 70000"},
		{"a coil takes 0 or 1 only", []driver.Write{{Tag: "Pump", Value: point.Int(2)}}, point.ErrRange, "expected true, false, 0 or 1"},
		{"string for a number", []driver.Write{{Tag: "Setpoint", Value: point.String("high")}}, nil, "write Setpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := conn.Stats().Requests
			err := conn.Write(context.Background(), tc.ws)
			if err == nil {
				t.Fatal("write accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if n := conn.Stats().Requests - before; n != 0 {
				t.Errorf("%d requests made before the refusal; want none", n)
			}
			if v := mustGet(t, c, "Pump"); v.Bool() {
				t.Error("Pump was written although the batch was refused")
			}
		})
	}
}

func TestMovedRegisterIsBadOthersGood(t *testing.T) {
	c, s := startTank(t, "register-moved", true)
	pm := tankMap(t) // the baseline map: Level at input 0, where this firmware has nothing
	conn := dial(t, s, "", pm)
	tags, out := readAll(t, conn, pm)
	for i, tag := range tags {
		r := out[i]
		if tag == "Level" {
			if r.Quality != driver.Bad || !errors.Is(r.Err, IllegalDataAddress) {
				t.Errorf("Level: quality %s, err %v; want bad, illegal data address", r.Quality, r.Err)
			} else if want := "unit 1 on " + s.Addr() + ", input 0+2: illegal data address"; r.Err.Error() != want {
				t.Errorf("Level error %q, want %q", r.Err, want)
			}
			continue
		}
		if r.Quality != driver.Good {
			t.Errorf("%s: quality %s (%v), want good", tag, r.Quality, r.Err)
		} else if want := mustGet(t, c, tag); !r.Value.Equal(want) {
			t.Errorf("%s = %v, controller has %v", tag, r.Value, want)
		}
	}
	// with the firmware's own map every point is good again
	moved := dial(t, s, "", c.Points())
	tags, out = readAll(t, moved, c.Points())
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("moved map: %s quality %s (%v)", tags[i], r.Quality, r.Err)
		}
	}
}

func TestInjectedExceptionsAreBad(t *testing.T) {
	c, s := startTank(t, "", true)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	c.SetFaults(fault.Set{Exceptions: 1})
	tags, out := readAll(t, conn, pm) // the Read itself succeeds: the device answered
	for i, r := range out {
		if r.Quality != driver.Bad || !errors.Is(r.Err, ServerDeviceBusy) {
			t.Errorf("%s: quality %s, err %v; want bad, server device busy", tags[i], r.Quality, r.Err)
		}
	}
	if st := conn.Stats(); st.Errors == 0 || st.Errors != st.Requests {
		t.Errorf("stats %+v: every request should be an error", st)
	}
	c.SetFaults(fault.Set{})
	tags, out = readAll(t, conn, pm)
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("after clearing the fault, %s: %s (%v)", tags[i], r.Quality, r.Err)
		}
	}
}

func TestDropThenReconnect(t *testing.T) {
	c, s := startTank(t, "", true)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	readAll(t, conn, pm)
	c.DropConnections()
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	err := conn.Read(context.Background(), tags, out)
	if !errors.Is(err, driver.ErrDisconnected) {
		t.Fatalf("read after drop: %v, want ErrDisconnected", err)
	}
	if !strings.HasPrefix(err.Error(), "unit 1 on "+s.Addr()+", ") {
		t.Errorf("error %q lacks its coordinates", err)
	}
	for i, r := range out {
		if r.Quality != driver.Missing {
			t.Errorf("%s: quality %s after a failed read, want missing", tags[i], r.Quality)
		}
	}
	// broken until Reconnect: no I/O is tried
	n := conn.Stats().Requests
	if err := conn.Read(context.Background(), tags, out); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("second read: %v, want ErrDisconnected", err)
	}
	if err := conn.Write(context.Background(), []driver.Write{{Tag: "Pump", Value: point.Bool(true)}}); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("write on a broken connection: %v, want ErrDisconnected", err)
	}
	if err := conn.Ping(context.Background()); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("ping on a broken connection: %v, want ErrDisconnected", err)
	}
	if d := conn.Stats().Requests - n; d != 0 {
		t.Errorf("%d requests on a broken connection", d)
	}
	if err := conn.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := conn.Ping(context.Background()); err != nil {
		t.Errorf("ping after reconnect: %v", err)
	}
	_, out = readAll(t, conn, pm)
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("after reconnect %s: %s (%v)", tags[i], r.Quality, r.Err)
		}
	}
	if st := conn.Stats(); st.Reconnects != 1 || st.Errors == 0 {
		t.Errorf("stats %+v: want 1 reconnect and the failed request counted", st)
	}
}

func TestRestartGapThenRecovery(t *testing.T) {
	c, s := startTank(t, "", false)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	ctx := context.Background()
	if err := conn.Write(ctx, []driver.Write{{Tag: "Setpoint", Value: point.Float(70)}}); err != nil {
		t.Fatal(err)
	}
	tags := []string{"ScanCount", "Setpoint"}
	out := make([]driver.Reading, len(tags))
	// sample until the controller has been up a while, so that the reset of its scan counter
	// by the restart shows
	var before uint64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for before < 40 {
		<-tick.C
		if err := conn.Read(ctx, tags, out); err != nil {
			t.Fatal(err)
		}
		before, _ = out[0].Value.Uint64()
	}

	const down = 300 * time.Millisecond
	c.SetFaults(fault.Set{RestartTime: down})
	restarted := time.Now()
	c.Restart()
	if err := conn.Read(ctx, tags, out); !errors.Is(err, driver.ErrDisconnected) {
		t.Fatalf("read during restart: %v, want ErrDisconnected", err)
	}
	// the runner's loop: on a gap, reconnect at the next sample time
	failed := 1
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-deadline:
			t.Fatalf("no recovery 10 s after a %v restart (%d failed attempts)", down, failed)
		case <-tick.C:
		}
		if err := conn.Reconnect(ctx); err != nil {
			if !errors.Is(err, driver.ErrDisconnected) {
				t.Fatalf("reconnect: %v, want ErrDisconnected while down", err)
			}
			failed++
			continue
		}
		if err := conn.Read(ctx, tags, out); err != nil {
			failed++
			continue
		}
		break
	}
	if gap := time.Since(restarted); gap < down {
		t.Errorf("recovered %v after the restart, before the controller was back (%v)", gap, down)
	}
	if failed < 2 {
		t.Errorf("%d failed attempts: the gap did not show", failed)
	}
	after, _ := out[0].Value.Uint64()
	if out[0].Quality != driver.Good || after >= before {
		t.Errorf("ScanCount %d before the restart, %d (%s) after: want it reset", before, after, out[0].Quality)
	}
	if !out[1].Value.Equal(point.Float(70)) {
		t.Errorf("Setpoint %v after restart, want the retained 70", out[1].Value)
	}
}

func TestTimeoutIsDisconnected(t *testing.T) {
	c, s := startTank(t, "", false)
	pm := tankMap(t)
	conn := dial(t, s, "timeout=100ms", pm)
	c.SetFaults(fault.Set{Stall: 2 * time.Second})
	out := make([]driver.Reading, 1)
	start := time.Now()
	err := conn.Read(context.Background(), []string{"Mode"}, out)
	if !errors.Is(err, driver.ErrDisconnected) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("stalled read: %v, want ErrDisconnected and ErrTimeout", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("timeout of 100ms took %v", el)
	}
	if out[0].Quality != driver.Missing {
		t.Errorf("quality %s, want missing", out[0].Quality)
	}
	if st := conn.Stats(); st.Timeouts != 1 {
		t.Errorf("stats %+v, want 1 timeout", st)
	}
	c.SetFaults(fault.Set{})
	if err := conn.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := conn.Read(context.Background(), []string{"Mode"}, out); err != nil || out[0].Quality != driver.Good {
		t.Errorf("after reconnect: %v, %s", err, out[0].Quality)
	}
}

func TestContextDeadlineShorterThanTimeout(t *testing.T) {
	const stall = 800 * time.Millisecond
	c, s := startTank(t, "", false)
	pm := tankMap(t)
	conn := dial(t, s, "timeout=5s", pm)
	c.SetFaults(fault.Set{Stall: stall})
	out := make([]driver.Reading, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := conn.Read(ctx, []string{"Mode"}, out)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrDisconnected) {
		t.Fatalf("read under a 30ms deadline: %v, want deadline exceeded, still connected", err)
	}
	if el := time.Since(start); el >= stall {
		t.Errorf("read returned after %v; the 30ms deadline was not honoured", el)
	}
	c.SetFaults(fault.Set{})
	// the next read first collects the abandoned request, then reads on the same connection
	if err := conn.Read(context.Background(), []string{"Mode"}, out); err != nil || out[0].Quality != driver.Good {
		t.Fatalf("read after an abandoned request: %v, %s", err, out[0].Quality)
	}
	if time.Since(start) < stall {
		t.Error("the abandoned request was not waited for")
	}

	t.Run("Close waits for an abandoned request", func(t *testing.T) {
		c.SetFaults(fault.Set{Stall: stall})
		cc := dial(t, s, "timeout=5s", pm)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := cc.Read(ctx, []string{"Mode"}, out); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read: %v", err)
		}
		if err := cc.Close(); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < stall {
			t.Errorf("Close returned %v after the request was sent, before its answer could come (%v)", el, stall)
		}
		if cc.wait {
			t.Error("Close left the helper goroutine running")
		}
		if err := cc.Read(context.Background(), []string{"Mode"}, out); err == nil {
			t.Error("read after Close succeeded")
		}
		c.SetFaults(fault.Set{})
	})
}

func TestCancelledContextDoesNoIO(t *testing.T) {
	_, s := startTank(t, "", true)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := make([]driver.Reading, 2)
	if err := conn.Read(ctx, []string{"Mode", "Level"}, out); !errors.Is(err, context.Canceled) {
		t.Errorf("read: %v, want canceled", err)
	}
	if err := conn.Write(ctx, []driver.Write{{Tag: "Mode", Value: point.Int(1)}}); !errors.Is(err, context.Canceled) {
		t.Errorf("write: %v, want canceled", err)
	}
	if n := conn.Stats().Requests; n != 0 {
		t.Errorf("%d requests under a cancelled context", n)
	}
	// and the connection is still good
	if err := conn.Read(context.Background(), []string{"Mode", "Level"}, out); err != nil {
		t.Errorf("read after a cancelled one: %v", err)
	}
}

func TestTargetOptions(t *testing.T) {
	c, s := startTank(t, "", true)
	pm := tankMap(t)

	t.Run("one_request_per_point and a small max_registers_per_request", func(t *testing.T) {
		conn := dial(t, s, "one_request_per_point=1&max_registers_per_request=4", pm)
		tags, out := readAll(t, conn, pm)
		for i, r := range out {
			if want := mustGet(t, c, tags[i]); r.Quality != driver.Good || !r.Value.Equal(want) {
				t.Errorf("%s = %v (%s), want %v", tags[i], r.Value, r.Quality, want)
			}
		}
		// 15 points, one request each, and the 8-register Firmware string in two chunks
		if n := conn.Stats().Requests; n != 16 {
			t.Errorf("%d requests, want 16", n)
		}
	})

	t.Run("pause_after_connect", func(t *testing.T) {
		const pause = 50 * time.Millisecond
		start := time.Now()
		conn := dial(t, s, "pause_after_connect=50ms", pm)
		if el := time.Since(start); el < pause {
			t.Errorf("open took %v, want at least the pause %v", el, pause)
		}
		start = time.Now()
		if err := conn.Reconnect(context.Background()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < pause {
			t.Errorf("reconnect took %v, want at least the pause %v", el, pause)
		}
	})

	t.Run("another unit id gets the gateway exception", func(t *testing.T) {
		u, _ := url.Parse(s.URL())
		u.RawQuery = "unit=2"
		tg, err := driver.ParseTarget(u.String())
		if err != nil {
			t.Fatal(err)
		}
		dc, err := driver.Open(context.Background(), tg, pm)
		if err != nil {
			t.Fatal(err)
		}
		defer dc.Close()
		out := make([]driver.Reading, 1)
		if err := dc.Read(context.Background(), []string{"Mode"}, out); err != nil {
			t.Fatal(err)
		}
		if out[0].Quality != driver.Bad || !errors.Is(out[0].Err, GatewayTargetFailedToRespond) || !strings.Contains(out[0].Err.Error(), "unit 2 on ") {
			t.Errorf("unit 2: %s %v; want bad, gateway target failed to respond, from unit 2", out[0].Quality, out[0].Err)
		}
	})
}

func TestBadTargets(t *testing.T) {
	_, s := startTank(t, "", true)
	pm := tankMap(t)
	base := "modbus://" + s.Addr()
	cases := []struct {
		name, url string
		want      []string // substrings of the error
	}{
		{"unit not a number", base + "?unit=one", []string{`unit="one"`, "unit id 0..255"}},
		{"unit too large", base + "?unit=256", []string{`unit="256"`, "0..255"}},
		{"negative unit", base + "?unit=-1", []string{"unit", "0..255"}},
		{"timeout without a unit", base + "?timeout=5", []string{`timeout="5"`, "duration"}},
		{"zero timeout", base + "?timeout=0s", []string{"timeout", "above zero"}},
		{"max registers zero", base + "?max_registers_per_request=0", []string{"max_registers_per_request", "1..125"}},
		{"max registers above the protocol", base + "?max_registers_per_request=126", []string{"max_registers_per_request", "1..125"}},
		{"pause not a duration", base + "?pause_after_connect=soon", []string{"pause_after_connect", "duration"}},
		{"negative pause", base + "?pause_after_connect=-1s", []string{"pause_after_connect", "duration"}},
		{"one_request_per_point not a flag", base + "?one_request_per_point=yes", []string{"one_request_per_point", "1 or 0"}},
		{"typo in a parameter", base + "?unit=1&max_register_per_request=10", []string{`unknown parameter "max_register_per_request"`, "max_registers_per_request"}},
		{"telegraf spelling not supported here", base + "?slave_id=1", []string{`unknown parameter "slave_id"`, "unit"}},
		{"parameter twice", base + "?unit=1&unit=2", []string{`"unit" given twice`}},
		{"parameter without value", base + "?unit", []string{`"unit" has no value`}},
		{"path", base + "/plc1?unit=1", []string{`path "/plc1"`}},
		{"user info", "modbus://admin@" + s.Addr(), []string{"user information"}},
		{"port zero", "modbus://127.0.0.1:0", []string{`port "0"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := driver.ParseTarget(tc.url)
			if err == nil {
				var c driver.Conn
				c, err = driver.Open(context.Background(), tg, pm)
				if err == nil {
					c.Close()
					t.Fatalf("%s opened", tc.url)
				}
			}
			if !errors.Is(err, driver.ErrBadTarget) {
				t.Errorf("error %v does not wrap ErrBadTarget", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("no port (target built by hand)", func(t *testing.T) {
		_, err := Driver{}.Open(context.Background(), driver.Target{URL: &url.URL{Scheme: "modbus", Host: "127.0.0.1"}, Scheme: "modbus"}, pm)
		if !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), "host and port") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("good parameters", func(t *testing.T) {
		_, o, err := parseTarget(mustTarget(t, base+"?unit=7&timeout=250ms&max_registers_per_request=10&pause_after_connect=0s&one_request_per_point=true"))
		if err != nil {
			t.Fatal(err)
		}
		want := options{unit: 7, timeout: 250 * time.Millisecond, maxRegisters: 10, maxBits: 160, onePerPoint: true}
		if o != want {
			t.Errorf("options %+v, want %+v", o, want)
		}
		if _, o, _ := parseTarget(mustTarget(t, base)); o != defaultOptions() {
			t.Errorf("defaults %+v, want %+v", o, defaultOptions())
		}
		if _, o, _ := parseTarget(mustTarget(t, base+"?max_registers_per_request=125")); o.maxBits != 2000 {
			t.Errorf("bits per request %d at 125 registers, want the protocol's 2000", o.maxBits)
		}
	})
}

func mustTarget(t *testing.T, s string) driver.Target {
	t.Helper()
	tg, err := driver.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestUnreachable(t *testing.T) {
	_, s := startTank(t, "", true)
	addr := s.Addr()
	s.Close() // nothing listens there now
	tg := mustTarget(t, "modbus://"+addr)
	_, err := driver.Open(context.Background(), tg, tankMap(t))
	if !errors.Is(err, driver.ErrDisconnected) || !strings.Contains(err.Error(), "connect") {
		t.Errorf("open of a closed port: %v, want ErrDisconnected from connect", err)
	}
}

func TestIdentity(t *testing.T) {
	_, s := startTank(t, "benign", true)
	conn := dial(t, s, "", tankMap(t))
	id, err := conn.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id.Firmware != "3.2.1" || id.Vendor != "" || id.Extra["unit"] != "1" {
		t.Errorf("identity %+v, want firmware 3.2.1 and unit 1", id)
	}

	noID, err := point.Parse("noid.yaml", []byte(bitsMap))
	if err != nil {
		t.Fatal(err)
	}
	bare := dial(t, s, "", noID)
	before := bare.Stats().Requests
	id, err = bare.Identity(context.Background())
	if err != nil || id.Firmware != "" || id.Product != "" || len(id.Extra) != 1 || id.Extra["unit"] != "1" {
		t.Errorf("identity from a map without identity points: %+v, %v", id, err)
	}
	if bare.Stats().Requests != before {
		t.Error("identity without identity points made requests")
	}

	// a firmware that moved Level: an identity point that cannot be read is an error
	moved := `
version: 1
name: fw-moved
points:
  - {tag: Firmware, type: string, length: 16, modbus: {register: input, address: 30}}
`
	pm, err := point.Parse("moved.yaml", []byte(moved))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, s, "", pm).Identity(context.Background()); !errors.Is(err, IllegalDataAddress) {
		t.Errorf("identity at an unmapped address: %v, want illegal data address", err)
	}
}

func TestPingAnExceptionIsAnAnswer(t *testing.T) {
	c, s := startTank(t, "register-moved", true)
	conn := dial(t, s, "", tankMap(t)) // the first point, Level, is not there in this firmware
	if err := conn.Ping(context.Background()); err != nil {
		t.Errorf("ping: %v", err)
	}
	if conn.Stats().Requests != 1 {
		t.Errorf("ping made %d requests, want 1", conn.Stats().Requests)
	}
	c.DropConnections()
	if err := conn.Ping(context.Background()); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("ping after drop: %v, want ErrDisconnected", err)
	}
}

func TestReadRefusesBadTagListBeforeIO(t *testing.T) {
	_, s := startTank(t, "", true)
	conn := dial(t, s, "", tankMap(t))
	out := make([]driver.Reading, 2)
	err := conn.Read(context.Background(), []string{"Level", "Levle"}, out)
	if err == nil || !strings.Contains(err.Error(), `tag "Levle" is not in point map "tank"`) {
		t.Errorf("read of an unknown tag: %v", err)
	}
	if err := conn.Read(context.Background(), []string{"Level", "Mode"}, out[:1]); err == nil {
		t.Error("read of 2 tags into 1 reading accepted")
	}
	if n := conn.Stats().Requests; n != 0 {
		t.Errorf("%d requests for refused reads", n)
	}
}

func TestRegistered(t *testing.T) {
	found := false
	for _, s := range driver.Schemes() {
		found = found || s == "modbus"
	}
	if !found {
		t.Errorf("schemes %v lack modbus", driver.Schemes())
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"modbus://127.0.0.1:502?unit=1", "modbus://h:1?unit=one", "modbus://h:1?timeout=0s",
		"modbus://h:1?max_registers_per_request=126", "modbus://h:1?unit=1&unit=2", "modbus://h:1?unit",
		"modbus://h:1/x", "modbus://a@h:1", "modbus://h:0", "modbus://h:1?%zz=1", "modbus://h:1?one_request_per_point=yes",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := driver.ParseTarget(s)
		if err != nil || tg.Scheme != "modbus" {
			return
		}
		_, o, err := parseTarget(tg)
		if err != nil {
			if !errors.Is(err, driver.ErrBadTarget) {
				t.Errorf("%q: error %v does not wrap ErrBadTarget", s, err)
			}
			return
		}
		if o.timeout <= 0 || o.maxRegisters < 1 || o.maxRegisters > 125 || o.maxBits < 16 || o.maxBits > 2000 || o.pauseAfterConnect < 0 {
			t.Errorf("%q: accepted options out of range: %+v", s, o)
		}
	})
}
