package results

import "encoding/json"

// Figure returns the named number of the record: from its metrics when
// they hold it (host-independent figures, and the timings of a
// deterministic run), else from Host.Extra (the timings of a live run, such
// as "latency_p50_ms" or "converge_ms"). ok is false when
// neither holds a number under name.
func (r *Record) Figure(name string) (v float64, ok bool) {
	var m map[string]json.RawMessage
	if len(r.Metrics) > 0 && json.Unmarshal(r.Metrics, &m) == nil {
		if raw, found := m[name]; found && json.Unmarshal(raw, &v) == nil {
			return v, true
		}
	}
	v, ok = r.Host.Extra[name]
	return v, ok
}
