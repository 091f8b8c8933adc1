package longpoll

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// idBytes is the size of a session id: 128 random bits.
const idBytes = 16

// tokens mints and verifies session tokens: base64url(id) "." base64url(
// HMAC-SHA256(secret, id)), unpadded. The id is random and names the
// session; the MAC makes tokens of another secret (another deployment, or a
// guess) fail verification before any lookup. In a cluster (node set) the
// token also names the node that owns the session: base64url(id) "."
// base64url(node) "." base64url(HMAC-SHA256(secret, id || node)), so any
// node can tell, without a lookup, which node to relay a request to.
type tokens struct {
	secret []byte
	node   string // this node's name; "" outside a cluster
}

// maxNodeName bounds the node name a token may carry.
const maxNodeName = 255

// newID returns a fresh random session id.
func newID() string {
	b := make([]byte, idBytes)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return string(b)
}

// mac authenticates id (fixed size) followed by the owner's node name.
func (t tokens) mac(id, node string) []byte {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(id))
	m.Write([]byte(node))
	return m.Sum(nil)
}

// sign returns the token of a session id owned by this node.
func (t tokens) sign(id string) string {
	enc := base64.RawURLEncoding.Strict()
	if t.node == "" {
		return enc.EncodeToString([]byte(id)) + "." + enc.EncodeToString(t.mac(id, ""))
	}
	return enc.EncodeToString([]byte(id)) + "." + enc.EncodeToString([]byte(t.node)) + "." + enc.EncodeToString(t.mac(id, t.node))
}

// verify returns the session id a token names when its MAC is valid,
// whichever node owns it.
func (t tokens) verify(token string) (id string, ok bool) {
	id, _, ok = t.verifyOwner(token)
	return id, ok
}

// verifyOwner returns the session id a token names and its owner node ("" for
// a token minted outside a cluster) when its MAC is valid.
func (t tokens) verifyOwner(token string) (id, node string, ok bool) {
	idPart, rest, found := strings.Cut(token, ".")
	if !found || len(idPart) != 22 {
		return "", "", false
	}
	enc := base64.RawURLEncoding.Strict()
	macPart := rest
	if nodePart, m, found := strings.Cut(rest, "."); found {
		if nodePart == "" || len(nodePart) > (maxNodeName*4+2)/3 {
			return "", "", false
		}
		raw, err := enc.DecodeString(nodePart)
		if err != nil || len(raw) == 0 {
			return "", "", false
		}
		node, macPart = string(raw), m
	}
	if len(macPart) != 43 {
		return "", "", false
	}
	raw, err := enc.DecodeString(idPart)
	if err != nil || len(raw) != idBytes {
		return "", "", false
	}
	sum, err := enc.DecodeString(macPart)
	if err != nil {
		return "", "", false
	}
	id = string(raw)
	if !hmac.Equal(sum, t.mac(id, node)) {
		return "", "", false
	}
	return id, node, true
}
