package workspace

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/telegraf"
)

// TestImportTelegrafReadsTheStation: the telegraf configuration that polls a controller
// becomes point maps in pointmaps/ and targets reading through them; the Modbus target then
// reads every point Good from the embedded station over the wire. A second import refuses
// to overwrite before writing anything.
func TestImportTelegrafReadsTheStation(t *testing.T) {
	w := openTest(t)
	st := w.Stations()[0]
	u, err := url.Parse(st.ModbusURL())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile("../../../harness/telegraf/testdata/tank.conf")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(conf), "tcp://127.0.0.1:5020", "tcp://"+u.Host, 1)
	text = strings.Replace(text, `name = "tank"`, `name = "line2"`, 1) // the workspace holds a tank.yaml
	file := filepath.Join(t.TempDir(), "telegraf.conf")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := w.ImportTelegraf(file, false, true)
	if err != nil {
		t.Fatal(err)
	}
	var modbus *Imported
	for i := range got {
		if _, err := os.Stat(filepath.Join(w.Dir, got[i].PointMap)); err != nil {
			t.Errorf("%s: %v", got[i].PointMap, err)
		}
		if got[i].Plugin == "inputs.modbus" {
			modbus = &got[i]
		}
	}
	if modbus == nil || modbus.Target == nil || modbus.Target.PointMap != "pointmaps/line2.yaml" {
		t.Fatalf("imported %+v", got)
	}
	r, err := w.Test(t.Context(), *modbus.Target)
	if err != nil || r.Bad != 0 || len(r.Readings) != modbus.Points {
		t.Errorf("the imported target: %v, %d of %d Bad (want %d points)", err, r.Bad, len(r.Readings), modbus.Points)
	}
	if _, _, err := w.ImportTelegraf(file, false, false); !errors.Is(err, telegraf.ErrExists) {
		t.Errorf("second import: %v; want ErrExists", err)
	}
}
