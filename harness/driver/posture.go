package driver

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Security posture: what a controller exposes beside its process data (open TCP ports, OPC UA
// endpoints and certificate, the Modbus function codes it answers), collected read-only once
// per run when the scenario asks. See docs/architecture.md, section Security posture.

// DefaultPosturePorts are the TCP ports a posture scan tries when the scenario lists none:
// the usual industrial protocols and the IT services a firmware update may switch on again.
var DefaultPosturePorts = []int{
	21,    // FTP
	22,    // SSH
	23,    // Telnet
	80,    // HTTP
	102,   // ISO-TSAP (S7)
	139,   // NetBIOS
	443,   // HTTPS
	445,   // SMB
	502,   // Modbus TCP
	789,   // Red Lion Crimson
	1911,  // Niagara Fox
	1962,  // PCWorx
	2222,  // EtherNet/IP (some stacks)
	2323,  // Telnet (alternate, debug shells)
	2404,  // IEC 60870-5-104
	3389,  // RDP
	4840,  // OPC UA
	4843,  // OPC UA over TLS
	5007,  // MELSEC
	5094,  // HART-IP
	5900,  // VNC
	8080,  // HTTP (alternate)
	8443,  // HTTPS (alternate)
	9600,  // OMRON FINS
	18245, // GE SRTP
	20000, // DNP3
	44818, // EtherNet/IP
}

// Limits and defaults of a posture scan.
const (
	DefaultPostureRate    = 50.0 // connection attempts per second
	MaxPostureRate        = 200.0
	DefaultPostureTimeout = time.Second
)

// PostureRequest says what to collect.
type PostureRequest struct {
	Ports   []int         // TCP ports to try
	Rate    float64       // connection attempts per second (at most MaxPostureRate)
	Timeout time.Duration // per connection attempt and per protocol query
}

// Port states of a connect scan.
const (
	PortOpen     = "open"     // accepted a connection
	PortClosed   = "closed"   // refused it
	PortFiltered = "filtered" // no answer within the timeout
)

// PortState is one scanned port.
type PortState struct {
	Port  int    `json:"port"`
	State string `json:"state"`
}

// Endpoint is one OPC UA endpoint as GetEndpoints describes it. Policy is the short name of
// the security policy URI (None, Basic256Sha256, ...); Tokens the user token types
// (Anonymous, UserName, Certificate, IssuedToken).
type Endpoint struct {
	Policy string   `json:"policy"`
	Mode   string   `json:"mode"`
	Tokens []string `json:"user_tokens"`
}

// Certificate holds the facts of a server certificate a posture judges.
type Certificate struct {
	Key       string    `json:"key"`       // RSA, ECDSA, Ed25519
	Bits      int       `json:"bits"`      // key size
	Signature string    `json:"signature"` // x509 name, e.g. SHA256-RSA
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// OPCUAPosture is what an OPC UA server advertises.
type OPCUAPosture struct {
	Endpoints   []Endpoint   `json:"endpoints"`
	Certificate *Certificate `json:"certificate,omitempty"`
}

// FunctionCode is how a Modbus device answered one read-only function code: "ok",
// "exception NN" (hex, as the standard writes them) or "no answer".
type FunctionCode struct {
	Code   int    `json:"code"`
	Answer string `json:"answer"`
}

// Answers of a function code probe.
const (
	FCAnswered = "ok"
	FCNoAnswer = "no answer"
)

// FCException is the answer text of a Modbus exception code.
func FCException(code byte) string { return fmt.Sprintf("exception %02X", code) }

// ModbusPosture is what a Modbus device answers: its identity objects (function code 43/14,
// when answered) and which read-only function codes it serves.
type ModbusPosture struct {
	Identity map[string]string `json:"identity,omitempty"`
	Codes    []FunctionCode    `json:"function_codes"`
}

// Posture is a controller's security posture at one moment.
type Posture struct {
	Collected time.Time      `json:"collected"` // when, on the run's clock
	Ports     []PortState    `json:"ports"`
	OPCUA     *OPCUAPosture  `json:"opcua,omitempty"`
	Modbus    *ModbusPosture `json:"modbus,omitempty"`
	// Errors lists what could not be collected; the parts that were are kept.
	Errors []string `json:"errors,omitempty"`
}

// Posturer is implemented by connections that can collect the device's security posture.
// It only connects and reads; it never writes.
type Posturer interface {
	Posture(ctx context.Context, req PostureRequest) (Posture, error)
}

// ScanPorts tries a TCP connection to each port of host, at most rate attempts a second
// (attempts overlap when a port does not answer), and closes each at once. A connect scan
// only: nothing is sent. The result is sorted by port.
func ScanPorts(ctx context.Context, host string, req PostureRequest) ([]PortState, error) {
	rate := req.Rate
	if rate <= 0 {
		rate = DefaultPostureRate
	}
	rate = min(rate, MaxPostureRate)
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultPostureTimeout
	}
	ports := append([]int(nil), req.Ports...)
	sort.Ints(ports)
	out := make([]PortState, len(ports))
	every := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i, p := range ports {
		if i > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return nil, ctx.Err()
			case <-tick.C:
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = PortState{Port: p, State: dialState(ctx, net.JoinHostPort(host, strconv.Itoa(p)), timeout)}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func dialState(ctx context.Context, addr string, timeout time.Duration) string {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
		return PortOpen
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return PortClosed
	}
	return PortFiltered
}

// CertificateFacts reads the facts a posture judges from a DER certificate.
func CertificateFacts(der []byte) (*Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	f := &Certificate{Signature: c.SignatureAlgorithm.String(), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		f.Key, f.Bits = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		f.Key, f.Bits = "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		f.Key, f.Bits = "Ed25519", 256
	default:
		f.Key = c.PublicKeyAlgorithm.String()
	}
	return f, nil
}
