package compare_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

func TestScratch(t *testing.T) {
	scn := os.Getenv("SCN")
	if scn == "" {
		t.Skip()
	}
	sc, err := scenario.Load("../../scenarios/"+scn, "")
	if err != nil {
		t.Fatal(err)
	}
	run := func(u string) *trace.Trace {
		tg, err := driver.ParseTarget(u)
		if err != nil {
			t.Fatal(err)
		}
		res, err := runner.Run(context.Background(), sc, runner.Options{Target: tg})
		if err != nil {
			t.Log(err)
		}
		return res.Trace
	}
	b := run(os.Getenv("BEFORE"))
	a := run(os.Getenv("AFTER"))
	cr := compare.Compare(sc, []*trace.Trace{b}, []*trace.Trace{a}, compare.Patch{})
	o, rs := verdict.Decide(cr, sc.MajorIsNoGo)
	js, _ := json.MarshalIndent(cr, "", "  ")
	if os.Getenv("JSON") != "" {
		fmt.Println(string(js))
	}
	fmt.Println(o)
	for _, r := range rs {
		fmt.Println(r)
	}
}
