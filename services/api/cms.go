package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/webhook"
)

// GhostSignatureHeader is the header Ghost signs its webhooks with:
// "sha256=<hex HMAC-SHA256 of body followed by t>, t=<Unix milliseconds>".
const GhostSignatureHeader = "X-Ghost-Signature"

// hookAnswer is the CMS webhook's answer.
type hookAnswer struct {
	Action    string `json:"action"` // narrate, unpublish or ignore
	ID        string `json:"id,omitempty"`
	Revision  int    `json:"revision,omitempty"`
	State     string `json:"state,omitempty"`
	ArticleID string `json:"article_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// cmsHook handles POST /hooks/cms: a post published or updated is
// narrated (idempotently: a retried or repeated delivery starts nothing
// new), a post deleted or taken down is unpublished. The request must be
// signed with NARRATOR_CMS_SECRET, either narrator's way (Narrator-
// Timestamp and Narrator-Signature, as a WordPress plugin sends them) or
// Ghost's (X-Ghost-Signature), within Config.HookTolerance, and each
// delivery is accepted once. The signature's headers and timestamp are
// checked before the body is read, so that an unsigned or stale request
// costs no more than its headers.
func (s *Server) cmsHook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.CMSSecret == "" {
		writeError(w, http.StatusServiceUnavailable, "the CMS webhook is off: set NARRATOR_CMS_SECRET on the server and the same secret in the CMS")
		return
	}
	sig, err := s.hookSignature(r.Header)
	if err != nil {
		s.log.Warn("CMS webhook refused", "err", err, "remote", r.RemoteAddr)
		// Closing the connection spares reading a body nobody will use.
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.HookMaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes (NARRATOR_CMS_MAX_BODY)", tooBig.Limit))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "read the request body: "+err.Error())
		return
	}
	mac, err := sig.verify(s.cfg.CMSSecret, body)
	if err != nil {
		s.log.Warn("CMS webhook refused", "err", err, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	// Each delivery is taken once across every API server, whatever the
	// spelling of its signature: the record is keyed on the MAC that
	// verified and the time signed. A delivery that fails is forgotten, so
	// that the CMS may retry it.
	key := replayKey(sig.signedAt(), mac)
	first, err := s.q.Once(r.Context(), key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !first {
		writeError(w, http.StatusConflict, "this delivery was used before: a replayed delivery is refused (sign every delivery afresh)")
		return
	}
	ans, err := s.handleHook(r, body)
	if err != nil {
		if ferr := s.q.Forget(context.WithoutCancel(r.Context()), key); ferr != nil {
			s.log.Warn("CMS webhook: the failed delivery cannot be retried", "err", ferr)
		}
		var he *httpError
		if errors.As(err, &he) {
			writeError(w, he.status, he.msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if ans.Action == "narrate" {
		status = http.StatusAccepted
	}
	writeJSON(w, status, ans)
}

// replayKey names a verified delivery in the once-only record.
func replayKey(at time.Time, mac []byte) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(at.UnixMilli(), 10)))
	h.Write([]byte{0})
	h.Write(mac)
	return "cms." + hex.EncodeToString(h.Sum(nil))
}

// hookSig is a delivery's signature, read from its headers.
type hookSig interface {
	signedAt() time.Time
	// verify checks the body and returns the MAC that matched.
	verify(secret string, body []byte) ([]byte, error)
}

// hookSignature reads a delivery's signature headers, Ghost's or
// narrator's, and checks their timestamp, before the body is read.
func (s *Server) hookSignature(h http.Header) (hookSig, error) {
	var sig hookSig
	if g := h.Get(GhostSignatureHeader); g != "" {
		gs, err := parseGhostSig(g)
		if err != nil {
			return nil, err
		}
		sig = gs
	} else {
		ns, err := webhook.ParseSignature(h)
		if errors.Is(err, webhook.ErrNoSignature) {
			return nil, fmt.Errorf("%w (or %s, as Ghost sends)", err, GhostSignatureHeader)
		}
		if err != nil {
			return nil, err
		}
		sig = narratorSig{ns}
	}
	tol := s.cfg.HookTolerance
	if d := s.cfg.Now().Sub(sig.signedAt()); d > tol || d < -tol {
		return nil, fmt.Errorf("%w: signed %s from now (tolerance %s)", webhook.ErrTimestamp, d.Round(time.Second), tol)
	}
	return sig, nil
}

// narratorSig is a Narrator-Signature.
type narratorSig struct{ webhook.Signature }

func (n narratorSig) signedAt() time.Time { return n.At }
func (n narratorSig) verify(secret string, body []byte) ([]byte, error) {
	return n.Verify(secret, body)
}

// ghostSig is Ghost's "sha256=<hex HMAC-SHA256 of body followed by t>,
// t=<Unix milliseconds>", its fields in any order and spacing.
type ghostSig struct {
	mac []byte
	ts  string // as signed
	ms  int64
}

func parseGhostSig(header string) (ghostSig, error) {
	var sig, ts string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "sha256":
			sig = v
		case "t":
			ts = v
		}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if sig == "" || err != nil {
		return ghostSig{}, fmt.Errorf("%w: %s wants sha256=<hex>, t=<milliseconds>", webhook.ErrNoSignature, GhostSignatureHeader)
	}
	mac, err := hex.DecodeString(sig)
	if err != nil || len(mac) != sha256.Size {
		return ghostSig{}, webhook.ErrSignature
	}
	return ghostSig{mac: mac, ts: ts, ms: ms}, nil
}

func (g ghostSig) signedAt() time.Time { return time.UnixMilli(g.ms) }

func (g ghostSig) verify(secret string, body []byte) ([]byte, error) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(g.ts))
	want := m.Sum(nil)
	if !hmac.Equal(g.mac, want) {
		return nil, webhook.ErrSignature
	}
	return want, nil
}

// handleHook acts on a verified delivery.
func (s *Server) handleHook(r *http.Request, body []byte) (hookAnswer, error) {
	p, err := parseCMS(r.Header.Get("Content-Type"), body)
	if err != nil {
		return hookAnswer{}, &httpError{http.StatusBadRequest, err.Error()}
	}
	ctx := r.Context()
	ans := hookAnswer{Action: p.action, ArticleID: p.articleID, Reason: p.reason}
	switch p.action {
	case actionIgnore:
		return ans, nil
	case actionUnpublish:
		id := pipeline.JobID(p.articleID)
		j, err := s.unpublish(ctx, id, "cms")
		if errors.Is(err, queue.ErrNoJob) {
			ans.Action, ans.Reason = actionIgnore, "no narration of this post"
			return ans, nil
		}
		if err != nil {
			return ans, err
		}
		ans.ID, ans.Revision, ans.State = j.ID, j.Revision, string(j.State)
		return ans, nil
	}
	in := createRequest{ArticleID: p.articleID, Title: p.title, Section: p.section, Author: p.author}
	if p.html != "" {
		in.HTML = p.html
	} else {
		in.URL = p.url
	}
	j, err := s.submit(ctx, in, "cms")
	if err != nil {
		return ans, err
	}
	ans.ID, ans.Revision, ans.State = j.ID, j.Revision, string(j.State)
	return ans, nil
}
