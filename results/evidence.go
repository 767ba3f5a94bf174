package results

import (
	"errors"
	"fmt"
	"slices"
)

// Evidence says how far a run's faults reached: for each fault of its
// profile, how many times the runtime applied it and how many of those
// landed while an order the fault affected was still open. A clean
// verdict under a fault that never landed says nothing about that fault:
// the fault is not exercised.
//
// The runner (scenarios) defines open and affected; in short, an order is
// open from its first checkout call until nothing more happens to it, and
// a fault affects the order its request names, or, when it names none (a
// crash point, a broker poll), every order open at that moment.
type Evidence struct {
	// Faults has one entry per fault of the profile, in profile order.
	Faults []FaultEvidence `json:"faults"`
	// NotExercised lists the faults that never landed, in profile order.
	NotExercised []string `json:"not_exercised"`
}

// FaultEvidence is what one fault of the profile did.
type FaultEvidence struct {
	// Fault is the profile entry, e.g. lost-response=0.2 or
	// crashpoint=after-local-commit:0.2.
	Fault string `json:"fault"`
	// Applied counts the times the runtime applied it (requests dropped,
	// answers lost, crashes); Landed those that hit while an affected
	// order was open.
	Applied int `json:"applied"`
	Landed  int `json:"landed"`
	// Targets splits the counts by link or node for a fault that names
	// none (lost-response on every link, a partition of a link picked at
	// random).
	Targets map[string]Count `json:"targets,omitempty"`
}

// Count is an applied and a landed count.
type Count struct {
	Applied int `json:"applied"`
	Landed  int `json:"landed"`
}

// validate checks the counts and that NotExercised lists exactly the
// faults that never landed.
func (e *Evidence) validate() error {
	var errs []error
	var never []string
	for i, f := range e.Faults {
		if f.Fault == "" {
			errs = append(errs, fmt.Errorf("evidence.faults[%d].fault: missing", i))
		}
		if f.Applied < 0 || f.Landed < 0 || f.Landed > f.Applied {
			errs = append(errs, fmt.Errorf("evidence.faults[%d] (%s): applied %d, landed %d: want 0 <= landed <= applied", i, f.Fault, f.Applied, f.Landed))
		}
		if f.Landed == 0 {
			never = append(never, f.Fault)
		}
	}
	if !slices.Equal(never, e.NotExercised) && !(len(never) == 0 && len(e.NotExercised) == 0) {
		errs = append(errs, fmt.Errorf("evidence.not_exercised: %q, but the faults that never landed are %q", e.NotExercised, never))
	}
	return errors.Join(errs...)
}

// NotExercisedClean reports the faults a clean record did not exercise:
// nil when the verdict is not clean (anomalies are evidence of their own),
// when every fault landed, or when the record holds no evidence (written
// before records had it).
func (r *Record) NotExercisedClean() []string {
	if r.Verdict != VerdictClean || r.Evidence == nil {
		return nil
	}
	return r.Evidence.NotExercised
}
