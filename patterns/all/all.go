// Package all registers every pattern txchaos ships: import it for its side
// effect. Adding a pattern is one package and one line here.
package all

import (
	_ "github.com/txchaos/txchaos/patterns/blind"         // blind-retry
	_ "github.com/txchaos/txchaos/patterns/eventsourcing" // event-sourcing
	_ "github.com/txchaos/txchaos/patterns/fallback"      // fallback-queue
	_ "github.com/txchaos/txchaos/patterns/idemkeys"      // idempotency-keys
	_ "github.com/txchaos/txchaos/patterns/naive"         // naive-dual-write
	_ "github.com/txchaos/txchaos/patterns/outbox"        // outbox
	_ "github.com/txchaos/txchaos/patterns/republish"     // target-state-republish
	_ "github.com/txchaos/txchaos/patterns/rvc"           // read-validate-call
	_ "github.com/txchaos/txchaos/patterns/saga"          // saga
	_ "github.com/txchaos/txchaos/patterns/twophase"      // two-phase-key
)
