package modbus

import (
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
)

// The probe sends the allow-listed read-only requests and nothing else.
func TestProbeRequestsAreReadOnly(t *testing.T) {
	var codes []byte
	for _, r := range probeRequests {
		if r.pdu[0] != r.code {
			t.Errorf("request for %d starts with %d", r.code, r.pdu[0])
		}
		codes = append(codes, r.code)
	}
	if want := []byte{1, 2, 3, 4, 7, 11, 12, 17, 43}; !slices.Equal(codes, want) {
		t.Errorf("probed codes %v, want exactly %v", codes, want)
	}
}

// What goes on the wire: a listener that records each connection's bytes and answers
// nothing (so every code reads "no answer" after the timeout).
func TestProbeSendsOnlyTheAllowList(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var got [][]byte
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c) // until the probe gives up and closes
			mu.Lock()
			got = append(got, b)
			mu.Unlock()
			c.Close()
		}
	})
	mp, err := probeFunctionCodes(context.Background(), ln.Addr().String(), 7, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	wg.Wait()
	if len(got) != len(probeRequests) {
		t.Fatalf("%d connections, want %d", len(got), len(probeRequests))
	}
	for i, r := range probeRequests {
		want := append([]byte{0, byte(i + 1), 0, 0, 0, byte(len(r.pdu) + 1), 7}, r.pdu...)
		if !slices.Equal(got[i], want) {
			t.Errorf("connection %d sent % x, want % x", i, got[i], want)
		}
		if mp.Codes[i].Answer != driver.FCNoAnswer {
			t.Errorf("code %d: %q, want no answer", mp.Codes[i].Code, mp.Codes[i].Answer)
		}
	}
}

// Against the station's Modbus server: the reads of the tables are served, the others are
// refused with exception 01; the station's own port is found open by the scan.
func TestPostureAgainstStation(t *testing.T) {
	_, s := startTank(t, "", false)
	c := dial(t, s, "", tankMap(t))
	_, port, _ := net.SplitHostPort(c.host)
	n, _ := strconv.Atoi(port)
	p, err := c.Posture(context.Background(), driver.PostureRequest{Ports: []int{n}, Rate: 100, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ports) != 1 || p.Ports[0].State != driver.PortOpen {
		t.Errorf("ports %+v, want %d open", p.Ports, n)
	}
	for _, f := range p.Modbus.Codes {
		served := f.Answer == driver.FCAnswered || (f.Answer != driver.FCException(1) && f.Answer != driver.FCNoAnswer)
		if want := f.Code <= 4; served != want {
			t.Errorf("function code %d: %s; want served %v", f.Code, f.Answer, want)
		}
	}
}

func FuzzParseDeviceID(f *testing.F) {
	f.Add([]byte{0x2B, 0x0E, 1, 1, 0, 0, 2, 0, 3, 'a', 'b', 'c', 1, 1, 'x'})
	f.Add([]byte{0x2B, 0x0E, 1, 1, 0, 0, 5, 0, 200})
	f.Add([]byte{0x2B})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseDeviceID(b); err == nil && len(m) > int(b[6]) {
			t.Fatalf("%d objects from a count of %d", len(m), b[6])
		}
	})
}
