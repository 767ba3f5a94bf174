package results

// Schedule is what a det run's record says of its fault sites: the faults
// it got and the sites it passed.
type Schedule struct {
	// Faults are the run's faults, one line each in the syntax of a
	// schedule (package faults: "request 1 of o000001 on
	// orders->payments: lost-response"), in the order they were applied,
	// each with a comment saying when and on what. From schema version 5
	// they are in a file beside the record (Files.Schedule) and this is
	// empty.
	Faults []string `json:"faults,omitempty"`
	// Sites counts the sites the run passed until healing, by family:
	// "requests on orders->payments", "copies on orders->payments",
	// "visits of after-local-commit at orders", "commits of rewards".
	Sites map[string]int `json:"sites"`
	// Idle counts the passes that did no work (a poll that found nothing,
	// a commit that changed nothing), among them.
	Idle int `json:"idle"`
}
