// Package trace holds what a run records: timestamped samples per tag with their lateness
// against the intended sampling slot and their quality, events (steps, marks, writes,
// connection gaps, missed slots, faults), identities and protocol statistics. It is plain
// data: the runner fills it, the ledger stores it, compare reads it.
package trace

import (
	"math"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
)

// Status of a run.
type Status string

const (
	Running    Status = "running"
	Completed  Status = "completed"
	Aborted    Status = "aborted"    // stopped by the operator or a watchdog; values restored
	Faulted    Status = "faulted"    // the run could not go on (connection lost for good, write refused)
	Incomplete Status = "incomplete" // found still running when the store was opened again (crash)
)

// Run is one execution of a scenario on a target.
type Run struct {
	ID           int64             `json:"run_id"`
	Scenario     string            `json:"scenario"`
	ScenarioFile string            `json:"scenario_file,omitempty"`
	ScenarioHash string            `json:"scenario_sha256,omitempty"`
	PointMap     string            `json:"point_map"`
	Target       string            `json:"target"`
	Repetition   int               `json:"repetition"`
	Status       Status            `json:"status"`
	Started      time.Time         `json:"started"`
	Ended        time.Time         `json:"ended,omitempty"`
	TimeMode     string            `json:"time_mode"` // "real" or "simulated"
	Period       time.Duration     `json:"period_ns"`
	Tags         []string          `json:"tags"` // sampled tags; Sample.Tag indexes this
	Armed        bool              `json:"armed"`
	IdentityPre  driver.Identity   `json:"identity_start"`
	IdentityPost driver.Identity   `json:"identity_end"`
	Stats        driver.Stats      `json:"protocol_stats"`
	Fault        string            `json:"fault,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
}

// MetaWallStarted is the Meta key of a simulated-time run's wall-clock start (RFC 3339, UTC):
// its Started is on the simulated clock.
const MetaWallStarted = "wall_started"

// MetaPosture is the Meta key of the security posture collected at the run's start, as the
// JSON of a driver.Posture; MetaPostureError says why it is missing.
const (
	MetaPosture      = "posture"
	MetaPostureError = "posture_error"
)

// Sample is one reading of one tag in one sampling slot.
type Sample struct {
	Slot    int64          // the intended slot: intended time = run start + Slot*Period
	Tag     uint16         // index into Run.Tags
	T       int64          // when the value was read, ns since run start
	Late    int64          // ns after the intended time the read was issued
	Quality driver.Quality // Good, Bad or Missing
	Value   float64        // numeric view (bools 0/1); NaN when not Good or a string
	Text    string         // string values
}

// Missing reports whether the sample carries no usable value.
func (s Sample) Missing() bool {
	return s.Quality != driver.Good || (math.IsNaN(s.Value) && s.Text == "")
}

// EventKind says what an event is.
type EventKind string

const (
	EvStepStart  EventKind = "step_start"
	EvStepEnd    EventKind = "step_end"
	EvMark       EventKind = "mark"
	EvWrite      EventKind = "write"
	EvRestore    EventKind = "restore"
	EvMissed     EventKind = "missed"    // a sampling slot that was not taken
	EvGapStart   EventKind = "gap_start" // connection lost
	EvGapEnd     EventKind = "gap_end"   // connection back
	EvFault      EventKind = "fault"
	EvAbort      EventKind = "abort"
	EvCheck      EventKind = "check" // expect / wait_until outcome; Value "pass" or "fail"
	EvRoundTrip  EventKind = "round_trip"
	EvIdentity   EventKind = "identity"
	EvDryRun     EventKind = "dry_run"
	EvArmed      EventKind = "armed"
	EvTransition EventKind = "transition" // a discrete tag changed value
	EvLoad       EventKind = "load"       // one read of a load probe: Tag the probe, Value the latency in s or "error"
	EvRestart    EventKind = "restart"    // an operator's restart confirmed (Value: who) or the controller back
)

// Event is something that happened during a run.
type Event struct {
	T     int64     `json:"t_ns"` // ns since run start
	Kind  EventKind `json:"kind"`
	Step  int       `json:"step,omitempty"`
	Tag   string    `json:"tag,omitempty"`
	Value string    `json:"value,omitempty"`
	Msg   string    `json:"msg,omitempty"`
}

// Trace is a whole run in memory.
type Trace struct {
	Run     Run
	Samples []Sample
	Events  []Event
}
