package middleware

import "github.com/seance-go/seance/phx"

// withOptionalInterfaces returns j as a value implementing exactly the
// optional phx interfaces (InHandler, InfoHandler, OutHandler, AfterJoiner,
// Terminator) that j.h implements: the engine changes behaviour on their
// mere presence (an OutHandler disables the encode-once broadcast path), so
// a wrapper must neither add nor hide any.
func withOptionalInterfaces(j joinLimiter) phx.Handler {
	in, hasIn := j.h.(phx.InHandler)
	info, hasInfo := j.h.(phx.InfoHandler)
	out, hasOut := j.h.(phx.OutHandler)
	aj, hasAJ := j.h.(phx.AfterJoiner)
	term, hasTerm := j.h.(phx.Terminator)
	mask := 0
	for i, has := range []bool{hasIn, hasInfo, hasOut, hasAJ, hasTerm} {
		if has {
			mask |= 1 << i
		}
	}
	switch mask {
	case 0:
		return j
	case 1:
		return struct {
			joinLimiter
			phx.InHandler
		}{j, in}
	case 2:
		return struct {
			joinLimiter
			phx.InfoHandler
		}{j, info}
	case 3:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
		}{j, in, info}
	case 4:
		return struct {
			joinLimiter
			phx.OutHandler
		}{j, out}
	case 5:
		return struct {
			joinLimiter
			phx.InHandler
			phx.OutHandler
		}{j, in, out}
	case 6:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.OutHandler
		}{j, info, out}
	case 7:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
		}{j, in, info, out}
	case 8:
		return struct {
			joinLimiter
			phx.AfterJoiner
		}{j, aj}
	case 9:
		return struct {
			joinLimiter
			phx.InHandler
			phx.AfterJoiner
		}{j, in, aj}
	case 10:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.AfterJoiner
		}{j, info, aj}
	case 11:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.AfterJoiner
		}{j, in, info, aj}
	case 12:
		return struct {
			joinLimiter
			phx.OutHandler
			phx.AfterJoiner
		}{j, out, aj}
	case 13:
		return struct {
			joinLimiter
			phx.InHandler
			phx.OutHandler
			phx.AfterJoiner
		}{j, in, out, aj}
	case 14:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
		}{j, info, out, aj}
	case 15:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
		}{j, in, info, out, aj}
	case 16:
		return struct {
			joinLimiter
			phx.Terminator
		}{j, term}
	case 17:
		return struct {
			joinLimiter
			phx.InHandler
			phx.Terminator
		}{j, in, term}
	case 18:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.Terminator
		}{j, info, term}
	case 19:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.Terminator
		}{j, in, info, term}
	case 20:
		return struct {
			joinLimiter
			phx.OutHandler
			phx.Terminator
		}{j, out, term}
	case 21:
		return struct {
			joinLimiter
			phx.InHandler
			phx.OutHandler
			phx.Terminator
		}{j, in, out, term}
	case 22:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.OutHandler
			phx.Terminator
		}{j, info, out, term}
	case 23:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
			phx.Terminator
		}{j, in, info, out, term}
	case 24:
		return struct {
			joinLimiter
			phx.AfterJoiner
			phx.Terminator
		}{j, aj, term}
	case 25:
		return struct {
			joinLimiter
			phx.InHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, in, aj, term}
	case 26:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, info, aj, term}
	case 27:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, in, info, aj, term}
	case 28:
		return struct {
			joinLimiter
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, out, aj, term}
	case 29:
		return struct {
			joinLimiter
			phx.InHandler
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, in, out, aj, term}
	case 30:
		return struct {
			joinLimiter
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, info, out, aj, term}
	case 31:
		return struct {
			joinLimiter
			phx.InHandler
			phx.InfoHandler
			phx.OutHandler
			phx.AfterJoiner
			phx.Terminator
		}{j, in, info, out, aj, term}
	}
	panic("unreachable")
}
