package scenario

import (
	"fmt"
	"math"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/patchgate/patchgate/harness/point"
)

// Condition is a compiled boolean expression over tag values, in expr-lang syntax
// (Level >= 90 && not InletValve). Numbers are float64, bools bool, strings string.
type Condition struct {
	Source string
	Tags   []string // the tags it reads
	prog   *vm.Program
}

// Env returns the type environment of a point map for compiling conditions.
func Env(pm *point.Map) map[string]any {
	env := map[string]any{}
	for _, p := range pm.Points {
		switch p.Type {
		case point.TypeBool:
			env[p.Tag] = false
		case point.TypeString:
			env[p.Tag] = ""
		default:
			env[p.Tag] = 0.0
		}
	}
	return env
}

// CompileCondition compiles src against env (from Env); unknown names are errors.
func CompileCondition(src string, env map[string]any) (*Condition, error) {
	prog, err := expr.Compile(src, expr.Env(env), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	var tags []string
	seen := map[string]bool{}
	for _, id := range identifiers(src) {
		if _, ok := env[id]; ok && !seen[id] {
			seen[id] = true
			tags = append(tags, id)
		}
	}
	return &Condition{Source: src, Tags: tags, prog: prog}, nil
}

// Eval evaluates the condition on values by tag. A tag without a value (missing data) makes
// the condition undecidable: ok is false, never a guess.
func (c *Condition) Eval(values map[string]point.Value) (result, ok bool) {
	env := make(map[string]any, len(c.Tags))
	for _, t := range c.Tags {
		v, have := values[t]
		if !have || !v.Valid() {
			return false, false
		}
		switch v.Kind() {
		case point.KindBool:
			env[t] = v.Bool()
		case point.KindString:
			env[t] = v.Text()
		default:
			f := v.Float()
			if math.IsNaN(f) {
				return false, false
			}
			env[t] = f
		}
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false, false
	}
	b, isBool := out.(bool)
	return b, isBool
}

func (c *Condition) String() string { return c.Source }

// identifiers lists the bare words of an expression (a superset of the tags it names).
func identifiers(src string) []string {
	var out []string
	start := -1
	inStr := byte(0)
	for i := 0; i <= len(src); i++ {
		var ch byte
		if i < len(src) {
			ch = src[i]
		}
		if inStr != 0 {
			if ch == inStr {
				inStr = 0
			}
			continue
		}
		word := ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (start >= 0 && ch >= '0' && ch <= '9')
		if word && start < 0 {
			start = i
		}
		if !word && start >= 0 {
			out = append(out, src[start:i])
			start = -1
		}
		if ch == '"' || ch == '\'' {
			inStr = ch
		}
	}
	return out
}
