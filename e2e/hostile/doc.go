// Package hostile holds the hostile-client catalogue: a test suite that
// plays every kind of broken or malicious peer we know of against a real
// server, over both transports, and checks each documented outcome (a close
// code, an HTTP status, an error reply).
//
// After each case a sentinel client joins, pushes and gets its reply on a
// fresh connection, proving the server still serves; at the end the
// server's goroutines and file descriptors must be back at their baseline.
// The package has no API: read hostile_test.go for the cases and the
// README's "Configuration and limits" for the limits they exercise.
package hostile
