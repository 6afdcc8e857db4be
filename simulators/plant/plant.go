// Package plant holds the process models of the simulated controllers: a tank (analog process,
// alarms, interlock), a heater (PID loop) and a conveyor (discrete sequence).
//
// A model owns two kinds of state, as a real installation does: the physical process (the
// water in the tank survives a PLC restart) and the controller's process image, the tags a
// Modbus master or OPC UA client sees. Models are deterministic: all randomness comes from
// the *rand.Rand they are handed, all time from the scan period dt. Firmware differences
// reach a model only through Params, so profiles stay data.
package plant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/patchgate/patchgate/harness/point"
)

// Tag describes one tag of a model's process image.
type Tag struct {
	Name        string
	Type        point.Type
	Length      int // characters, for strings
	Unit        string
	Description string
	Writable    bool
	Retained    bool // kept across a restart by firmware that retains
	Default     point.Value
	Min, Max    float64 // accepted write range for numbers (both 0: any)
}

// Image is the process image: one value per tag, indexed as the model's Tags.
type Image struct {
	Tags   []Tag
	Values []point.Value
	index  map[string]int
}

// NewImage makes an image holding each tag's default.
func NewImage(tags []Tag) *Image {
	img := &Image{Tags: tags, Values: make([]point.Value, len(tags)), index: make(map[string]int, len(tags))}
	for i, t := range tags {
		img.index[t.Name] = i
		img.Values[i] = t.Default
	}
	return img
}

// Index returns the position of a tag.
func (img *Image) Index(name string) (int, bool) {
	i, ok := img.index[name]
	return i, ok
}

func (img *Image) F(i int) float64          { return img.Values[i].Float() }
func (img *Image) B(i int) bool             { return img.Values[i].Bool() }
func (img *Image) SetF(i int, f float64)    { img.Values[i] = point.Float(f) }
func (img *Image) SetB(i int, b bool)       { img.Values[i] = point.Bool(b) }
func (img *Image) SetU(i int, u uint64)     { img.Values[i] = point.Uint(u) }
func (img *Image) SetS(i int, s string)     { img.Values[i] = point.String(s) }
func (img *Image) U(i int) uint64           { u, _ := img.Values[i].Uint64(); return u }
func (img *Image) Set(i int, v point.Value) { img.Values[i] = v }

// Params are a model's tunable constants, by name. Firmware profiles override them.
type Params map[string]float64

// Get returns a parameter; a model asks only for names it declared, so a miss is a bug.
func (p Params) Get(name string) float64 {
	v, ok := p[name]
	if !ok {
		panic(fmt.Sprintf("plant: parameter %q not declared", name))
	}
	return v
}

// Model is one simulated process with its control program.
type Model interface {
	// Tags lists the process image; the same order every call.
	Tags() []Tag
	// Reset puts the physical process in its initial state and the image at power-on values.
	Reset(img *Image, rng *rand.Rand)
	// Randomize, called after Reset, moves the process and the image to a random valid
	// state, as a bench someone else left: every value within its range and consistent with
	// the others (no alarm without its cause, a pump only on an open outlet). It draws from
	// rng only, and from fixed ranges rather than the firmware's parameters, so a baseline
	// and a patched controller given the same seed start from the same plant.
	Randomize(img *Image, rng *rand.Rand)
	// Restart is a controller restart: outputs to their safe state, non-retained tags (or all,
	// when retain is false) to defaults; the physical process is untouched.
	Restart(img *Image, retain bool)
	// Scan runs one scan cycle of dt seconds: read inputs from the process, run the program,
	// write outputs, advance the process.
	Scan(img *Image, dt float64, rng *rand.Rand)
}

// Spec describes a model kind.
type Spec struct {
	Name        string
	Description string
	ScanPeriod  float64 // nominal scan period, seconds
	Defaults    Params  // every parameter the model reads, with its baseline value
	New         func(Params) Model
}

var registry = map[string]Spec{}

func register(s Spec) { registry[s.Name] = s }

// Lookup returns the model spec by name.
func Lookup(name string) (Spec, error) {
	s, ok := registry[name]
	if !ok {
		return Spec{}, fmt.Errorf("unknown model %q; expected one of %v", name, Names())
	}
	return s, nil
}

// Names lists the models, sorted.
func Names() []string {
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RestartDefaults sets tags to their defaults: all of them when retain is false, else only
// the non-retained ones. Models call it from Restart.
func RestartDefaults(img *Image, retain bool) {
	for i, t := range img.Tags {
		if t.Retained && retain {
			continue
		}
		if !t.Writable && !t.Retained {
			continue // measured values: the model recomputes them on the next scan
		}
		img.Values[i] = t.Default
	}
}

// noise returns zero-mean Gaussian measurement noise of standard deviation sd.
func noise(rng *rand.Rand, sd float64) float64 {
	if sd == 0 {
		return 0
	}
	return rng.NormFloat64() * sd
}

// uniform draws from lo..hi rounded to step (0: not rounded) and to float32, the precision
// the image's analog tags hold.
func uniform(rng *rand.Rand, lo, hi, step float64) float64 {
	x := lo + rng.Float64()*(hi-lo)
	if step > 0 {
		x = clamp(math.Round(x/step)*step, lo, hi)
	}
	return float64(float32(x))
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// Coaster is implemented by models whose process keeps moving while the controller is down
// for a restart (a heater cools with its output off). The controller calls Coast with the
// downtime before the first scan after it comes back.
type Coaster interface {
	Coast(dt float64)
}
