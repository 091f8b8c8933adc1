// Package phxtest is a scripted fake Phoenix Channels server for the
// client's tests. It speaks the wire format of phoenix-channels.md §2
// (v2 arrays, v1 objects, binary kinds 0/1/2), §3 (replies, phx_close,
// phx_error) and §6 (long-poll sessions: 410+token, held GETs with 200/204,
// ndjson POSTs) and hands every client frame to the test, which answers by
// hand. Its frame parsing is written independently of package client so the
// tests check the client against a second reading of the protocol.
package phxtest
