package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "seance:", err)
		os.Exit(1)
	}
	os.Exit(run(ctx, &env{dir: dir, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}

// env is what a command may touch: its working directory and its output.
type env struct {
	dir            string
	stdout, stderr io.Writer
}

// path resolves a path given on the command line against the working
// directory.
func (e *env) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.dir, p)
}

// writeOutput writes text to the named file, or to stdout for "" or "-".
func (e *env) writeOutput(name string, text []byte) error {
	if name == "" || name == "-" {
		_, err := e.stdout.Write(text)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(e.path(name)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(e.path(name), text, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", name)
	return nil
}

// usageError is a command-line mistake: its message and the command's usage
// go to stderr and the exit code is 2.
type usageError struct {
	fs  *flag.FlagSet
	msg string
}

func (u usageError) Error() string { return u.msg }

const usage = `Usage: seance gen <what> [flags] [args]

  seance gen channel NAME   write a LiveState channel NAME and its test into
                            the Go package of the current directory
  seance gen element TAG    write a custom element TAG (TypeScript) that
                            shows the state of a LiveState channel
  seance gen types          write TypeScript declarations of the state types
                            of the package's LiveState channels

Run "seance gen <what> -h" for the flags of each.
`

// run executes the command line args and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] != "gen" {
		fmt.Fprintf(e.stderr, "seance: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if len(args) < 2 {
		fmt.Fprintf(e.stderr, "seance gen: what to generate? (channel, element or types)\n\n%s", usage)
		return 2
	}
	var err error
	switch args[1] {
	case "channel":
		err = cmdChannel(ctx, e, args[2:])
	case "element":
		err = cmdElement(ctx, e, args[2:])
	case "types":
		err = cmdTypes(ctx, e, args[2:])
	default:
		fmt.Fprintf(e.stderr, "seance gen: unknown generator %q (channel, element or types)\n\n%s", args[1], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "seance gen %s: %s\n", args[1], ue.msg)
		ue.fs.Usage()
		return 2
	case isFlagError(err):
		return 2 // the flag package printed the error and the usage
	default:
		fmt.Fprintf(e.stderr, "seance gen %s: %v\n", args[1], err)
		return 1
	}
}

// flagError marks errors returned by FlagSet.Parse.
type flagError struct{ error }

func (f flagError) Unwrap() error { return f.error }

func isFlagError(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}

// parseFlags parses args with fs, marking its errors as flag errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return flagError{err}
	}
	return nil
}
