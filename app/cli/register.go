package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/pgstore"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"
)

const registerUsage = `usage: patchgate register SUBCOMMAND [flags]

subcommands:
  add      enter a patch (state identified)
  list     list patches with their state and 35-day evaluation clock
  show     show a patch: validations, verdicts, sign-offs, test-vs-production differences, audit
  state    move a patch to another state: state ID NEWSTATE [--plan --review-date ...]
  signoff  sign a validation: --validation ID --name --role --decision [--rationale]
  export   write a validation's evidence bundle with its sign-offs: --validation ID -o FILE
  verify   check the audit trail's hash chain (exit 1 when broken)
  setup    create a shared register in PostgreSQL (run once, as its owner): --register URL --app-role ROLE
  push     copy this bench's register (--db) into a shared one: --to URL (again: copies only what is new)

Every subcommand takes --db FILE or --register postgres://USER@HOST/DB (default: $PATCHGATE_REGISTER),
and --json; 'patchgate register SUBCOMMAND -h' shows its flags.
Dates are YYYY-MM-DD, times YYYY-MM-DDTHH:MM, both local; or RFC 3339.
`

// runRegister is `patchgate register`: the patch register on the command line.
func runRegister(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		io.WriteString(env.Stderr, registerUsage)
		return badInput("expected a subcommand: add, list, show, state, signoff, export, verify, setup or push")
	}
	sub := map[string]func(context.Context, Env, []string) error{
		"add": registerAdd, "list": registerList, "show": registerShow,
		"state": registerState, "signoff": registerSignOff, "export": registerExport, "verify": registerVerify,
		"setup": registerSetup, "push": registerPush,
	}[args[0]]
	switch {
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
		printHelp(env.Stdout, "register", nil)
		return flag.ErrHelp
	case sub == nil:
		io.WriteString(env.Stderr, registerUsage)
		return badInput("unknown subcommand %q", args[0])
	}
	return sub(ctx, env, args[1:])
}

// registerFlags holds the flags every subcommand has.
type registerFlags struct {
	env    Env
	fs     *flag.FlagSet
	db     *string
	reg    *string
	asJSON *bool
}

func newRegisterFlags(env Env, sub string) registerFlags {
	fs := newFlags(env, "register "+sub)
	return registerFlags{
		env:    env,
		fs:     fs,
		db:     fs.String("db", "patchgate.db", "SQLite file holding traces and the register"),
		reg:    registerFlag(fs),
		asJSON: fs.Bool("json", false, "print JSON on stdout"),
	}
}

// parseInterspersed parses flags placed anywhere among the positional arguments, as git
// and kubectl take them, and returns the positional ones in order.
func parseInterspersed(fs *flag.FlagSet, env Env, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, env, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// parse parses flags placed anywhere among the positional arguments and checks that
// there are exactly n of those.
func (f registerFlags) parse(args []string, n int, names string) ([]string, error) {
	pos, err := parseInterspersed(f.fs, f.env, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		if n == 0 {
			return nil, badInput("unexpected argument %q", pos[0])
		}
		return nil, badInput("expected %s, got %d arguments; usage: patchgate %s %s [flags]", names, len(pos), f.fs.Name(), names)
	}
	return pos, nil
}

// registerFlag is --register, the shared register in PostgreSQL; its default is
// $PATCHGATE_REGISTER.
func registerFlag(fs *flag.FlagSet) *string {
	return fs.String("register", "",
		"PostgreSQL URL of a shared register, postgres://USER@HOST/DB (default $PATCHGATE_REGISTER); none: the register in --db")
}

// sharedURL is the --register value, else $PATCHGATE_REGISTER ("" for neither).
func sharedURL(flagValue string) string { return cmp.Or(flagValue, os.Getenv("PATCHGATE_REGISTER")) }

// openShared opens the shared register at rawURL: a URL that is not postgres:// is bad
// input, a server that does not answer a tool error (exit 4).
func openShared(ctx context.Context, rawURL string) (register.Store, error) {
	if !pgstore.IsURL(rawURL) {
		return nil, badInput("--register %s: expected a PostgreSQL URL, postgres://USER@HOST/DB", pgstore.Redact(rawURL))
	}
	return pgstore.Open(ctx, rawURL)
}

// open opens the register: the shared one with --register, else the ledger file, which
// only add may create.
func (f registerFlags) open(ctx context.Context, create bool) (register.Store, error) {
	if u := sharedURL(*f.reg); u != "" {
		return openShared(ctx, u)
	}
	if !create {
		if _, err := os.Stat(*f.db); err != nil {
			return nil, badInput("--db %s: %v", *f.db, err)
		}
	}
	return ledger.Open(ctx, *f.db)
}

// where names the register opened, for messages: the URL without its password, or the file.
func (f registerFlags) where() string {
	if u := sharedURL(*f.reg); u != "" {
		return pgstore.Redact(u)
	}
	return *f.db
}

// registerSetup is `register setup`: creates the shared register's tables in PostgreSQL,
// owned by the role in the URL, and grants the application's role (--app-role) what the
// benches need (read, add, change a patch's state; SELECT and INSERT only on the audit trail).
func registerSetup(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "register setup")
	reg := fs.String("register", "", "PostgreSQL URL as the owner role, postgres://OWNER@HOST/DB (default $PATCHGATE_REGISTER)")
	app := fs.String("app-role", "", "the role benches connect as (must exist; it must not be the owner)")
	if _, err := parseInterspersed(fs, env, args); err != nil {
		return err
	}
	*reg = sharedURL(*reg)
	if !pgstore.IsURL(*reg) {
		return badInput("--register %q: expected the owner's PostgreSQL URL, postgres://OWNER@HOST/DB", pgstore.Redact(*reg))
	}
	if *app == "" {
		return badInput("--app-role: name the role the benches connect as")
	}
	if err := pgstore.Setup(ctx, *reg, *app); err != nil {
		return registerErr(err)
	}
	fmt.Fprintf(env.Stdout, "register ready at %s; benches connect as %s: patchgate register list --register postgres://%s@HOST/DB\n",
		pgstore.Redact(*reg), *app, *app)
	return nil
}

// registerPush is `register push`: copies the register in --db into the shared one at
// --to (pgstore.Push): idempotent, one transaction, refused whole when the registers hold
// different patches or validations under one id.
func registerPush(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "push")
	to := f.fs.String("to", "", "PostgreSQL URL of the shared register, postgres://USER@HOST/DB (default $PATCHGATE_REGISTER)")
	actor := f.fs.String("actor", "", "who pushes, for the audit trail (default: the user logged in)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	*f.reg = "" // the source is the file
	target := sharedURL(*to)
	if target == "" {
		return badInput("--to: name the shared register, postgres://USER@HOST/DB")
	}
	local, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer local.Close()
	snap, err := register.ReadSnapshot(ctx, local)
	if err != nil {
		return fmt.Errorf("%s: %w", *f.db, err)
	}
	shared, err := openShared(ctx, target)
	if err != nil {
		return err
	}
	defer shared.Close()
	rep, err := shared.(*pgstore.Store).Push(ctx, snap, cmp.Or(*actor, validation.Actor()))
	if errors.Is(err, pgstore.ErrConflict) {
		return usageError{err}
	}
	if err != nil {
		return registerErr(err)
	}
	if *f.asJSON {
		return printJSON(env.Stdout, rep)
	}
	if rep.Rows == 0 && rep.Patches+rep.States+rep.Validation+rep.SignOffs+rep.Assets == 0 {
		fmt.Fprintf(env.Stdout, "nothing new to push: %s is already in %s\n", *f.db, pgstore.Redact(target))
	} else {
		fmt.Fprintf(env.Stdout, "pushed %s into %s: %d patches, %d states, %d validations, %d sign-offs, %d assets, %d audit rows\n",
			*f.db, pgstore.Redact(target), rep.Patches, rep.States, rep.Validation, rep.SignOffs, rep.Assets, rep.Rows)
	}
	for _, k := range rep.Kept {
		fmt.Fprintf(env.Stderr, "both registers changed %s; the later change stays\n", k)
	}
	for _, r := range rep.Renumbered {
		fmt.Fprintf(env.Stdout, "  renumbered %s: the shared register had another under the bench's id (its records and bundles keep the bench's id)\n", r)
	}
	return nil
}

// registerErr makes the register's refusals (bad input, illegal transition, unknown id,
// duplicate) exit 2.
func registerErr(err error) error {
	for _, e := range []error{register.ErrInvalid, register.ErrIllegalTransition, ledger.ErrNotFound, register.ErrExists} {
		if errors.Is(err, e) {
			return usageError{err}
		}
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// words turns "not qualified" or "no-go" into the register's "not_qualified", "no_go".
func words(s string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
}

var whenLayouts = []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// parseWhen reads a date or time flag: local date or time, or RFC 3339. Empty is zero.
func parseWhen(name, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range whenLayouts {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badInput("--%s %q: expected a date YYYY-MM-DD, a local time YYYY-MM-DDTHH:MM, or RFC 3339", name, s)
}

func localDate(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateOnly)
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// patchView is a patch as the CLI prints it: with its clock and the states it may go to.
type patchView struct {
	register.Patch
	Clock register.Clock   `json:"clock"`
	Next  []register.State `json:"next"`
}

func viewPatch(p register.Patch, now time.Time) patchView {
	return patchView{Patch: p, Clock: p.Clock(now), Next: nonNilStates(register.Next(p.State))}
}

func nonNilStates(s []register.State) []register.State {
	if s == nil {
		return []register.State{}
	}
	return s
}

// cveList collects --cve flags, each one CVE or a comma-separated list.
type cveList []string

func (c *cveList) String() string { return strings.Join(*c, ",") }
func (c *cveList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*c = append(*c, v)
		}
	}
	return nil
}

func registerAdd(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "add")
	fs := f.fs
	var p register.Patch
	var cves cveList
	fs.StringVar(&p.ID, "id", "", "patch id (default: the next P-YEAR-NNN)")
	fs.StringVar(&p.Supplier, "supplier", "", "supplier (required)")
	fs.StringVar(&p.Product, "product", "", "product (required)")
	fs.StringVar(&p.FromVersion, "from", "", "affected version(s)")
	fs.StringVar(&p.ToVersion, "to", "", "version the patch brings")
	typ := fs.String("type", "", "security, bugfix, reliability or feature (required; security runs the 35-day clock)")
	fs.Var(&cves, "cve", "CVE id; repeat the flag or separate with commas")
	fs.StringVar(&p.Advisory, "advisory", "", "advisory URL or id")
	fs.StringVar(&p.FileSHA256, "sha256", "", "SHA-256 of the patch file")
	fs.BoolVar(&p.SignatureChecked, "signature-checked", false, "the patch file's signature was checked (say by whom and how in --signature-note)")
	fs.StringVar(&p.SignatureNote, "signature-note", "", "who checked the signature, and how")
	qual := fs.String("qualification", "unknown", "the vendor's qualification: qualified, not_qualified or unknown")
	fs.StringVar(&p.Notes, "notes", "", "notes")
	identified := fs.String("identified", "", "release or identification date; starts the 35-day clock (default: today)")
	actor := fs.String("actor", "", "who enters it, for the audit trail (default: the user logged in)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	p.Type, p.Qualification, p.CVEs = register.PatchType(words(*typ)), register.Qualification(words(*qual)), cves
	var err error
	if p.Identified, err = parseWhen("identified", *identified); err != nil {
		return err
	}
	now := time.Now()
	p.Created = now
	if !p.Identified.IsZero() && p.Identified.After(now) {
		return badInput("--identified %s is in the future", localDate(p.Identified))
	}
	db, err := f.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err = db.AddPatch(ctx, p, cmp.Or(*actor, validation.Actor()))
	if err != nil {
		return registerErr(err)
	}
	v := viewPatch(p, now)
	if *f.asJSON {
		return printJSON(env.Stdout, v)
	}
	fmt.Fprintf(env.Stdout, "added %s: %s %s %s, %s; state %s\n", p.ID, p.Supplier, p.Product, fromTo(p), p.Type, p.State)
	if v.Clock.Applies {
		fmt.Fprintf(env.Stdout, "  35-day evaluation: %s (identified %s, due %s)\n", v.Clock, localDate(p.Identified), v.Clock.Due.Format(time.DateOnly))
	}
	return nil
}

func fromTo(p register.Patch) string {
	from, to := p.FromVersion, p.ToVersion
	if from == "" {
		from = "?"
	}
	if to == "" {
		to = "?"
	}
	return from + " -> " + to
}

func registerList(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "list")
	states := f.fs.String("state", "", "only patches in these states (comma-separated)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	var filter []register.State
	for _, s := range strings.Split(*states, ",") {
		if s = words(s); s == "" {
			continue
		}
		st, err := register.ParseState(s)
		if err != nil {
			return usageError{fmt.Errorf("--state: %w", err)}
		}
		filter = append(filter, st)
	}
	db, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	ps, err := db.Patches(ctx, filter...)
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]patchView, 0, len(ps))
	for _, p := range ps {
		views = append(views, viewPatch(p, now))
	}
	if *f.asJSON {
		return printJSON(env.Stdout, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(env.Stdout, "no patches in the register")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRODUCT\tFROM -> TO\tTYPE\tSTATE\t35-DAY CLOCK")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Product, fromTo(v.Patch), v.Type, v.State, v.Clock)
	}
	return tw.Flush()
}

// validationView is a validation with its sign-offs.
type validationView struct {
	register.Validation
	SignOffs []register.SignOff `json:"signoffs"`
}

// showView is what `register show --json` prints.
type showView struct {
	Patch       patchView           `json:"patch"`
	Validations []validationView    `json:"validations"`
	Audit       []register.AuditRow `json:"audit"`
}

func registerShow(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "show")
	pos, err := f.parse(args, 1, "ID")
	if err != nil {
		return err
	}
	db, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := db.Patch(ctx, pos[0])
	if err != nil {
		return registerErr(err)
	}
	vs, err := db.Validations(ctx, p.ID)
	if err != nil {
		return err
	}
	sv := showView{Patch: viewPatch(p, time.Now()), Validations: []validationView{}}
	for _, v := range vs {
		ss, err := db.SignOffs(ctx, v.ID)
		if err != nil {
			return err
		}
		if ss == nil {
			ss = []register.SignOff{}
		}
		sv.Validations = append(sv.Validations, validationView{Validation: v, SignOffs: ss})
	}
	if sv.Audit, err = db.PatchAudit(ctx, p.ID); err != nil {
		return err
	}
	if *f.asJSON {
		return printJSON(env.Stdout, sv)
	}
	printShow(env.Stdout, sv)
	return nil
}

func printShow(w io.Writer, sv showView) {
	p, c := sv.Patch, sv.Patch.Clock
	fmt.Fprintf(w, "patch %s: %s %s %s (%s)\n", p.ID, p.Supplier, p.Product, fromTo(p.Patch), p.Type)
	fmt.Fprintf(w, "  state           %s since %s; next: %s\n", p.State, localTime(p.StateChanged), orNone(statesText(p.Next)))
	fmt.Fprintf(w, "  CVEs            %s\n", orNone(strings.Join(p.CVEs, ", ")))
	fmt.Fprintf(w, "  advisory        %s\n", orNone(p.Advisory))
	fmt.Fprintf(w, "  file SHA-256    %s\n", orNone(p.FileSHA256))
	if p.SignatureChecked {
		fmt.Fprintf(w, "  signature       checked: %s\n", p.SignatureNote)
	} else {
		fmt.Fprintf(w, "  signature       NOT checked%s\n", prefixed("; ", p.SignatureNote))
	}
	fmt.Fprintf(w, "  qualification   %s (vendor)\n", p.Qualification)
	fmt.Fprintf(w, "  identified      %s; entered %s\n", localDate(p.Identified), localTime(p.Created))
	if c.Applies {
		fmt.Fprintf(w, "  35-day clock    %s (due %s)\n", c, c.Due.Format(time.DateOnly))
	} else {
		fmt.Fprintf(w, "  35-day clock    - (applies to security patches)\n")
	}
	if p.MitigationPlan != "" {
		fmt.Fprintf(w, "  mitigation plan %s (review %s)\n", p.MitigationPlan, localDate(p.ReviewDate))
	}
	if !p.WindowStart.IsZero() {
		fmt.Fprintf(w, "  window          %s to %s\n", localTime(p.WindowStart), localTime(p.WindowEnd))
	}
	if p.SupersededBy != "" {
		fmt.Fprintf(w, "  superseded by   %s\n", p.SupersededBy)
	}
	if p.Notes != "" {
		fmt.Fprintf(w, "  notes           %s\n", p.Notes)
	}
	fmt.Fprintf(w, "\nvalidations (%d)\n", len(sv.Validations))
	for _, v := range sv.Validations {
		fmt.Fprintf(w, "  %s  %s  %s  verdict %s (computed)\n", v.ID, localTime(v.Created), v.Scenario, v.Verdict)
		fmt.Fprintf(w, "    runs            before %s, after %s\n", runList(v.BeforeRuns), runList(v.AfterRuns))
		for _, r := range v.Record.Reasons {
			fmt.Fprintf(w, "    reason          %s\n", r)
		}
		if v.Bundle != "" || v.BundleSHA256 != "" {
			fmt.Fprintf(w, "    bundle          %s%s\n", orNone(v.Bundle), prefixed(" sha256 ", v.BundleSHA256))
		}
		fmt.Fprintf(w, "    record sha256   %s\n", v.RecordSHA256)
		if len(v.Differences) == 0 {
			fmt.Fprintf(w, "    test vs production (CIP-010): none recorded\n")
		} else {
			fmt.Fprintf(w, "    test vs production (CIP-010):\n")
			for _, d := range v.Differences {
				fmt.Fprintf(w, "      - %s\n", d)
			}
		}
		if len(v.SignOffs) == 0 {
			fmt.Fprintf(w, "    sign-offs       none\n")
		}
		for _, s := range v.SignOffs {
			fmt.Fprintf(w, "    signed          %s  %s (%s): %s%s\n", localTime(s.Time), s.Name, s.Role, s.Decision, prefixed(": ", s.Rationale))
			if s.Decision == register.AcceptRisk {
				fmt.Fprintf(w, "                    risk accepted; the computed verdict stays %s\n", v.Verdict)
			}
		}
	}
	fmt.Fprintf(w, "\naudit (%d rows)\n", len(sv.Audit))
	for _, r := range sv.Audit {
		fmt.Fprintf(w, "  #%-4d %s  %-10s %-19s %-12s %s\n", r.Seq, localTime(r.Time), r.Actor, r.Action, r.Subject, r.Detail)
	}
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func statesText(ss []register.State) string {
	var b []string
	for _, s := range ss {
		b = append(b, string(s))
	}
	return strings.Join(b, ", ")
}

func runList(ids []int64) string {
	if len(ids) == 0 {
		return "-"
	}
	var b []string
	for _, id := range ids {
		b = append(b, fmt.Sprint(id))
	}
	return strings.Join(b, ",")
}

func registerState(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "state")
	fs := f.fs
	plan := fs.String("plan", "", "deferred: the mitigation plan")
	review := fs.String("review-date", "", "deferred: when the mitigation plan is reviewed")
	wStart := fs.String("window-start", "", "scheduled: maintenance window start")
	wEnd := fs.String("window-end", "", "scheduled: maintenance window end")
	by := fs.String("superseded-by", "", "superseded: id of the patch that supersedes it")
	note := fs.String("note", "", "a note for the audit trail")
	actor := fs.String("actor", "", "who makes the change, for the audit trail (default: the user logged in)")
	pos, err := f.parse(args, 2, "ID NEWSTATE")
	if err != nil {
		return err
	}
	to, err := register.ParseState(words(pos[1]))
	if err != nil {
		return usageError{err}
	}
	d := register.StateDetail{MitigationPlan: *plan, SupersededBy: *by, Note: *note, At: time.Now()}
	for _, w := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"review-date", *review, &d.ReviewDate}, {"window-start", *wStart, &d.WindowStart}, {"window-end", *wEnd, &d.WindowEnd}} {
		if *w.dst, err = parseWhen(w.name, w.s); err != nil {
			return err
		}
	}
	db, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	before, err := db.Patch(ctx, pos[0])
	if err != nil {
		return registerErr(err)
	}
	p, err := db.SetState(ctx, pos[0], to, cmp.Or(*actor, validation.Actor()), d)
	if err != nil {
		return registerErr(err)
	}
	if *f.asJSON {
		return printJSON(env.Stdout, viewPatch(p, d.At))
	}
	fmt.Fprintf(env.Stdout, "%s: %s -> %s\n", p.ID, before.State, p.State)
	switch p.State {
	case register.StateDeferred:
		fmt.Fprintf(env.Stdout, "  mitigation plan: %s (review %s)\n", p.MitigationPlan, localDate(p.ReviewDate))
	case register.StateScheduled:
		fmt.Fprintf(env.Stdout, "  window: %s to %s\n", localTime(p.WindowStart), localTime(p.WindowEnd))
	case register.StateSuperseded:
		fmt.Fprintf(env.Stdout, "  superseded by %s\n", p.SupersededBy)
	}
	if next := register.Next(p.State); len(next) > 0 {
		fmt.Fprintf(env.Stdout, "  next: %s\n", statesText(next))
	}
	return nil
}

// signOffView is what `register signoff --json` prints.
type signOffView struct {
	register.SignOff
	Verdict verdict.Outcome `json:"verdict"` // the computed verdict, which a sign-off never changes
}

func registerSignOff(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "signoff")
	fs := f.fs
	var s register.SignOff
	fs.StringVar(&s.ValidationID, "validation", "", "validation id (required)")
	fs.StringVar(&s.Name, "name", "", "who signs (required)")
	role := fs.String("role", "", "tester, oem_witness or approver (required)")
	decision := fs.String("decision", "", "approve, reject or accept_risk (required; accept_risk overrides a NO-GO or INCONCLUSIVE verdict as a recorded risk, never replacing it)")
	fs.StringVar(&s.Rationale, "rationale", "", "why (required for reject and accept_risk)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	if s.ValidationID == "" {
		return badInput("--validation is required: the id of a validation (patchgate register show PATCH lists them)")
	}
	s.Role, s.Decision, s.Time = register.Role(words(*role)), register.Decision(words(*decision)), time.Now()
	db, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err = db.SignOff(ctx, s)
	if err != nil {
		return registerErr(err)
	}
	v, err := db.Validation(ctx, s.ValidationID)
	if err != nil {
		return err
	}
	if *f.asJSON {
		return printJSON(env.Stdout, signOffView{SignOff: s, Verdict: v.Verdict})
	}
	fmt.Fprintf(env.Stdout, "%s (%s) signed %s of patch %s: %s\n", s.Name, s.Role, s.ValidationID, v.PatchID, s.Decision)
	if s.Decision == register.AcceptRisk {
		fmt.Fprintf(env.Stdout, "  risk accepted: %s\n  the computed verdict stays %s\n", s.Rationale, v.Verdict)
	}
	return nil
}

// exportView is what `register export --json` prints.
type exportView struct {
	Validation string `json:"validation"`
	Bundle     string `json:"bundle"`
	SHA256     string `json:"sha256"`
	// Original: the bundle's files are the validation's first bundle byte for byte.
	Original bool `json:"original"`
	SignOffs int  `json:"signoffs"`
}

// now is env's clock's time, or time.Now.
func now(env Env) time.Time {
	if env.Now != nil {
		return env.Now()
	}
	return time.Now()
}

// registerExport writes the evidence bundle of a stored validation with the signed addendum
// of its sign-offs (validation.ExportStored, as the desktop's Register tab does).
func registerExport(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "export")
	fs := f.fs
	id := fs.String("validation", "", "validation id (required)")
	out := fs.String("o", "", "the bundle file to write (required)")
	keyDir := fs.String("key-dir", "", "folder of the workstation signing key (default: user config dir/patchgate/keys)")
	actor := fs.String("actor", "", "who exports, for the addendum and the audit trail (default: the logged-in user)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	switch {
	case *id == "":
		return badInput("--validation is required: the id of a validation (patchgate register show PATCH lists them)")
	case *out == "":
		return badInput("-o FILE is required: where to write the bundle")
	}
	reg, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer reg.Close()
	traces, local := reg.(validation.Traces)
	if !local { // a shared register: the runs stay in the bench's own file
		if _, err := os.Stat(*f.db); err != nil {
			return badInput("--db %s: the runs of the validation: %v", *f.db, err)
		}
		l, err := ledger.Open(ctx, *f.db)
		if err != nil {
			return err
		}
		defer l.Close()
		traces = l
	}
	key, err := signingKey(*keyDir)
	if err != nil {
		return err
	}
	who := *actor
	if who == "" {
		who = validation.Actor()
	}
	ex, err := validation.ExportStored(ctx, reg, traces, validation.ExportInput{Validation: *id, Path: *out, Key: key, Actor: who, Now: now(env)})
	if err != nil {
		if errors.Is(err, validation.ErrNotExportable) {
			return badInput("%v", err)
		}
		return registerErr(err)
	}
	if *f.asJSON {
		return printJSON(env.Stdout, exportView{Validation: *id, Bundle: ex.Path, SHA256: ex.SHA256, Original: ex.Original, SignOffs: ex.SignOffs})
	}
	fmt.Fprintf(env.Stdout, "%s: evidence bundle of %s with %d sign-off(s), sha256 %s\n", ex.Path, *id, ex.SignOffs, ex.SHA256)
	if ex.Original {
		fmt.Fprintln(env.Stdout, "  the validation's bundle byte for byte as first signed, with the sign-offs in a signed addendum")
	} else {
		fmt.Fprintln(env.Stdout, "  the validation's bundle signed anew with this workstation's key (the first bundle was not recorded, or had another signer)")
	}
	fmt.Fprintf(env.Stdout, "  check it offline: patchgate verify %s\n", ex.Path)
	return nil
}

// verifyView is what `register verify --json` prints.
type verifyView struct {
	Intact    bool   `json:"intact"`
	Rows      int    `json:"rows_verified"`
	HeadSeq   int64  `json:"head_seq"`
	HeadHash  string `json:"head_hash"`
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Error     string `json:"error,omitempty"`
}

func registerVerify(ctx context.Context, env Env, args []string) error {
	f := newRegisterFlags(env, "verify")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	db, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	n, verr := db.VerifyAudit(ctx)
	var ae *register.AuditError
	if verr != nil && !errors.As(verr, &ae) {
		return verr
	}
	seq, head, err := db.AuditHead(ctx)
	if err != nil {
		return err
	}
	out := verifyView{Intact: verr == nil, Rows: n, HeadSeq: seq, HeadHash: head}
	if ae != nil {
		out.BrokenSeq, out.Error = ae.Seq, ae.Error()
	}
	switch {
	case *f.asJSON:
		if err := printJSON(env.Stdout, out); err != nil {
			return err
		}
	case ae == nil:
		fmt.Fprintf(env.Stdout, "audit trail intact: %d rows; head row %d, hash %s\n", n, seq, head)
	default:
		fmt.Fprintf(env.Stdout, "audit trail BROKEN at row %d: %d rows before it verify\n", ae.Seq, n)
	}
	if ae != nil {
		return codeError{ExitNoGo, fmt.Errorf("%s: %w", f.where(), verr)}
	}
	return nil
}
