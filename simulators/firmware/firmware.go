// Package firmware holds the firmware profiles of the simulated controllers as data
// (profiles.yaml): a baseline, a benign patch and regressions per model. A profile changes a
// controller only through the fields below, never through branches in the models, and says
// in its description what it changes and by how much.
package firmware

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/patchgate/patchgate/harness/yamlfile"
	"github.com/patchgate/patchgate/simulators/simopt"
)

// Kind says what a profile is for.
type Kind string

const (
	Baseline   Kind = "baseline"   // the firmware before the patch
	Benign     Kind = "benign"     // a patch that must be judged GO
	Regression Kind = "regression" // a patch that breaks something and must be judged NO-GO
)

// Profile is one firmware version of one model.
type Profile struct {
	Model       string             `yaml:"model" json:"model"`
	Name        string             `yaml:"name" json:"name"`
	Kind        Kind               `yaml:"kind" json:"kind"`
	Version     string             `yaml:"version" json:"version"`
	Description string             `yaml:"description" json:"description"`
	Breaks      string             `yaml:"breaks,omitempty" json:"breaks,omitempty"`             // the criterion a validation must name
	Scan        string             `yaml:"scan,omitempty" json:"scan,omitempty"`                 // nominal scan period ("50ms"); empty: the model's; see ScanPeriod
	ScanFactor  float64            `yaml:"scan_factor,omitempty" json:"scan_factor,omitempty"`   // scan period multiplier (1.05: 5 % slower)
	ScanGrowth  float64            `yaml:"scan_growth,omitempty" json:"scan_growth,omitempty"`   // extra fraction of the period added per minute of uptime (slow leak)
	ScanJitter  float64            `yaml:"scan_jitter,omitempty" json:"scan_jitter,omitempty"`   // standard deviation of each scan's period, fraction of the period
	Params      map[string]float64 `yaml:"params,omitempty" json:"params,omitempty"`             // model parameter overrides
	Moved       map[string]int     `yaml:"moved,omitempty" json:"moved,omitempty"`               // tag -> new Modbus address
	LosesRetain bool               `yaml:"loses_retain,omitempty" json:"loses_retain,omitempty"` // retained values lost on restart
	// CommCapacity is how many requests a second the communication task serves, with a
	// burst of a fifth of a second's worth; beyond it requests queue (0: no limit).
	CommCapacity float64 `yaml:"comm_capacity,omitempty" json:"comm_capacity,omitempty"`
	// Security posture (docs/architecture.md, section Security posture): what the station
	// exposes beside its process data. OpenPorts are extra TCP ports it listens on (a debug
	// shell); InsecureEndpoint adds the OPC UA endpoint None/None with anonymous login; Cert
	// replaces the server certificate's key size, signature hash and validity.
	OpenPorts        []int     `yaml:"open_ports,omitempty" json:"open_ports,omitempty"`
	InsecureEndpoint bool      `yaml:"insecure_endpoint,omitempty" json:"insecure_endpoint,omitempty"`
	Cert             *CertSpec `yaml:"cert,omitempty" json:"cert,omitempty"`
	// ExtraCodes are read-only Modbus function codes the firmware answers beside 1 to 4,
	// which the baseline refuses with exception 01; the Modbus server implements 17 (Report
	// Server ID) only.
	ExtraCodes []int `yaml:"extra_codes,omitempty" json:"extra_codes,omitempty"`
}

// ExtraCodesImplemented are the function codes a profile may list in extra_codes.
var ExtraCodesImplemented = []int{17}

// CertSpec is the server certificate a firmware makes for itself.
type CertSpec struct {
	Bits int    `yaml:"bits" json:"bits"` // RSA key size
	Hash string `yaml:"hash" json:"hash"` // sha1 or sha256
	Days int    `yaml:"days" json:"days"` // validity
}

// DefaultCert is the certificate of a firmware that does not say: RSA 2048, SHA-256, ten
// years, as the OPC UA server makes it.
var DefaultCert = CertSpec{Bits: 2048, Hash: "sha256", Days: 3650}

// Certificate is the profile's server certificate.
func (p Profile) Certificate() CertSpec {
	if p.Cert == nil {
		return DefaultCert
	}
	return *p.Cert
}

// ScanPeriod is the profile's nominal scan period before scan_factor: its scan, or 0 for
// the model's own. Parse has checked the shipped profiles; the error is for one built by hand.
func (p Profile) ScanPeriod() (time.Duration, error) {
	if p.Scan == "" {
		return 0, nil
	}
	d, err := simopt.ParseScan(p.Scan)
	if err != nil {
		return 0, fmt.Errorf("firmware %s/%s: %w", p.Model, p.Name, err)
	}
	return d, nil
}

type file struct {
	Version  int       `yaml:"version"`
	Profiles []Profile `yaml:"profiles"`
}

//go:embed profiles.yaml
var profilesYAML []byte

var all []Profile

func init() {
	ps, err := Parse("profiles.yaml", profilesYAML)
	if err != nil {
		panic(fmt.Sprintf("firmware: shipped profiles do not load: %v", err)) // a build defect, caught by every test
	}
	all = ps
}

// Parse reads a profiles file.
func Parse(name string, data []byte) ([]Profile, error) {
	var f file
	if err := yamlfile.Decode(name, data, &f); err != nil {
		return nil, err
	}
	var errs []error
	if f.Version != 1 {
		errs = append(errs, yamlfile.At("$.version", "version %d; expected version: 1", f.Version))
	}
	seen := map[string]bool{}
	for i := range f.Profiles {
		p := &f.Profiles[i]
		at := fmt.Sprintf("$.profiles[%d]", i)
		if p.ScanFactor == 0 {
			p.ScanFactor = 1
		}
		switch p.Kind {
		case Baseline, Benign, Regression:
		default:
			errs = append(errs, yamlfile.At(at+".kind", "kind %q; expected baseline, benign or regression", p.Kind))
		}
		key := p.Model + "/" + p.Name
		if seen[key] {
			errs = append(errs, yamlfile.At(at+".name", "profile %s defined twice", key))
		}
		seen[key] = true
		if p.ScanFactor <= 0 || p.ScanGrowth < 0 || p.ScanJitter < 0 || p.CommCapacity < 0 {
			errs = append(errs, yamlfile.At(at, "scan_factor must be > 0, scan_growth, scan_jitter and comm_capacity >= 0"))
		}
		for _, port := range p.OpenPorts {
			if port < 1 || port > 65535 {
				errs = append(errs, yamlfile.At(at+".open_ports", "port %d; expected a TCP port from 1 to 65535", port))
			}
		}
		for _, fc := range p.ExtraCodes {
			if !slices.Contains(ExtraCodesImplemented, fc) {
				errs = append(errs, yamlfile.At(at+".extra_codes", "function code %d; expected 17 (Report Server ID), the only extra read code the simulated Modbus server implements", fc))
			}
		}
		if c := p.Cert; c != nil && (c.Bits < 1024 || c.Bits > 8192 || (c.Hash != "sha1" && c.Hash != "sha256") || c.Days < 1) {
			errs = append(errs, yamlfile.At(at+".cert", "cert %+v; expected bits 1024..8192, hash sha1 or sha256, days at least 1", *c))
		}
		if p.Scan != "" {
			if _, err := simopt.ParseScan(p.Scan); err != nil {
				errs = append(errs, yamlfile.At(at+".scan", "%v", err))
			}
		}
		if p.Description == "" || p.Version == "" {
			errs = append(errs, yamlfile.At(at, "a profile needs a version and a description of what it changes"))
		}
	}
	if err := yamlfile.LocateBytes(name, data, errors.Join(errs...)); err != nil {
		return nil, err
	}
	return f.Profiles, nil
}

// All returns every shipped profile, by model then in file order.
func All() []Profile {
	out := append([]Profile(nil), all...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// ForModel lists a model's profiles in file order.
func ForModel(model string) []Profile {
	var out []Profile
	for _, p := range all {
		if p.Model == model {
			out = append(out, p)
		}
	}
	return out
}

// Lookup finds a profile; an empty name means the model's baseline.
func Lookup(model, name string) (Profile, error) {
	var names []string
	for _, p := range all {
		if p.Model != model {
			continue
		}
		if (name == "" && p.Kind == Baseline) || p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	if names == nil {
		return Profile{}, fmt.Errorf("no firmware profiles for model %q", model)
	}
	return Profile{}, fmt.Errorf("model %s has no firmware %q; expected one of %v", model, name, names)
}
