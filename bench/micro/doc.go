// Package micro holds Go micro-benchmarks of the hot paths the load harness
// exercises, using only the public API of the core module: frame decode and
// encode through the phx serializers, diff.Default() on small and 1 MB
// states, patch payload encoding, one broadcast to 2,000 in-process
// sessions, one LiveState event driven through an in-process session, one
// broadcast to 2,000 WebSocket subscribers over loopback, until all read it
// (BenchmarkBroadcastSockets2000) and the server's writes alone
// (BenchmarkBroadcastWrites2000), the kernel's floor under it: 120 bytes
// written to each of 2,000 loopback sockets (BenchmarkLoopbackFloor), the
// two in the same iterations with the median of their ratio
// (BenchmarkBroadcastVsFloor2000), and permessage-deflate: wire bytes and
// CPU per message with compression off and on (BenchmarkCompressedMessage),
// memory per idle connection either way (BenchmarkIdleCompressedConns).
//
//	go test -run '^$' -bench . -benchmem -count 10 ./micro > new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da old.txt new.txt
package micro
