package longpoll

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	a := tokens{secret: []byte("secret-a")}
	b := tokens{secret: []byte("secret-b")}
	id := newID()
	if len(id) != idBytes {
		t.Fatalf("id of %d bytes", len(id))
	}
	if newID() == id {
		t.Fatal("two equal random ids")
	}
	tok := a.sign(id)
	if got, ok := a.verify(tok); !ok || got != id {
		t.Fatalf("verify(sign(id)) = %q, %v", got, ok)
	}
	if strings.ContainsAny(tok, "+/=?&# ") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	if _, ok := b.verify(tok); ok {
		t.Error("a token of another secret verified")
	}
	idPart, macPart, _ := strings.Cut(tok, ".")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"no dot":         idPart + macPart,
		"id changed":     flip(idPart, 0) + "." + macPart,
		"mac changed":    idPart + "." + flip(macPart, 5),
		"mac truncated":  idPart + "." + macPart[:40],
		"id too long":    idPart + "AA." + macPart,
		"padded":         base64.URLEncoding.EncodeToString([]byte(id)) + "." + macPart,
		"non-canonical":  idPart[:21] + string(idPart[21]^1) + "." + macPart,
		"std alphabet":   strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "x",
		"other id":       a.sign(newID())[:22] + "." + macPart,
		"extra segments": tok + ".x",
	} {
		if _, ok := a.verify(bad); ok {
			t.Errorf("%s: %q verified", name, bad)
		}
	}
}
