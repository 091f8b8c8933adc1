// Command seance generates the pieces of a Seance for Go application:
//
//	seance gen channel NAME   a LiveState channel and its livestatetest test,
//	                          in the package of the current directory
//	seance gen element TAG    a custom element that uses phx-live-state
//	                          (dependency-free, or Lit with -lit)
//	seance gen types          TypeScript declarations of the state types of
//	                          the package's LiveState channels
//
// Run it without installing it:
//
//	go run github.com/seance-go/seance/cmd/seance@latest gen channel counter
//
// or from a go:generate line:
//
//	//go:generate go run github.com/seance-go/seance/cmd/seance gen types -o web/state.ts
//
// gen types finds the state types itself: every S of a type T of the
// package where T or *T implements livestate.Channel[S] or
// livestate.SharedChannel[S] (or the types named with -type). It
// type-checks the package from source with go/types, importing its
// dependencies from the export data `go list -export` builds, so the command
// needs only the standard library and the go command, and the module gains
// no dependency (golang.org/x/tools/go/packages would do the same).
//
// Each subcommand has -h. The exit code is 0 on success, 2 for a usage error
// and 1 for any other failure.
package main
