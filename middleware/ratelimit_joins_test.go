package middleware

import "github.com/seance-go/seance/phx"

// handlersByMask returns, for each combination of optional interfaces
// (bit i set: the i-th of InHandler, InfoHandler, OutHandler, AfterJoiner,
// Terminator), a handler implementing exactly those.
func handlersByMask(f *fullHandler) [32]phx.Handler {
	type base struct{ phx.Handler }
	b := base{f}
	return [32]phx.Handler{
		b,
		struct {
			base
			phx.InHandler
		}{b, f},
		struct {
			base
			phx.InfoHandler
		}{b, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
		}{b, f, f},
		struct {
			base
			phx.OutHandler
		}{b, f},
		struct {
			base
			phx.InHandler
			phx.OutHandler
		}{b, f, f},
		struct {
			base
			phx.InfoHandler
			phx.OutHandler
		}{b, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
		}{b, f, f, f},
		struct {
			base
			phx.AfterJoiner
		}{b, f},
		struct {
			base
			phx.InHandler
			phx.AfterJoiner
		}{b, f, f},
		struct {
			base
			phx.InfoHandler
			phx.AfterJoiner
		}{b, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.AfterJoiner
		}{b, f, f, f},
		struct {
			base
			phx.OutHandler
			phx.AfterJoiner
		}{b, f, f},
		struct {
			base
			phx.InHandler
			phx.OutHandler
			phx.AfterJoiner
		}{b, f, f, f},
		struct {
			base
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
		}{b, f, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
		}{b, f, f, f, f},
		struct {
			base
			phx.Terminator
		}{b, f},
		struct {
			base
			phx.InHandler
			phx.Terminator
		}{b, f, f},
		struct {
			base
			phx.InfoHandler
			phx.Terminator
		}{b, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.Terminator
		}{b, f, f, f},
		struct {
			base
			phx.OutHandler
			phx.Terminator
		}{b, f, f},
		struct {
			base
			phx.InHandler
			phx.OutHandler
			phx.Terminator
		}{b, f, f, f},
		struct {
			base
			phx.InfoHandler
			phx.OutHandler
			phx.Terminator
		}{b, f, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
			phx.Terminator
		}{b, f, f, f, f},
		struct {
			base
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f},
		struct {
			base
			phx.InHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f},
		struct {
			base
			phx.InfoHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f, f},
		struct {
			base
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f},
		struct {
			base
			phx.InHandler
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f, f},
		struct {
			base
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f, f},
		struct {
			base
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{b, f, f, f, f, f},
	}
}
