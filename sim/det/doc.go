// Package det is the deterministic simulation runtime of txchaos, in the
// manner of FoundationDB's simulator and TigerBeetle's VOPR: every service
// of a sim.World runs in this process, unchanged, under a seeded scheduler
// and a virtual clock. The same seed gives the same run, bit for bit, so a
// failing run can be replayed and its faults shrunk; and since sleeps and
// timeouts advance the clock instead of waiting, a run takes a fraction of
// its virtual duration.
//
// # Processes and the baton
//
// Every piece of running code is a logical process: the root of a Main
// (the workload's runner), the processes started with Go (clients, the
// nemesis, relays, consumers, recovery), the handler of each request, a
// delayed restart. Each is a goroutine, but only the one holding the baton
// runs. A process gives the baton back when it blocks on the runtime: Sleep,
// a request (RoundTrip), waiting out a lost request's deadline. The
// scheduler then makes runnable every parked process whose context is done
// or whose answer has come, picks the next process among the runnable ones
// with its seeded source and, when none is runnable, advances the virtual
// clock to the earliest timer and fires it. Now is virtual; WithTimeout
// returns a context the scheduler cancels at the virtual deadline (its Err
// is then context.DeadlineExceeded). Contexts are only ever cancelled by the
// baton holder, so every cancellation is seen at a deterministic point.
//
// Reading Now takes a nanosecond of virtual time: no two readings are
// equal, each is later than every reading before it. Code between two
// scheduling points would otherwise take no time at all, and a client's
// answer and its next call would share an instant; a history timed by Now
// keeps real-time order instead — an operation called after another
// returned is after it on the clock — while operations that truly overlap
// (one called before the other returned) still overlap.
//
// Code run by the runtime must block only through it: a go statement, a
// channel or a sync.WaitGroup.Wait would escape the scheduler. That is the
// runtime discipline internal/lint checks in patterns and services; the
// scenario runner keeps it too (Main, Go, polling with Sleep). database/sql
// and the SQLite driver start goroutines of their own (a transaction's
// watcher, a statement's interrupter); they never call the runtime and the
// logical outcome never depends on them, since no process holds a
// transaction across a runtime call.
//
// # The network
//
// A link's Transport decides each request's fate from the link's
// sim.LinkFaults with the link's seeded source, drawing exactly as the live
// runtime does and recording the same sim.Applied records: a partition or a
// dropped request never reaches the service and the caller waits until its
// context is done; a lost response is handled by the service and the caller
// still waits until its deadline; latency (± jitter) delays the request.
// Besides injected latency every request and every answer takes a network
// delay drawn uniformly below Options.NetDelay (1ms by default, by its own
// seeded source per link), so that concurrent work interleaves as it does
// on real sockets. The target's handler runs as a process of the target's
// current incarnation, on a request whose context ends when the handler
// returns or the caller hangs up; its answer is recorded in memory and
// handed to the caller as an *http.Response. A request to a node that is
// down fails at once ("connection refused").
//
// A late request (sim.LinkFaults.Late) is held by the network and handed to
// the target's incarnation current at its delivery time by a timer; its
// handler's context does not end when the caller hangs up, and an answer
// nobody waits for goes nowhere. A duplicated request is delivered as
// usual and a second copy, whose answer goes nowhere, at once or by a
// timer. A reordered request waits, as latency does, until a request sent
// after it over the link has been answered or its hold has passed. Held
// counts the requests the network holds for later.
//
// # Crashes
//
// A crash (Crash, a node's CrashRate before or after handling a request, a
// crash point) is decided by the node's seeded source as in the live
// runtime. It marks the node's incarnation down, cancels its context
// (database/sql rolls back open transactions), fails the requests in flight
// to it at once ("connection reset", as a closed connection), and aborts
// each of its processes at its next step: the runtime panics with
// http.ErrAbortHandler in it, which its process boundary recovers. Once
// they have all ended, the database handle is closed. A restart (after the
// downtime, by Restart, or by Heal) reopens the same database and runs the
// service's Start again: uncommitted work is lost, committed work kept.
//
// Commit crashes (sim.NodeFaults.CommitCrash) are decided in the SQLite
// commit hook of the incarnation's database handle, at each commit once
// the service has started: "before" rolls the commit back and crashes the
// node there, "after" crashes it once the committing statement returns.
// The process that committed runs on until its next call to the runtime,
// where it is aborted; meanwhile the crashed incarnation's database
// refuses every statement but a rollback.
//
// # Databases
//
// Each node's database is a real SQLite database (modernc.org/sqlite)
// kept in memory for the runtime's life (SQLite's memdb VFS), across the
// node's incarnations, with its rollback journal in memory: a simulated
// crash is not an operating-system crash, so nothing needs to reach the
// disk, and a crashed incarnation's transactions are rolled back when its
// handle is closed. Sync writes every database that changed to its file
// (DBPath), Stop writes them all, so the checker reads them as it reads a
// live run's; a runtime started over existing files loads them.
//
// # Fault sites and schedules
//
// Every fault the runtime decides lands at a named site (see package sim):
// a request, numbered per order and link ("request 2 of o000007 on
// orders->payments", the order taken from the request's sim.OrderHeader),
// its second copy, a visit of a crash point or a commit, numbered per
// order too when the process is a handler of a request about an order
// ("visit 1 of after-local-commit at orders for o000003", "commit 2 of
// payments for o000003"), per link, point and node otherwise. Numbered per
// order, a site names the same request in a run where another order's
// requests were retried, dropped or slowed. The runtime records every site
// it passes and every fault it takes there (Passes, Decisions).
// Options.Schedule names faults by site: at a site it names, its decision
// is taken, before healing or after (Heal ends the faults the controller
// set, not a schedule's, which are finite: they land during recovery
// too); elsewhere the faults the controller set decide as usual (a
// scenario run under a schedule sets none). A run's decisions, run again
// as a schedule with no faults set, are the same run.
//
// # Determinism
//
// Every decision is drawn from sources seeded by Options.Seed and a stream
// name: the scheduler's picks ("sched"), each link's faults ("link/A->B",
// as live) and delays ("net/A->B"), each node's fault rolls ("faults/N")
// and Rand ("rand/N"). Late, duplicated and reordered requests and commit
// crashes draw from no stream: each is decided by (seed, fault, site) with
// sim.Chance, so that adding or removing one fault does not move what the
// others hit. Nothing iterates a map where order matters, and
// nothing reads the real clock. Between calls to Main the world stands
// still.
package det
