package gui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/harness/runner"
)

// restartTimeout is how long the restart dialog waits for the operator before the run
// faults (INCONCLUSIVE): the CLI's --restart-timeout default.
const restartTimeout = 10 * time.Minute

// errRestartAborted is the cause of a validation the operator aborted at the restart dialog.
var errRestartAborted = errors.New("the operator pressed Abort at the restart dialog")

// restartDialog is the question a restart step asks while it is shown.
type restartDialog struct {
	req  runner.RestartRequest
	d    *dialog.ConfirmDialog
	left *widget.Label // the countdown
}

// askRestart is the Validate tab's runner.OperatorRestart: on a controller the harness
// cannot restart, a restart step shows a dialog ("Restart the controller now, then
// Continue") with a countdown. Continue confirms (the workspace's actor is recorded as who
// did), Abort aborts the validation, the countdown's end faults the run. It runs on the
// validation's goroutine (abort cancels the validation); the dialog lives on the Fyne
// goroutine.
func (v *validateView) askRestart(ctx context.Context, req runner.RestartRequest, abort context.CancelCauseFunc) (runner.RestartConfirmation, error) {
	answer := make(chan bool, 1)
	deadline := time.Now().Add(restartTimeout)
	v.ui.do(func() { v.showRestart(req, deadline, answer) })
	defer v.ui.do(v.hideRestart)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	timeout := time.NewTimer(restartTimeout)
	defer timeout.Stop()
	for {
		select {
		case ok := <-answer:
			if !ok {
				abort(errRestartAborted) // before the runner sees the answer: the run is aborted
				v.ui.do(func() { v.step.SetText("aborting: restoring the values captured before the test…") })
				return runner.RestartConfirmation{}, errRestartAborted
			}
			return runner.RestartConfirmation{How: "operator at the desktop dialog"}, nil
		case <-timeout.C:
			return runner.RestartConfirmation{}, fmt.Errorf("no answer at the restart dialog within %s", restartTimeout)
		case <-ctx.Done():
			return runner.RestartConfirmation{}, context.Cause(ctx)
		case <-tick.C:
			left := countdown(time.Until(deadline))
			v.ui.do(func() {
				if v.restart != nil {
					v.restart.left.SetText(left)
				}
			})
		}
	}
}

func countdown(d time.Duration) string {
	return fmt.Sprintf("%s left to answer; then the run stops, INCONCLUSIVE", max(d, 0).Round(time.Second))
}

func (v *validateView) showRestart(req runner.RestartRequest, deadline time.Time, answer chan<- bool) {
	v.hideRestart()
	what := fmt.Sprintf("Step %d of %s, %s run %d, on\n%s", req.Step, req.Scenario, req.Side, req.Repetition, req.Target)
	msg := widget.NewLabel(what + "\n\nRestart the controller now, then Continue. The run keeps sampling, and goes on once the controller has gone away and answers again.")
	msg.Wrapping = fyne.TextWrapWord
	left := widget.NewLabel(countdown(time.Until(deadline)))
	r := &restartDialog{req: req, left: left}
	r.d = dialog.NewCustomConfirm("Restart the controller", "Continue", "Abort", container.NewVBox(msg, left), func(ok bool) {
		if v.restart == r {
			v.restart = nil
		}
		select {
		case answer <- ok: // the first answer is the one taken
		default:
		}
	}, v.ui.win)
	r.d.Resize(fyne.NewSize(560, 260))
	v.restart = r
	r.d.Show()
	v.step.SetText(fmt.Sprintf("%s run %d: waiting for the operator to restart %s", req.Side, req.Repetition, req.Target))
}

// hideRestart closes the restart dialog still shown (its run ended, timed out or aborted).
func (v *validateView) hideRestart() {
	if r := v.restart; r != nil {
		v.restart = nil
		r.d.Hide()
	}
}
