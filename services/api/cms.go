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
// signature is accepted once.
func (s *Server) cmsHook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.CMSSecret == "" {
		writeError(w, http.StatusServiceUnavailable, "the CMS webhook is off: set NARRATOR_CMS_SECRET on the server and the same secret in the CMS")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", tooBig.Limit))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "read the request body: "+err.Error())
		return
	}
	sig, err := s.verifyHook(r.Header, body)
	if err != nil {
		s.log.Warn("CMS webhook refused", "err", err, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	// Each signature is taken once across every API server; a delivery
	// that fails is forgotten, so that the CMS may retry it.
	sum := sha256.Sum256([]byte(sig))
	key := "cms." + hex.EncodeToString(sum[:])
	first, err := s.q.Once(r.Context(), key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !first {
		writeError(w, http.StatusConflict, "this signature was used before: a replayed delivery is refused (sign every delivery afresh)")
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

// verifyHook checks a webhook's signature and timestamp and returns the
// signature, for the replay check.
func (s *Server) verifyHook(h http.Header, body []byte) (string, error) {
	now := s.cfg.Now()
	if g := h.Get(GhostSignatureHeader); g != "" {
		return g, verifyGhost(s.cfg.CMSSecret, g, body, now, s.cfg.HookTolerance)
	}
	if err := webhook.Verify(s.cfg.CMSSecret, h, body, now, s.cfg.HookTolerance); err != nil {
		if errors.Is(err, webhook.ErrNoSignature) {
			return "", fmt.Errorf("%w (or %s, as Ghost sends)", err, GhostSignatureHeader)
		}
		return "", err
	}
	return h.Get(webhook.SignatureHeader), nil
}

// verifyGhost checks Ghost's signature header.
func verifyGhost(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
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
		return fmt.Errorf("%w: %s wants sha256=<hex>, t=<milliseconds>", webhook.ErrNoSignature, GhostSignatureHeader)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(ts))
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return webhook.ErrSignature
	}
	if d := now.Sub(time.UnixMilli(ms)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s from now (tolerance %s)", webhook.ErrTimestamp, d.Round(time.Second), tolerance)
	}
	return nil
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
