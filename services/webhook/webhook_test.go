package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
)

const secret = "whsec-0123456789abcdef"

func sample() Event {
	return NewEvent(Completed, Narration{
		ID: "budget-2026", ArticleID: "budget-2026", Revision: 2, State: "done", Title: "Council passes budget",
		AudioURL: "https://media.example/narrations/budget-2026/3f2a.mp3", Duration: 184.3, Bytes: 3686400, BilledChars: 2764,
	}, time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"id":"x"}`)
	signed := func(ts time.Time, key string, b []byte) http.Header {
		h := http.Header{}
		SetHeaders(h, key, ts, b)
		return h
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		want error
	}{
		{"valid", signed(now, secret, body), nil},
		{"valid, a little old", signed(now.Add(-4*time.Minute), secret, body), nil},
		{"valid, clock a little ahead", signed(now.Add(2*time.Minute), secret, body), nil},
		{"other body", signed(now, secret, []byte(`{"id":"y"}`)), ErrSignature},
		{"other secret", signed(now, "another-secret-of-length", body), ErrSignature},
		{"old timestamp", signed(now.Add(-6*time.Minute), secret, body), ErrTimestamp},
		{"future timestamp", signed(now.Add(6*time.Minute), secret, body), ErrTimestamp},
		{"unsigned", http.Header{}, ErrNoSignature},
		{"timestamp changed after signing", func() http.Header {
			h := signed(now.Add(-time.Hour), secret, body)
			h.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
			return h
		}(), ErrSignature},
		{"timestamp not a number", func() http.Header {
			h := signed(now, secret, body)
			h.Set(TimestampHeader, now.Format(time.RFC3339))
			return h
		}(), ErrTimestamp},
		{"rotation: one of two signatures valid", func() http.Header {
			h := signed(now, secret, body)
			h.Set(SignatureHeader, Sign("the-previous-secret-value", now, body)+", "+h.Get(SignatureHeader))
			return h
		}(), nil},
		{"unknown scheme only", func() http.Header {
			h := signed(now, secret, body)
			h.Set(SignatureHeader, strings.Replace(h.Get(SignatureHeader), "v1=", "v0=", 1))
			return h
		}(), ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(secret, tc.h, body, now, 0)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// receiver is a test endpoint that verifies each request and answers with
// the statuses it is given in turn (the last repeats).
type receiver struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex
	statuses []int
	got      []Event
	bad      []error
	header   http.Header // extra headers of every answer
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{t: t, statuses: statuses, header: http.Header{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := Verify(secret, req.Header, body, time.Now(), 0); err != nil {
		r.bad = append(r.bad, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil || req.Header.Get(EventHeader) != string(e.Type) || req.Header.Get(DeliveryHeader) != e.ID {
		r.bad = append(r.bad, errors.New("body and headers disagree"))
	}
	r.got = append(r.got, e)
	status := r.statuses[min(len(r.got), len(r.statuses))-1]
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status))
}

func (r *receiver) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.got...)
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendClassifiesAnswers(t *testing.T) {
	for _, tc := range []struct {
		status     int
		header     string // Retry-After
		permanent  bool
		ok         bool
		retryAfter time.Duration
	}{
		{status: 200, ok: true},
		{status: 202, ok: true},
		{status: 204, ok: true},
		{status: 301, permanent: true},
		{status: 400, permanent: true},
		{status: 401, permanent: true},
		{status: 404, permanent: true},
		{status: 408},
		{status: 410, permanent: true},
		{status: 422, permanent: true},
		{status: 429, header: "7", retryAfter: 7 * time.Second},
		{status: 500},
		{status: 502},
		{status: 503, header: "2", retryAfter: 2 * time.Second},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			rc := newReceiver(t, tc.status)
			if tc.header != "" {
				rc.header.Set("Retry-After", tc.header)
			}
			if tc.status == 301 {
				rc.header.Set("Location", "https://hooks.example/new?token=secret")
			}
			err := newSender(t, Config{}).Send(context.Background(), rc.URL+"/hook?token=secret", sample())
			if tc.ok {
				if err != nil {
					t.Fatalf("Send = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if fault.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v (%v)", fault.IsPermanent(err), tc.permanent, err)
			}
			if got := fault.RetryAfter(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status {
				t.Errorf("err = %v, want a StatusError with %d", err, tc.status)
			}
			if strings.Contains(err.Error(), "token=secret") {
				t.Errorf("the endpoint's query string leaked into the error: %v", err)
			}
			if len(rc.bad) != 0 {
				t.Errorf("receiver refused the request: %v", rc.bad)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // so that the server notices the client hang up
			<-r.Context().Done()
		}))
		t.Cleanup(hang.Close)
		err := newSender(t, Config{Timeout: 50 * time.Millisecond}).Send(context.Background(), hang.URL, sample())
		if err == nil || fault.IsPermanent(err) {
			t.Errorf("a timeout must be temporary, got %v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		err := newSender(t, Config{}).Send(context.Background(), gone.URL, sample())
		if err == nil || fault.IsPermanent(err) {
			t.Errorf("a refused connection must be temporary, got %v", err)
		}
	})
	t.Run("not a URL", func(t *testing.T) {
		err := newSender(t, Config{}).Send(context.Background(), "ftp://hooks.example/", sample())
		if !fault.IsPermanent(err) {
			t.Errorf("a bad endpoint must be permanent, got %v", err)
		}
	})
}

// TestRetriedUntilTheReceiverRecovers drives the Sender as the pipeline's
// runner does: retry what is temporary, stop at success or a permanent
// error. The receiver is down for three attempts.
func TestRetriedUntilTheReceiverRecovers(t *testing.T) {
	rc := newReceiver(t, 503, 502, 503, 200)
	s := newSender(t, Config{})
	e := sample()
	var records []Delivery
	for attempt := 1; ; attempt++ {
		err := s.Send(context.Background(), rc.URL, e)
		records = append(records, Record(e, rc.URL, attempt, err, time.Now()))
		if err == nil {
			break
		}
		if fault.IsPermanent(err) || attempt == 10 {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	got := rc.events()
	if len(got) != 4 {
		t.Fatalf("receiver saw %d attempts, want 4", len(got))
	}
	for _, g := range got {
		if g.ID != e.ID || g.Narration.AudioURL != e.Narration.AudioURL {
			t.Errorf("attempt carried %+v, want the same event every time", g)
		}
	}
	if len(rc.bad) != 0 {
		t.Errorf("receiver refused: %v", rc.bad)
	}
	want := []string{StateRetrying, StateRetrying, StateRetrying, StateDelivered}
	for i, r := range records {
		if r.State != want[i] || r.Attempts != i+1 {
			t.Errorf("record %d: %+v, want state %s", i, r, want[i])
		}
	}
	if records[0].Status != 503 || !strings.Contains(records[0].Error, "503") {
		t.Errorf("first record %+v does not name the 503", records[0])
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // in the error; "" for valid
	}{
		{"none", Config{}, ""},
		{"valid", Config{URLs: []string{"https://hooks.example/narrator"}, Secret: secret}, ""},
		{"no secret", Config{URLs: []string{"https://hooks.example/narrator"}}, "NARRATOR_WEBHOOK_SECRET"},
		{"short secret", Config{URLs: []string{"https://hooks.example/narrator"}, Secret: "abc"}, "at least 16"},
		{"relative URL", Config{URLs: []string{"/hook"}, Secret: secret}, "absolute http"},
		{"other scheme", Config{URLs: []string{"ftp://hooks.example/"}, Secret: secret}, "absolute http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
	if got := SplitURLs("https://a.example/h, https://b.example/h\nhttps://c.example/h"); len(got) != 3 {
		t.Errorf("SplitURLs = %q", got)
	}
}

// FuzzVerify checks that Verify never panics on arbitrary headers and
// accepts a signature only when it was made with the secret.
func FuzzVerify(f *testing.F) {
	f.Add("1780000000", "v1=00", []byte("{}"))
	f.Add("", "", []byte{})
	f.Add("-1", "v1=zz, v1=", []byte("x"))
	now := time.Unix(1_780_000_000, 0)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(TimestampHeader, ts)
		h.Set(SignatureHeader, sig)
		if err := Verify(secret, h, body, now, 0); err == nil {
			if !strings.Contains(sig, Sign(secret, time.Unix(mustInt(ts), 0), body)[3:]) {
				t.Errorf("accepted %q over %q without the secret's signature", sig, ts)
			}
		}
	})
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
