package opcua

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// errNoValue is the reading of an item the server answered Good without a value.
var errNoValue = errors.New("the server sent no value")

// reading turns one DataValue into the reading of a point of type t.
func reading(t point.Type, node string, dv *ua.DataValue) driver.Reading {
	if dv == nil {
		return driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("%s: %w", node, errNoValue)}
	}
	if st := Status(dv.Status); !st.Good() {
		r := driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("%s: %w", node, st)}
		if dv.Value != nil {
			r.Value, _ = value(t, dv.Value)
		}
		return r
	}
	if dv.Value == nil {
		return driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("%s: %w", node, errNoValue)}
	}
	v, err := value(t, dv.Value)
	if err != nil {
		return driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("%s: %w", node, err)}
	}
	return driver.Reading{Value: v}
}

// value converts a scalar variant (Boolean, SByte..UInt64, Float, Double, String) to a
// point.Value of the kind of point type t. Numbers are converted between int, uint and float
// only when exact, so the same scenario sees the same kinds over OPC UA and Modbus; a
// variant of another family (a String for a number point) is an error naming both types.
func value(t point.Type, vr *ua.Variant) (point.Value, error) {
	var v point.Value
	switch x := vr.Value().(type) {
	case bool:
		v = point.Bool(x)
	case int8:
		v = point.Int(int64(x))
	case int16:
		v = point.Int(int64(x))
	case int32:
		v = point.Int(int64(x))
	case int64:
		v = point.Int(x)
	case uint8:
		v = point.Uint(uint64(x))
	case uint16:
		v = point.Uint(uint64(x))
	case uint32:
		v = point.Uint(uint64(x))
	case uint64:
		v = point.Uint(x)
	case float32:
		v = point.Float(float64(x))
	case float64:
		v = point.Float(x)
	case string:
		v = point.String(x)
	default:
		if vr.ArrayLength() > 0 || vr.Has(ua.VariantArrayValues) {
			return point.Value{}, fmt.Errorf("the server sends an array of %s; expected a scalar %s", typeName(vr.Type()), t)
		}
		return point.Value{}, fmt.Errorf("the server sends a %s; expected a %s", typeName(vr.Type()), t)
	}
	want := t.Kind()
	if want == v.Kind() || want == point.KindInvalid {
		return v, nil
	}
	numeric := func(k point.Kind) bool { return k == point.KindInt || k == point.KindUint || k == point.KindFloat }
	if numeric(want) && numeric(v.Kind()) {
		switch want {
		case point.KindInt:
			if i, ok := v.Int64(); ok {
				return point.Int(i), nil
			}
		case point.KindUint:
			if u, ok := v.Uint64(); ok {
				return point.Uint(u), nil
			}
		case point.KindFloat:
			if f := v.Float(); math.Abs(f) <= 1<<53 {
				return point.Float(f), nil
			}
		}
		return v, fmt.Errorf("the server sends %s %s, which is not exactly a %s", typeName(vr.Type()), v, t)
	}
	return v, fmt.Errorf("the server sends a %s; the point map says %s", typeName(vr.Type()), t)
}

// typeName is a built-in type's name as Part 6 writes it ("Float", "UInt32").
func typeName(t ua.TypeID) string {
	n := strings.TrimPrefix(t.String(), "TypeID")
	if rest, ok := strings.CutPrefix(n, "Uint"); ok {
		n = "UInt" + rest // gopcua writes Uint16, Part 6 UInt16
	}
	return n
}

// variant encodes a value as the OPC UA built-in type of point type t (bool Boolean, int16
// Int16, ..., float32 Float, float64 Double, string String). Integers must be whole and fit;
// a bool takes true, false, 0 or 1; a string at most length characters when length is set.
// Errors wrap point.ErrRange when the value does not fit.
func variant(t point.Type, length int, v point.Value) (*ua.Variant, error) {
	if !v.Valid() {
		return nil, errors.New("no value to write")
	}
	if (t == point.TypeString) != (v.Kind() == point.KindString) {
		return nil, fmt.Errorf("%s for a %s point", v, t)
	}
	var x any
	switch t {
	case point.TypeBool:
		switch {
		case v.Kind() == point.KindBool:
			x = v.Bool()
		case v.Float() == 0 || v.Float() == 1:
			x = v.Float() == 1
		default:
			return nil, fmt.Errorf("%s for a bool; expected true, false, 0 or 1: %w", v, point.ErrRange)
		}
	case point.TypeString:
		if length > 0 && len(v.Text()) > length {
			return nil, fmt.Errorf("string of %d characters longer than %d: %w", len(v.Text()), length, point.ErrRange)
		}
		x = v.Text()
	case point.TypeFloat32:
		f := v.Float()
		if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Errorf("%g as float32: %w", f, point.ErrRange)
		}
		x = float32(f)
	case point.TypeFloat64:
		x = v.Float()
	case point.TypeUint64:
		u, ok := v.Uint64()
		if !ok {
			return nil, fmt.Errorf("%s as uint64: %w", v, point.ErrRange)
		}
		x = u
	case point.TypeInt16, point.TypeUint16, point.TypeInt32, point.TypeUint32, point.TypeInt64:
		i, ok := v.Int64()
		if !ok {
			return nil, fmt.Errorf("%s as %s: %w", v, t, point.ErrRange)
		}
		fits := true
		switch t {
		case point.TypeInt16:
			x, fits = int16(i), i >= math.MinInt16 && i <= math.MaxInt16
		case point.TypeUint16:
			x, fits = uint16(i), i >= 0 && i <= math.MaxUint16
		case point.TypeInt32:
			x, fits = int32(i), i >= math.MinInt32 && i <= math.MaxInt32
		case point.TypeUint32:
			x, fits = uint32(i), i >= 0 && i <= math.MaxUint32
		case point.TypeInt64:
			x = i
		}
		if !fits {
			return nil, fmt.Errorf("%d as %s: %w", i, t, point.ErrRange)
		}
	default:
		return nil, fmt.Errorf("cannot write a point of type %s", t)
	}
	return ua.NewVariant(x)
}
