// Package jetstream is txchaos's event broker on NATS JetStream: an
// embedded nats-server (github.com/nats-io/nats-server/v2) on its file
// store, and a sim.BrokerClient over the NATS protocol
// (github.com/nats-io/nats.go) that the live runtime gives every node with
// a link to the broker when the world's Config.Broker is
// sim.BrokerJetStream. Patterns do not change: they publish and consume
// through Node.Broker as they do with the log.
//
// # Mapping
//
// One stream, Stream, holds every topic, as the log's events table does:
// topic T is the subject "topics.T", and an event's offset is its stream
// sequence. A consumer group G of topic T is the durable pull consumer
// "T_G" (topic and group names are letters, digits and dashes), created by
// the group's first poll, with explicit acknowledgements, an
// acknowledgement wait of AckWait and no limit on redeliveries. An event is
// the JSON body the log's POST /publish takes.
//
//   - Publish is a JetStream publish that waits for the stream's PubAck.
//     With a duplicate window (sim.Config.DedupeWindow, 2 minutes unless
//     set) it carries the event id as Nats-Msg-Id, and the stream drops a
//     publish whose id it has seen within the window, answering with the
//     first copy's sequence. With the window off (0) it carries no id and
//     every publish is appended.
//   - Poll is one pull request ($JS.API.CONSUMER.MSG.NEXT, no_wait): the
//     events the consumer has not delivered yet, or whose acknowledgement
//     wait has passed. Unlike the log, an event delivered and not
//     acknowledged is not delivered again on the next poll but once
//     AckWait has passed.
//   - Ack acknowledges, one by one and waiting for the server's
//     confirmation of each, the events at or before the offset that the
//     group's last poll through this client delivered. JetStream
//     acknowledges deliveries, not offsets: an event an earlier poll
//     delivered and the consumer did not get to comes again after AckWait.
//
// # Faults
//
// Each call opens its own NATS connection through the runtime's dialer,
// so that the runtime decides each call's fate as it decides each HTTP
// request's (see sim/live): the request never reaches the server, or the
// server acts and its answer is lost, or the server crashes before or
// after acting. A NATS server speaks first (INFO) and answers the client's
// handshake (PONG, and INFO again) before any request: GreetingLines is how
// many lines a fault that loses answers must let through for the request
// to be made at all.
//
// A crash of the broker node is Server.Halt: the server shuts down at once
// (listener and every connection closed) and restarts later on the same
// store directory. It keeps every message it acknowledged, as the log
// keeps every committed row: JetStream's file store writes a message to
// its file before the PubAck (it fsyncs later, which only a machine crash
// would tell). An in-process shutdown also writes the consumers' state,
// which a kill -9 could lose for the last 100 ms or so (the consumer store
// flushes at most ten times a second): a killed server would deliver
// those events again, which this one does not.
//
// # What the checker reads
//
// Server.Dump writes the stream (every event, with its sequence as
// offset) and each consumer's acknowledgement floor (its committed offset)
// to a SQLite file with sim.BrokerSchema, so that checker.ReadState and
// txchaos check read a JetStream run as they read the log. The live
// runtime dumps into the broker node's database path on every Sync and
// once more when it stops. The deliveries table stays empty: JetStream
// keeps no per-event delivery count once an event is acknowledged.
//
// # Only live
//
// The NATS server runs its own goroutines on the real clock; the det
// runtime can neither schedule nor replay them, and refuses a world whose
// broker is JetStream.
package jetstream
