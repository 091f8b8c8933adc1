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
// guess) fail verification before any lookup.
type tokens struct {
	secret []byte
}

// newID returns a fresh random session id.
func newID() string {
	b := make([]byte, idBytes)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return string(b)
}

func (t tokens) mac(id string) []byte {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(id))
	return m.Sum(nil)
}

// sign returns the token of a session id.
func (t tokens) sign(id string) string {
	enc := base64.RawURLEncoding.Strict()
	return enc.EncodeToString([]byte(id)) + "." + enc.EncodeToString(t.mac(id))
}

// verify returns the session id a token names when its MAC is valid.
func (t tokens) verify(token string) (id string, ok bool) {
	idPart, macPart, found := strings.Cut(token, ".")
	if !found || len(idPart) != 22 || len(macPart) != 43 {
		return "", false
	}
	enc := base64.RawURLEncoding.Strict()
	raw, err := enc.DecodeString(idPart)
	if err != nil || len(raw) != idBytes {
		return "", false
	}
	sum, err := enc.DecodeString(macPart)
	if err != nil {
		return "", false
	}
	id = string(raw)
	if !hmac.Equal(sum, t.mac(id)) {
		return "", false
	}
	return id, true
}
