package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
)

// SignInWindow is the period over which failed sign-ins are counted.
const SignInWindow = 15 * time.Minute

// clientAddr is the address a request came from: the connection's peer,
// or behind a proxy the address the proxy names in ClientIPHeader (the
// last one of a list, which the proxy itself appended).
func (s *Server) clientAddr(r *http.Request) string {
	if h := s.cfg.ClientIPHeader; h != "" {
		if v := r.Header.Values(h); len(v) > 0 {
			list := strings.Split(v[len(v)-1], ",")
			if a := strings.TrimSpace(list[len(list)-1]); a != "" {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// signInKeys are the keys of an address's failed sign-ins in the current
// window: one key per failure, each deleted by NATS when the window ends,
// so that every API server counts the same failures and nothing is left
// behind. The address is hashed: the bucket holds no addresses.
func (s *Server) signInKeys(addr string) (keys []string, retry time.Duration) {
	now := s.cfg.Now()
	start := now.Truncate(SignInWindow)
	h := sha256.Sum256([]byte(addr))
	prefix := fmt.Sprintf("signin.%s.%d.", hex.EncodeToString(h[:16]), start.Unix())
	for i := range s.cfg.SignInLimit {
		keys = append(keys, fmt.Sprintf("%s%d", prefix, i))
	}
	return keys, start.Add(SignInWindow).Sub(now)
}

// signInBlocked reports how long an address must wait before it may try
// to sign in again: zero while it has failed fewer times than the limit in
// this window.
func (s *Server) signInBlocked(ctx context.Context, addr string) (time.Duration, error) {
	if s.cfg.SignInLimit <= 0 {
		return 0, nil
	}
	keys, retry := s.signInKeys(addr)
	_, err := s.q.Sessions().Get(ctx, keys[len(keys)-1])
	if errors.Is(err, queue.ErrNoDoc) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return retry, nil
}

// signInFailed counts a failed sign-in of an address.
func (s *Server) signInFailed(ctx context.Context, addr string) error {
	if s.cfg.SignInLimit <= 0 {
		return nil
	}
	keys, retry := s.signInKeys(addr)
	mark := make([]byte, 8) // unique, as the bucket's values must be
	rand.Read(mark)
	for _, k := range keys {
		err := s.q.Sessions().Create(ctx, k, mark, retry+time.Second)
		if !errors.Is(err, queue.ErrDocExists) {
			return err
		}
	}
	return nil
}
