package modbusserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/plc"
)

func startTankExtra(t *testing.T, fw string, extra []int) (*plc.Controller, *Server) {
	t.Helper()
	c, err := plc.New("tank", fw, plc.Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	s, err := Start(c, Config{Addr: "127.0.0.1:0", ExtraCodes: extra})
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		c.Close()
	})
	return c, s
}

// rawPDU sends one PDU to unit on conn and returns the answer's PDU.
func rawPDU(t *testing.T, conn net.Conn, tid uint16, unit byte, pdu []byte) []byte {
	t.Helper()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	frame := make([]byte, 7, 7+len(pdu))
	binary.BigEndian.PutUint16(frame, tid)
	binary.BigEndian.PutUint16(frame[4:], uint16(len(pdu)+1))
	frame[6] = unit
	if _, err := conn.Write(append(frame, pdu...)); err != nil {
		t.Fatal(err)
	}
	resp, err := readFrame(conn)
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint16(resp) != tid || resp[6] != unit {
		t.Fatalf("answer %x to transaction %d unit %d", resp, tid, unit)
	}
	return resp[7:]
}

// TestReportServerID: function code 17 is answered only by a server configured with it (the
// fc-report-id firmware), with the product and firmware and the run indicator on; the
// other requests on the same connection still reach the library, interleaved.
func TestReportServerID(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fw    string
		extra []int
		want  func(pdu []byte) bool
	}{
		{"baseline", "", nil, func(p []byte) bool { return bytes.Equal(p, []byte{0x91, 0x01}) }},
		{"fc-report-id", "fc-report-id", []int{17}, func(p []byte) bool {
			return p[0] == 0x11 && int(p[1]) == len(p)-2 && p[len(p)-1] == 0xFF &&
				strings.Contains(string(p[2:len(p)-1]), "SimPLC tank 3.4.7")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s := startTankExtra(t, tc.fw, tc.extra)
			conn, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for i := range 3 {
				if p := rawPDU(t, conn, uint16(2*i+1), 1, []byte{0x11}); !tc.want(p) {
					t.Errorf("function code 17: answer %x", p)
				}
				if p := rawPDU(t, conn, uint16(2*i+2), 1, []byte{0x03, 0, 0, 0, 1}); p[0] != 0x03 {
					t.Errorf("function code 3 after 17: answer %x", p)
				}
			}
			if p := rawPDU(t, conn, 99, 1, []byte{0x2B, 0x0E, 0x01, 0}); !bytes.Equal(p, []byte{0xAB, 0x01}) {
				t.Errorf("function code 43: answer %x, want exception 01", p)
			}
		})
	}
}

// TestExtraCodesThroughFaults: the front answers 17 through the same unit check and injected
// faults, and a drop or a restart cuts and refuses its connections as the library's.
func TestExtraCodesThroughFaults(t *testing.T) {
	c, s := startTankExtra(t, "fc-report-id", []int{17})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := rawPDU(t, conn, 1, 9, []byte{0x11}); !bytes.Equal(p, []byte{0x91, 0x0B}) {
		t.Errorf("other unit: %x, want exception 0B", p)
	}
	c.SetFaults(fault.Set{Exceptions: 1})
	if p := rawPDU(t, conn, 2, 1, []byte{0x11}); !bytes.Equal(p, []byte{0x91, 0x06}) {
		t.Errorf("injected exception: %x, want exception 06", p)
	}
	c.SetFaults(fault.Set{})

	mc := client(t, s, 1)
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err != nil {
		t.Fatal(err)
	}
	c.DropConnections()
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err == nil {
		t.Fatal("read on a dropped connection succeeded")
	}
	mc.Close()
	if err := mc.Open(); err != nil {
		t.Fatalf("reconnect after drop: %v", err)
	}
	if _, err := mc.ReadRegister(0, modbus.HOLDING_REGISTER); err != nil {
		t.Errorf("read after reconnect: %v", err)
	}

	c.SetFaults(fault.Set{RestartTime: 200 * time.Millisecond})
	c.Restart()
	if conn, err := net.Dial("tcp", s.Addr()); err == nil {
		conn.Close()
		t.Fatal("connected to a controller that is restarting")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", s.Addr())
		if err == nil {
			p := rawPDU(t, conn, 3, 1, []byte{0x11})
			conn.Close()
			if p[0] != 0x11 {
				t.Errorf("after the restart: %x", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("controller never came back after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExtraCodesRefused(t *testing.T) {
	c, err := plc.New("tank", "", plc.Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Start(c, Config{Addr: "127.0.0.1:0", ExtraCodes: []int{43}}); err == nil || !strings.Contains(err.Error(), "only 17") {
		t.Errorf("extra code 43: %v", err)
	}
	if _, err := Start(c, Config{Addr: "nonsense", ExtraCodes: []int{17}}); err == nil {
		t.Error("bad address accepted")
	} else if errors.Is(err, net.ErrClosed) {
		t.Errorf("bad address: %v", err)
	}
}

// FuzzReadFrame: the front reads whatever a client sends without panicking, and a frame it
// accepts is a whole MBAP frame of the length its header says.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 2, 1, 0x11})
	f.Add([]byte{0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1})
	f.Add([]byte{0, 1, 0, 0, 0, 1, 1})
	f.Add([]byte{0, 1, 0, 0, 0xff, 0xff, 1, 3})
	f.Add([]byte{0, 1, 0, 1, 0, 2, 1, 0x11})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := readFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		if n := int(binary.BigEndian.Uint16(fr[4:])); len(fr) != 6+n || n < 2 || !bytes.HasPrefix(b, fr) {
			t.Errorf("frame %x from %x", fr, b)
		}
	})
}
