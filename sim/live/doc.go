// Package live is the live runtime of txchaos: every service of a sim.World
// runs on a real http.Server on 127.0.0.1 over its own SQLite file, every
// directed link goes through Toxiproxy proxies embedded in the process, and
// a crash stops a node hard (listener and connections closed, contexts
// cancelled, database handle dropped) and restarts it later on the same
// files.
//
// # Per-request faults
//
// Toxiproxy decides whether a toxic applies once per connection, and with
// HTTP keep-alive one decision would hit many requests. live never reuses a
// connection: each request opens its own, so Go's transport can never
// silently re-send a request either. Each link has three proxies ("lanes")
// to the same service, each with a permanent toxic:
//
//   - clean: no toxic;
//   - drop: a timeout toxic (timeout 0) on the upstream stream: the request
//     never reaches the service and the caller waits until its deadline;
//   - lost: a timeout toxic (timeout 0) on the downstream stream: the service
//     receives and handles the request, its answer is swallowed and the
//     caller waits until its deadline.
//
// The link's transport rolls the runtime's seeded source for every request,
// picks the lane from the link's sim.LinkFaults and records every non-clean
// decision as a sim.Applied. A partition (Down) sends every request to the
// drop lane. Latency is not a toxic: Toxiproxy's latency toxic cannot vary
// per request, so the transport waits the chosen delay (Latency ± Jitter)
// before it sends the request. Rolling per request on our own source (and
// not Toxiproxy's toxicity, drawn from the unseeded global math/rand) is
// also what makes a run's faults reproducible from the seed and recorded
// exactly.
//
// # Late, duplicated and reordered requests
//
// Toxiproxy's latency toxic holds a request's bytes, but when the caller
// hangs up its connection closes and the bytes are lost: a request cannot
// arrive after its sender gave up that way. So the link layer delivers
// such requests itself. A late request (sim.LinkFaults.Late) is read into
// memory and handed to a detached sender, a runtime goroutine that waits
// until the request's delivery time, sends it over the clean lane on a
// connection of its own, reads the whole answer and hands it to the caller
// if the caller still waits; otherwise the answer goes nowhere. The
// detached sender's connection does not close when the caller gives up,
// so the service handles the request in full, as a request that was stuck
// in the network would be. A duplicated request is sent as usual and a
// second copy by a detached sender, at once or after DuplicateDelay; the
// caller gets the first copy's answer. A reordered request waits (on its
// caller's context, as latency does) until a request sent after it over
// the link has been answered, or ReorderHold has passed. These three are
// decided per request by sim.LinkFaults.SiteFault, from (seed, fault,
// request number on the link) alone. Held counts the detached senders
// under way; Stop cancels them.
//
// # Crashes
//
// A crash (Crash, a node's CrashRate, a crash point) marks the node down,
// closes its listener and every open connection (http.Server.Close), and
// cancels the node's context: in-flight handlers and the node's processes
// see it cancelled and database/sql rolls back their open transactions.
// Once they have returned, the database handle is closed. A restart waits
// for that, listens on the same port again (so the proxies keep working;
// if the port is taken, the node moves and the proxies follow), opens the
// same file and calls the service's Start again. Node code must honour its
// context: a crash, a restart and Stop wait for it to return.
//
// A node's database is opened through a sim.Gate: once the service has
// started, each of its commits (an autocommitted statement's included) is
// a site of its commit crashes (sim.NodeFaults.CommitCrash), decided by
// (seed, node, commit number). A crash "before" turns the commit into a
// rollback inside SQLite's commit hook and crashes the node; a crash
// "after" lets it commit and crashes the node as the statement returns.
// Either way the code that committed may run on for a moment, but a
// crashed incarnation's database refuses every statement but a rollback,
// and its answer never leaves: its connections are closed.
//
// Besides sim.Applied's fault names, live records "restart-failed" (Detail:
// the error) when a delayed restart fails for another reason than a crash
// during the service's Start; the node then stays down until Restart or
// Heal.
//
// # Services as OS processes
//
// With Options.Isolation IsolationProcess each service runs in an OS
// process of its own: the runtime runs its own binary again (os.Executable)
// with NodeEnv set, and the binary serves the node (ServeNode, which
// scenarios.NodeMain calls) on the node's SQLite file, building the world
// from Options.World. The runtime keeps everything else, so the same
// faults mean the same things and are recorded the same way:
//
//   - the node's address and the guard of its request faults stay in the
//     runtime, which hands each request the guard lets through to the
//     process on a connection of its own;
//   - the node's own requests go to an egress of the runtime, one per link
//     from the node, which sends each over the link (its lane, latency,
//     late, duplicate and reorder faults and Applied decided there, the
//     detached senders of late requests and second copies run there) and
//     cuts the node's connection when the link fails it, so the node sees
//     the transport error it would have seen; each request carries its
//     caller's deadline, so that a late one arrives after it;
//   - at a crash point its faults give a chance, the node asks the runtime
//     over a control channel, which rolls, and on a crash kills the
//     process before it answers;
//   - the node's database is opened through a sim.Gate too, and while its
//     faults give its commits a chance the node asks the runtime at each
//     commit, from inside SQLite's commit hook: the runtime numbers the
//     commit and decides as for a node in its own process; to crash before
//     the commit it kills the process while the question waits (the
//     transaction never commits), to crash after it it lets the commit
//     happen and kills the process when it asks again, before its code
//     goes on (see nodegate.go);
//   - the node's clock is the real clock, its Rand a source seeded by the
//     seed, the node and its incarnation, its processes its own.
//
// A crash of any kind (a crash rate, a crash point, a commit crash, Crash
// and so the nemesis's timed kills) is SIGKILL: the process stops at once,
// its open transactions never commit (SQLite ignores their pages in its
// write-ahead log), what it committed stays in its file, and its
// connections close. The restart is a new process on the same file. The
// runtime tells a running process the node faults SetNodeFaults and Heal
// set. A process that exits by itself (a panic in its code) is recorded as
// "exited" with what it wrote, and stays down until Restart or Heal. A node
// process whose runtime goes away (its standard input ends) stops. The
// JetStream broker is not supported: its server and its clients'
// connections live in the runtime's process.
//
// # A real broker
//
// When the world's Config.Broker is sim.BrokerJetStream, the broker node
// runs an embedded NATS JetStream server (sim/jetstream) on its store
// directory Dir/broker.jetstream instead of its service, and every node
// with a link to it publishes and consumes through a JetStream client
// (Node.Broker). The link keeps its lanes, with one connection per call
// instead of per request, and the same faults mean the same things; a
// crash shuts the server down at once and restarts it on its files. Sync
// and Stop write the stream to DBPath(sim.Broker) for the checker. See
// server.go.
//
// # The clock
//
// A world's durations — call timeouts, downtimes, latencies, poll
// intervals, the quiet period after healing — are written for a machine
// that serves a request in about a millisecond or two. On a machine slower
// or busier than that, a 300 ms timeout that requests outlast would be a
// fault nobody chose, and verdicts would depend on the machine. So the
// runtime's clock runs slower than the wall clock by a slowness factor
// (Options.Slowness), measured at Start by timing requests through a proxy
// to a SQLite write, many at once (at least 1: a fast machine runs in real
// time). Now advances that many times slower, and every duration asked of
// the runtime (Sleep, WithTimeout, a crash's downtime, injected latency, a
// late request's delay, a second copy's, a reordered request's hold) lasts
// that many times longer on the wall clock: the run is the run a faster
// machine would make, only slower. A context's deadline is on the wall
// clock; a late request's caller's deadline is read onto the runtime's
// clock (clock.at) before LateMargin is added. Node processes (isolation
// process) keep the same clock, told its epoch and slowness when they
// start, and send their requests' deadlines on the wall clock, which both
// share. A JetStream broker's own timers run on the wall clock; its
// duplicate window is the world's, scaled.
//
// # Open files
//
// A request in flight holds four file descriptors (the caller's socket,
// the proxy's two, the service's) and its handler a SQLite connection.
// Start raises the soft limit on open files to the hard one and refuses,
// with a *FileLimitError, a run whose Options.Clients the limit cannot
// carry (FilesNeeded): out of descriptors, a proxy stops accepting for good
// and the run would wait out every request's timeout instead of failing.
// Runtimes running at once in one process (a sweep's parallel cells) share
// the limit: a Start that fits it but not beside the others waits for
// them to stop.
package live
