package opcua

import (
	"context"
	"fmt"
	"net/url"
	"runtime/pprof"
	"slices"
	"strings"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
)

var _ driver.Posturer = (*Conn)(nil)

// Posture implements driver.Posturer (docs/architecture.md, section Security posture): a
// connect scan of the request's ports on the endpoint's host, then GetEndpoints on a channel
// of its own (policy None, as discovery is): each endpoint's policy, mode and user token
// types, and the facts of the server certificate. Only reads.
func (c *Conn) Posture(ctx context.Context, req driver.PostureRequest) (driver.Posture, error) {
	u, err := url.Parse(c.opt.url)
	if err != nil {
		return driver.Posture{}, fmt.Errorf("opc ua posture: %s: %w", c.target, err)
	}
	p := driver.Posture{}
	if p.Ports, err = driver.ScanPorts(ctx, u.Hostname(), req); err != nil {
		return p, fmt.Errorf("opc ua posture: port scan of %s: %w", u.Hostname(), err)
	}
	timeout := req.Timeout
	if timeout <= 0 || timeout < c.opt.timeout {
		timeout = c.opt.timeout
	}
	var eps []*ua.EndpointDescription
	pprof.Do(ctx, c.labels, func(ctx context.Context) {
		eps, err = gopcua.GetEndpoints(ctx, c.opt.url, gopcua.DialTimeout(timeout), gopcua.RequestTimeout(timeout))
	})
	if err != nil {
		p.Errors = append(p.Errors, fmt.Sprintf("GetEndpoints %s: %v", c.target, err))
		return p, nil
	}
	p.OPCUA, err = endpointPosture(eps)
	if err != nil {
		p.Errors = append(p.Errors, err.Error())
	}
	return p, nil
}

// endpointPosture reads endpoints (one per policy and mode, token types merged: a server
// lists each once per URL it advertises) and the certificate of the first that has one.
func endpointPosture(eps []*ua.EndpointDescription) (*driver.OPCUAPosture, error) {
	out := &driver.OPCUAPosture{}
	var cert []byte
	for _, e := range eps {
		if e == nil {
			continue
		}
		ep := driver.Endpoint{Policy: policyName(e.SecurityPolicyURI), Mode: modeName(e.SecurityMode)}
		for _, t := range e.UserIdentityTokens {
			if t != nil && !slices.Contains(ep.Tokens, tokenName(t.TokenType)) {
				ep.Tokens = append(ep.Tokens, tokenName(t.TokenType))
			}
		}
		i := slices.IndexFunc(out.Endpoints, func(x driver.Endpoint) bool { return x.Policy == ep.Policy && x.Mode == ep.Mode })
		if i < 0 {
			out.Endpoints = append(out.Endpoints, ep)
		} else {
			for _, t := range ep.Tokens {
				if !slices.Contains(out.Endpoints[i].Tokens, t) {
					out.Endpoints[i].Tokens = append(out.Endpoints[i].Tokens, t)
				}
			}
		}
		if cert == nil && len(e.ServerCertificate) > 0 {
			cert = e.ServerCertificate
		}
	}
	if cert != nil {
		f, err := driver.CertificateFacts(cert)
		if err != nil {
			return out, err
		}
		out.Certificate = f
	}
	return out, nil
}

func policyName(uri string) string {
	if uri == "" {
		return "None"
	}
	if i := strings.LastIndexByte(uri, '#'); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

func modeName(m ua.MessageSecurityMode) string {
	switch m {
	case ua.MessageSecurityModeNone:
		return "None"
	case ua.MessageSecurityModeSign:
		return "Sign"
	case ua.MessageSecurityModeSignAndEncrypt:
		return "SignAndEncrypt"
	}
	return "Invalid"
}

func tokenName(t ua.UserTokenType) string {
	switch t {
	case ua.UserTokenTypeAnonymous:
		return "Anonymous"
	case ua.UserTokenTypeUserName:
		return "UserName"
	case ua.UserTokenTypeCertificate:
		return "Certificate"
	case ua.UserTokenTypeIssuedToken:
		return "IssuedToken"
	}
	return fmt.Sprintf("token type %d", t)
}
