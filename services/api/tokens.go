package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Scope is what a token may do.
type Scope int

// Scopes, each allowing what the one before it does.
const (
	ScopeRead   Scope = iota + 1 // list and read narrations, events, lexicons, usage
	ScopeEditor                  // and submit, re-narrate, unpublish, edit lexicons
)

// String names the scope as the token configuration does.
func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeEditor:
		return "editor"
	}
	return "none"
}

// Token is an API token as the server keeps it: a name for logs, a scope,
// and the SHA-256 of the secret, never the secret itself.
type Token struct {
	Name  string
	Scope Scope
	Hash  [sha256.Size]byte
}

// MinTokenLen is the shortest token secret accepted.
const MinTokenLen = 16

// HashToken returns the "sha256:<hex>" form of a secret, which the token
// configuration accepts in place of the secret so that it need not be
// stored in clear.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(h[:])
}

// ParseTokens reads a token list: entries "name:scope:secret" separated by
// commas or new lines (blank lines and lines starting with # are skipped),
// as in NARRATOR_API_TOKENS="newsdesk:editor:<secret>,stats:read:<secret>".
// The scope is read or editor; the secret may be given as "sha256:<hex>"
// (see HashToken). Removing an entry revokes its token.
func ParseTokens(spec string) ([]Token, error) {
	var out []Token
	var errs []error
	seen := map[string]bool{}
	for i, line := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseToken(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("api: API token entry %d: %w", i+1, err))
			continue
		}
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("api: two API tokens are named %q; names must be unique", t.Name))
			continue
		}
		seen[t.Name] = true
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

func parseToken(entry string) (Token, error) {
	name, rest, ok1 := strings.Cut(entry, ":")
	scope, secret, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return Token{}, errors.New("want name:scope:secret, e.g. newsdesk:editor:<secret from openssl rand -hex 32>")
	}
	t := Token{Name: strings.TrimSpace(name)}
	if t.Name == "" || strings.IndexFunc(t.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return Token{}, fmt.Errorf("name %q: use letters, digits, '-', '_' and '.'", t.Name)
	}
	switch strings.TrimSpace(scope) {
	case "read":
		t.Scope = ScopeRead
	case "editor":
		t.Scope = ScopeEditor
	default:
		// The scope is not echoed: a misordered entry puts the secret there.
		return Token{}, fmt.Errorf("token %q: the scope must be read or editor (entries are name:scope:secret)", t.Name)
	}
	secret = strings.TrimSpace(secret)
	if h, ok := strings.CutPrefix(secret, "sha256:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return Token{}, fmt.Errorf("token %q: sha256: wants 64 hex digits", t.Name)
		}
		copy(t.Hash[:], b)
		return t, nil
	}
	if len(secret) < MinTokenLen {
		return Token{}, fmt.Errorf("token %q is %d characters; use at least %d (e.g. openssl rand -hex 32)", t.Name, len(secret), MinTokenLen)
	}
	t.Hash = sha256.Sum256([]byte(secret))
	return t, nil
}
