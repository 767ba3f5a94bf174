package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Diff compares two records outside their host key, as Comparable does,
// and describes the first difference: the path of the first field that
// differs (in key order, depth first) and both values, e.g.
//
//	history[41].return: 1.2s vs 1.3s
//
// It returns "" when the records are the same run.
func Diff(a, b *Record) (string, error) {
	ca, err := a.Comparable()
	if err != nil {
		return "", err
	}
	cb, err := b.Comparable()
	if err != nil {
		return "", err
	}
	if bytes.Equal(ca, cb) {
		return "", nil
	}
	va, err := decodeNumbers(ca)
	if err != nil {
		return "", err
	}
	vb, err := decodeNumbers(cb)
	if err != nil {
		return "", err
	}
	if d := firstDiff("", va, vb); d != "" {
		return d, nil
	}
	return "the records differ in their encoding only", nil
}

// DiffJSON compares two JSON documents, a and b, found under path in a
// record (a line of its history, "history[41]", say), and describes the
// first difference as Diff does; "" when they are the same.
func DiffJSON(path string, a, b []byte) (string, error) {
	va, err := decodeNumbers(a)
	if err != nil {
		return "", err
	}
	vb, err := decodeNumbers(b)
	if err != nil {
		return "", err
	}
	if d := firstDiff(path, va, vb); d != "" {
		return d, nil
	}
	if !bytes.Equal(a, b) {
		return path + ": the same values, encoded differently", nil
	}
	return "", nil
}

func decodeNumbers(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("results: decoding a record: %w", err)
	}
	return v, nil
}

// firstDiff is the first difference between a and b under path, or "".
func firstDiff(path string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			xv, xok := x[k]
			yv, yok := y[k]
			switch {
			case !xok:
				return p + ": missing vs " + show(yv)
			case !yok:
				return p + ": " + show(xv) + " vs missing"
			}
			if d := firstDiff(p, xv, yv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		for i := 0; i < len(x) && i < len(y); i++ {
			if d := firstDiff(path+"["+strconv.Itoa(i)+"]", x[i], y[i]); d != "" {
				return d
			}
		}
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d items vs %d", path, len(x), len(y))
		}
		return ""
	}
	if show(a) == show(b) {
		return ""
	}
	if path == "" {
		path = "(the record)"
	}
	return path + ": " + show(a) + " vs " + show(b)
}

// show is a value as compact JSON, cut short when long.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
