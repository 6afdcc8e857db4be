package opcuaserver

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// guard enforces the advertised security on one client connection. gopcua's channel layer
// accepts every policy and mode it implements, whatever endpoints the server advertises, so
// the proxy reads the client's chunks (Part 6, 7.1.2) and cuts the connection where a real
// server would reject:
//
//   - an OpenSecureChannel with a policy the server does not offer (None is always let
//     through: discovery over None is allowed even when None has no endpoint);
//   - a session (CreateSession, ActivateSession) over None when None is not offered;
//   - a secure channel in a mode the server does not offer. The mode is inside the
//     encrypted OpenSecureChannel request; it shows on the channel's first message, whose
//     body is plain in Sign mode (it starts with the request's type id) and ciphertext in
//     SignAndEncrypt mode.
//
// A cut shows to the client as a closed connection, where a real server answers
// BadSecurityPolicyRejected or BadSecurityModeRejected first.
type guard struct {
	none, sign, encrypt bool
	secure              map[string]bool // policy URIs offered beside None

	policy string // of the channel, from its OpenSecureChannel
	first  bool   // the next MSG is the first of the channel
}

func newGuard(sec Security, policies []string, insecure bool) *guard {
	g := &guard{secure: map[string]bool{}}
	for _, m := range sec.modes(policies, insecure) {
		if m.policy != "None" {
			g.secure[ua.FormatSecurityPolicyURI(m.policy)] = true
		}
		switch m.mode {
		case ua.MessageSecurityModeNone:
			g.none = true
		case ua.MessageSecurityModeSign:
			g.sign = true
		case ua.MessageSecurityModeSignAndEncrypt:
			g.encrypt = true
		}
	}
	return g
}

// firstRequests are the requests a client may open a channel's traffic with.
var firstRequests = map[uint32]bool{
	id.FindServersRequest_Encoding_DefaultBinary:        true,
	id.GetEndpointsRequest_Encoding_DefaultBinary:       true,
	id.CloseSecureChannelRequest_Encoding_DefaultBinary: true,
	id.CreateSessionRequest_Encoding_DefaultBinary:      true,
	id.ActivateSessionRequest_Encoding_DefaultBinary:    true,
	id.CloseSessionRequest_Encoding_DefaultBinary:       true,
	id.ReadRequest_Encoding_DefaultBinary:               true,
	id.BrowseRequest_Encoding_DefaultBinary:             true,
}

// allow inspects one whole chunk from the client.
func (g *guard) allow(chunk []byte) bool {
	switch string(chunk[:3]) {
	case "OPN":
		policy, ok := openPolicy(chunk)
		if !ok {
			return false
		}
		g.policy, g.first = policy, true
		return policy == ua.SecurityPolicyURINone || g.secure[policy]
	case "MSG":
		t, plain := requestType(chunk)
		first := g.first
		g.first = false
		switch {
		case g.policy == ua.SecurityPolicyURINone:
			return g.none || !plain || (t != id.CreateSessionRequest_Encoding_DefaultBinary && t != id.ActivateSessionRequest_Encoding_DefaultBinary)
		case g.secure[g.policy]:
			if !first || (g.sign && g.encrypt) {
				return true
			}
			if plain && firstRequests[t] {
				return g.sign
			}
			return g.encrypt
		}
	}
	return true
}

// openPolicy reads the SecurityPolicyUri of an OpenSecureChannel chunk: message header (8),
// SecureChannelId (4), then the policy as a String (int32 length, bytes).
func openPolicy(b []byte) (string, bool) {
	if len(b) < 16 {
		return "", false
	}
	n := int32(binary.LittleEndian.Uint32(b[12:16]))
	if n < 0 || int(n) > len(b)-16 {
		return "", false
	}
	return string(b[16 : 16+n]), true
}

// requestType reads the type id of a MSG chunk's body: message header (8), SecureChannelId
// (4), TokenId (4), SequenceNumber (4), RequestId (4), then the NodeId of the request's
// encoding (four-byte or numeric form, namespace 0). plain is false when it cannot be one.
func requestType(b []byte) (uint32, bool) {
	if len(b) < 28 {
		return 0, false
	}
	switch body := b[24:]; {
	case body[0] == 0x01 && body[1] == 0: // four-byte: ns byte, id uint16
		return uint32(binary.LittleEndian.Uint16(body[2:4])), true
	case body[0] == 0x02 && len(body) >= 7 && body[1] == 0 && body[2] == 0: // numeric: ns uint16, id uint32
		return binary.LittleEndian.Uint32(body[3:7]), true
	}
	return 0, false
}

// maxChunk bounds a chunk the proxy buffers (gopcua negotiates 64 KiB).
const maxChunk = 16 << 20

var errRefused = errors.New("opc ua: refused by the endpoint security")

// pump copies chunks from the client to gopcua, through the guard.
func pump(dst io.Writer, src io.Reader, g *guard) error {
	r := bufio.NewReaderSize(src, 64<<10)
	buf := make([]byte, 64<<10)
	for {
		if _, err := io.ReadFull(r, buf[:8]); err != nil {
			return err
		}
		size := int(binary.LittleEndian.Uint32(buf[4:8]))
		if size < 8 || size > maxChunk {
			return errRefused
		}
		if size > len(buf) {
			nb := make([]byte, size)
			copy(nb, buf[:8])
			buf = nb
		}
		if _, err := io.ReadFull(r, buf[8:size]); err != nil {
			return err
		}
		if !g.allow(buf[:size]) {
			return errRefused
		}
		if _, err := dst.Write(buf[:size]); err != nil {
			return err
		}
	}
}
