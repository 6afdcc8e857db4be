package register

import (
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
)

// AssetRole says what an asset is.
type AssetRole string

const (
	Bench      AssetRole = "bench"      // a test-bench controller or a simulated one
	Production AssetRole = "production" // a controller in the plant
)

// Asset is a controller the register knows: a bench target or the production controller
// it stands for.
type Asset struct {
	ID       int64           `json:"id"`
	Name     string          `json:"name"`
	Target   string          `json:"target"` // modbus://…, opc.tcp://…, sim://…
	Role     AssetRole       `json:"role"`
	Baseline driver.Identity `json:"baseline"` // the identity it is expected to report
	Created  time.Time       `json:"created"`
}

// Normalize trims a new asset, checks its role and target, and sets Created to now when
// zero. Names are unique in the register (the store checks).
func (a *Asset) Normalize() error {
	a.Name, a.Target = strings.TrimSpace(a.Name), strings.TrimSpace(a.Target)
	if a.Name == "" {
		return Invalid("no name")
	}
	if a.Role != Bench && a.Role != Production {
		return Invalid("role %q: expected %s or %s", a.Role, Bench, Production)
	}
	if _, err := driver.ParseTarget(a.Target); err != nil {
		return Invalid("%v", err)
	}
	a.Created = OrNow(a.Created)
	return nil
}

// AssetSubject is the audit subject of an asset: "asset:NAME".
func AssetSubject(name string) string { return "asset:" + name }
