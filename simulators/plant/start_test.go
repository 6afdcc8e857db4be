package plant

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
)

// randomStart builds model name from its defaults, resets it and randomizes it from seed.
func randomStart(t *testing.T, name string, seed uint64) (Model, *Image) {
	t.Helper()
	spec, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	m := spec.New(spec.Defaults)
	img := NewImage(m.Tags())
	m.Reset(img, rand.New(rand.NewPCG(1, 2)))
	m.Randomize(img, rand.New(rand.NewPCG(seed, 3)))
	return m, img
}

func imageString(img *Image) string {
	var b strings.Builder
	for i, t := range img.Tags {
		fmt.Fprintf(&b, "%s=%s ", t.Name, img.Values[i])
	}
	return b.String()
}

// validStart checks what a random start must hold for a model: beyond every tag having its
// type's kind and every writable number being within the range a write would accept.
var validStart = map[string]func(img *Image) error{
	"tank": func(img *Image) error {
		lvl := img.F(tankLevel)
		switch {
		case lvl < 12 || lvl > 85:
			return fmt.Errorf("level %g outside 12..85", lvl)
		case img.B(tankAlarmHigh) || img.B(tankAlarmLow) || img.B(tankInterlock):
			return fmt.Errorf("an alarm or the interlock at level %g", lvl)
		case img.B(tankPump) && !img.B(tankOutletValve):
			return fmt.Errorf("pump running on a closed outlet")
		case img.U(tankMode) == ModeAuto && img.B(tankInletValve) != (lvl < img.F(tankSetpoint)):
			return fmt.Errorf("auto: inlet %v at level %g, setpoint %g", img.B(tankInletValve), lvl, img.F(tankSetpoint))
		case img.B(tankInletValve) != (img.F(tankInflow) > 0):
			return fmt.Errorf("inlet %v with inflow %g", img.B(tankInletValve), img.F(tankInflow))
		}
		return nil
	},
	"heater": func(img *Image) error {
		temp := img.F(heaterTemperature)
		switch {
		case temp < 25 || temp > 110:
			return fmt.Errorf("temperature %g outside 25..110", temp)
		case img.B(heaterAlarmHigh):
			return fmt.Errorf("over-temperature alarm at %g C", temp)
		case img.B(heaterOn) != (img.F(heaterOutput) > 0):
			return fmt.Errorf("HeaterOn %v with output %g", img.B(heaterOn), img.F(heaterOutput))
		case img.U(heaterMode) == ModeManual && img.F(heaterOutput) != img.F(heaterManualOutput):
			return fmt.Errorf("manual: output %g, manual output %g", img.F(heaterOutput), img.F(heaterManualOutput))
		}
		return nil
	},
	"conveyor": func(img *Image) error {
		parts, rejects := img.U(convPartCount), img.U(convRejectCount)
		switch {
		case rejects > parts/4:
			return fmt.Errorf("%d rejects for %d parts", rejects, parts)
		case img.B(convMotor) != img.B(convRunning):
			return fmt.Errorf("motor %v, running %v", img.B(convMotor), img.B(convRunning))
		case img.B(convRunning) != (img.F(convSpeed) > 0):
			return fmt.Errorf("running %v at speed %g", img.B(convRunning), img.F(convSpeed))
		case img.B(convStart) || img.B(convStop) || img.B(convRejectGate) || img.B(convPartSensor):
			return fmt.Errorf("a command pending or a part at the sensor")
		}
		return nil
	},
}

// TestRandomStartValid: for every model, a random start is valid for many seeds, stays valid
// (no alarm raised, nothing out of range) through its first scans, and is the same for the
// same seed.
func TestRandomStartValid(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			check, ok := validStart[name]
			if !ok {
				t.Fatalf("no validity check for model %s: add one to validStart", name)
			}
			for seed := uint64(1); seed <= 200; seed++ {
				m, img := randomStart(t, name, seed)
				for i, tag := range img.Tags {
					v := img.Values[i]
					if v.Kind() != tag.Type.Kind() {
						t.Fatalf("seed %d: %s is a %s, want %s", seed, tag.Name, v.Kind(), tag.Type.Kind())
					}
					if tag.Writable && (tag.Min != 0 || tag.Max != 0) && (v.Float() < tag.Min || v.Float() > tag.Max) {
						t.Fatalf("seed %d: %s = %s outside %g..%g", seed, tag.Name, v, tag.Min, tag.Max)
					}
				}
				if err := check(img); err != nil {
					t.Fatalf("seed %d: %v\n%s", seed, err, imageString(img))
				}
				_, img2 := randomStart(t, name, seed)
				if a, b := imageString(img), imageString(img2); a != b {
					t.Fatalf("seed %d twice:\n%s\n%s", seed, a, b)
				}
				// the first scan finds nothing to alarm on: the state did not need it
				before := imageString(img)
				m.Scan(img, 0.010, rand.New(rand.NewPCG(seed, 4)))
				for i, tag := range img.Tags {
					alarm := strings.HasPrefix(tag.Name, "Alarm") || tag.Name == "Interlock"
					if alarm && tag.Type == point.TypeBool && img.B(i) {
						t.Fatalf("seed %d: %s raised by the first scan\nstart %s", seed, tag.Name, before)
					}
				}
				if i, ok := img.Index("AlarmCount"); ok && !strings.Contains(before, "AlarmCount="+img.Values[i].String()+" ") {
					t.Fatalf("seed %d: AlarmCount moved on the first scan\nstart %s\nnow   %s", seed, before, imageString(img))
				}
			}
		})
	}
}

// TestRandomStartDiffersAcrossSeeds: the random start is not the fixed start, and seeds give
// different plants.
func TestRandomStartDiffersAcrossSeeds(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			spec, _ := Lookup(name)
			m := spec.New(spec.Defaults)
			fixed := NewImage(m.Tags())
			m.Reset(fixed, rand.New(rand.NewPCG(1, 2)))
			seen := map[string]bool{}
			for seed := uint64(1); seed <= 20; seed++ {
				_, img := randomStart(t, name, seed)
				s := imageString(img)
				if s == imageString(fixed) {
					t.Errorf("seed %d: random start equals the fixed start", seed)
				}
				seen[s] = true
			}
			if len(seen) < 20 {
				t.Errorf("20 seeds gave %d distinct start states, want 20", len(seen))
			}
		})
	}
}

// TestRandomStartIgnoresFirmwareParams: the drawn plant does not depend on the parameters a
// firmware profile changes, so before and after controllers on one seed start alike.
func TestRandomStartIgnoresFirmwareParams(t *testing.T) {
	spec, _ := Lookup("tank")
	p := Params{}
	for k, v := range spec.Defaults {
		p[k] = v
	}
	p["alarm_high"] = 92
	p["noise"] = 0.5
	a := spec.New(spec.Defaults)
	b := spec.New(p)
	ia, ib := NewImage(a.Tags()), NewImage(b.Tags())
	for _, x := range []struct {
		m   Model
		img *Image
	}{{a, ia}, {b, ib}} {
		x.m.Reset(x.img, rand.New(rand.NewPCG(1, 2)))
		x.m.Randomize(x.img, rand.New(rand.NewPCG(9, 3)))
	}
	if sa, sb := imageString(ia), imageString(ib); sa != sb {
		t.Errorf("baseline and alarm-shifted tanks start differently on one seed:\n%s\n%s", sa, sb)
	}
}
