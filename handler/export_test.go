package handler

// MaskedFrame is a client's frame for the external tests: first byte b0,
// payload masked with key (a zero key sends it as is).
func MaskedFrame(b0 byte, key [4]byte, payload []byte) []byte {
	return maskedFrame(b0, key, payload)
}

// FrameEnd is frameEnd for the external tests.
func FrameEnd(b []byte) (end int, fin bool, op byte, ok bool) { return frameEnd(b) }
