// Package fleetbench is the worker load harness behind `coh bench
// workers` (issue 15): it spawns heartbeat workers through /queen/ctl,
// attaches each over Secure9P with its own ticket, appends one
// fixed-size heartbeat per worker per interval to its telemetry ring
// (reopening the file each time, or keeping it open), probes the
// operator console meanwhile, and reports errors by class, append and
// console latency percentiles, the hive's CPU and RSS when it runs on
// this machine, the knee of a ramp, and how many heartbeats the hive's
// rings actually received.
//
// The engine (Run) sees the hive through the Hive interface; NineHive
// is the real one. Statistics (Percentile, Knee), step plans (RampSteps)
// and the ring arithmetic (ServerCount, TickBytes) are pure and tested
// on their own.
package fleetbench
