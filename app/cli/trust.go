package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/patchgate/patchgate/harness/driver/opcua"
)

const trustUsage = `usage: patchgate trust SUBCOMMAND [flags]

subcommands:
  list               list the trusted OPC UA server certificates and those refused (rejected)
  add THUMBPRINT     trust a refused certificate: move it from the rejected folder to the trust folder
  remove THUMBPRINT  stop trusting a certificate: remove its file from the trust folder

THUMBPRINT is the start (6 hex digits or more, colons allowed) of a SHA-1 or SHA-256 thumbprint,
as the refusal of an untrusted server names it; it must pick exactly one certificate. Check it
with the device's owner before trusting. Every subcommand takes --trust DIR (the trust folder,
as the target parameter trust=DIR; the rejected folder is beside it) and --json.
`

// runTrust is `patchgate trust`: the OPC UA driver's certificate folders.
func runTrust(_ context.Context, env Env, args []string) error {
	if len(args) == 0 {
		io.WriteString(env.Stderr, trustUsage)
		return badInput("expected a subcommand: list, add or remove")
	}
	switch args[0] {
	case "-h", "--help", "help":
		printHelp(env.Stdout, "trust", nil)
		return flag.ErrHelp
	case "list":
		return trustList(env, args[1:])
	case "add", "remove":
		return trustChange(env, args[0], args[1:])
	}
	io.WriteString(env.Stderr, trustUsage)
	return badInput("unknown subcommand %q", args[0])
}

// trustFlags are the flags of every trust subcommand.
type trustFlags struct {
	env    Env
	fs     *flag.FlagSet
	dir    *string
	asJSON *bool
}

func newTrustFlags(env Env, sub string) trustFlags {
	fs := newFlags(env, "trust "+sub)
	return trustFlags{
		env: env,
		fs:  fs,
		dir: fs.String("trust", "", "trust folder of OPC UA server certificates, as the target parameter trust=DIR; the rejected folder is beside it\n"+
			"(default: the driver's, <user config dir>/patchgate/pki/trusted)"),
		asJSON: fs.Bool("json", false, "print JSON on stdout"),
	}
}

// parse parses flags placed anywhere among the positional arguments and checks that there
// are exactly n of those.
func (f trustFlags) parse(args []string, n int, names string) ([]string, error) {
	pos, err := parseInterspersed(f.fs, f.env, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, badInput("expected %s ('patchgate help trust')", names)
	}
	if *f.dir == "" {
		d, err := opcua.DefaultTrustDir()
		if err != nil {
			return nil, badInput("%v", err)
		}
		*f.dir = d
	}
	return pos, nil
}

// trustListing is what `trust list --json` prints.
type trustListing struct {
	TrustDir    string          `json:"trust_dir"`
	RejectedDir string          `json:"rejected_dir"`
	Trusted     []opcua.Trusted `json:"trusted"`
	Rejected    []opcua.Trusted `json:"rejected"`
}

func trustList(env Env, args []string) error {
	f := newTrustFlags(env, "list")
	if _, err := f.parse(args, 0, "no arguments"); err != nil {
		return err
	}
	rej, err := opcua.RejectedDir(*f.dir)
	if err != nil {
		return err
	}
	l := trustListing{TrustDir: *f.dir, RejectedDir: rej, Trusted: []opcua.Trusted{}, Rejected: []opcua.Trusted{}}
	trusted, err := opcua.ListTrusted(*f.dir)
	if err != nil {
		return err
	}
	rejected, err := opcua.ListRejected(*f.dir)
	if err != nil {
		return err
	}
	l.Trusted = append(l.Trusted, trusted...)
	l.Rejected = append(l.Rejected, rejected...)
	if *f.asJSON {
		return printJSON(env.Stdout, l)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, sec := range []struct {
		name, dir string
		certs     []opcua.Trusted
	}{{"trusted", l.TrustDir, l.Trusted}, {"rejected", l.RejectedDir, l.Rejected}} {
		fmt.Fprintf(tw, "%s (%s): %d\n", sec.name, sec.dir, len(sec.certs))
		for _, c := range sec.certs {
			if c.Err != "" {
				fmt.Fprintf(tw, "  %s\t%s\n", c.File, c.Err)
				continue
			}
			fmt.Fprintf(tw, "  %s\n", c.Subject)
			fmt.Fprintf(tw, "    SHA-1\t%s\n    SHA-256\t%s\n    valid\t%s to %s\n    file\t%s\n",
				c.SHA1, c.SHA256, c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"), c.File)
		}
	}
	return tw.Flush()
}

func trustChange(env Env, sub string, args []string) error {
	f := newTrustFlags(env, sub)
	pos, err := f.parse(args, 1, "one THUMBPRINT")
	if err != nil {
		return err
	}
	var c opcua.Trusted
	if sub == "add" {
		c, err = opcua.TrustRejected(*f.dir, pos[0])
	} else {
		c, err = opcua.RemoveTrusted(*f.dir, pos[0])
	}
	if errors.Is(err, opcua.ErrNoCertificate) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if *f.asJSON {
		return printJSON(env.Stdout, c)
	}
	verb := "trusted"
	if sub == "remove" {
		verb = "no longer trusted"
	}
	_, err = fmt.Fprintf(env.Stdout, "%s: %s\n  SHA-1    %s\n  SHA-256  %s\n  file     %s\n", verb, c.Subject, c.SHA1, c.SHA256, c.File)
	return err
}
