// Package wire is the versioned encoding of the messages that Seance's
// PubSub adapters (pubsub/redis, pubsub/nats) exchange between nodes, and the
// per-sender sequence numbers that let a receiver count messages it missed.
//
// A message is, in order:
//
//	version  1 byte   (Version; receivers drop other versions)
//	flags    1 byte   (bit 0: binary payload)
//	epoch    8 bytes  big endian: the sender's sequence epoch
//	seq      uvarint  sequence number within (sender, epoch, bus channel)
//	from     uvarint length + bytes
//	to       uvarint length + bytes (empty: every node)
//	topic    uvarint length + bytes
//	event    uvarint length + bytes
//	payload  the remaining bytes
//
// Version 0 is never sent. A later version may append fields after event
// only if it also bumps the version byte: version 1 receivers read the rest
// of the message as the payload.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the encoding version this package writes and reads.
const Version = 1

// Flag bits.
const flagBinary = 1 << 0

// ErrUnknownVersion is returned by Decode for a message of another version.
var ErrUnknownVersion = errors.New("wire: unknown message version")

// ErrMalformed is returned by Decode for a truncated or invalid message.
var ErrMalformed = errors.New("wire: malformed message")

// Message is one broadcast or direct message between nodes.
type Message struct {
	// Epoch and Seq number the sender's messages on one bus channel; see
	// Sequencer and Tracker.
	Epoch uint64
	Seq   uint64
	// From is the sending node, To the addressed node ("" for all).
	From, To string
	// Topic, Event and Payload are the broadcast; Binary marks a binary
	// payload.
	Topic, Event string
	Payload      []byte
	Binary       bool
}

// Append appends the encoding of m to dst and returns the extended slice.
func Append(dst []byte, m *Message) []byte {
	var flags byte
	if m.Binary {
		flags |= flagBinary
	}
	dst = append(dst, Version, flags)
	dst = binary.BigEndian.AppendUint64(dst, m.Epoch)
	dst = binary.AppendUvarint(dst, m.Seq)
	for _, s := range [...]string{m.From, m.To, m.Topic, m.Event} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return append(dst, m.Payload...)
}

// Size returns the encoded length of m, for sizing a buffer.
func Size(m *Message) int {
	n := 2 + 8 + binary.MaxVarintLen64 + len(m.Payload)
	for _, s := range [...]string{m.From, m.To, m.Topic, m.Event} {
		n += binary.MaxVarintLen64 + len(s)
	}
	return n
}

// Decode parses one message. The payload aliases b. It fails with an error
// wrapping ErrUnknownVersion or ErrMalformed.
func Decode(b []byte) (Message, error) {
	var m Message
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != Version {
		return m, fmt.Errorf("%w %d", ErrUnknownVersion, b[0])
	}
	if len(b) < 10 {
		return m, fmt.Errorf("%w: %d-byte header", ErrMalformed, len(b))
	}
	flags := b[1]
	if flags&^flagBinary != 0 {
		return m, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, flags)
	}
	m.Binary = flags&flagBinary != 0
	m.Epoch = binary.BigEndian.Uint64(b[2:10])
	b = b[10:]
	seq, n := binary.Uvarint(b)
	if n <= 0 {
		return m, fmt.Errorf("%w: sequence number", ErrMalformed)
	}
	m.Seq, b = seq, b[n:]
	fields := [...]*string{&m.From, &m.To, &m.Topic, &m.Event}
	for i, f := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return m, fmt.Errorf("%w: field %d length", ErrMalformed, i)
		}
		*f = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) > 0 {
		m.Payload = b
	}
	return m, nil
}
