package redact_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/redact"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:s3cret@nats-0:4222", "nats://REDACTED@nats-0:4222"},
		{"nats://TOKEN@nats-0:4222", "nats://REDACTED@nats-0:4222"},
		{"nats://a:p@n0:4222, nats://n1:4222,nats://b:q@n2:4222", "nats://REDACTED@n0:4222,nats://n1:4222,nats://REDACTED@n2:4222"},
		{"user:pass@nats-0:4222", "REDACTED@nats-0:4222"},
		{"https://api.example/v1?api-key=k", "https://api.example/v1?REDACTED"},
		{"https://hooks.example/in#frag", "https://hooks.example/in"},
		{"http://[::1]:7070/bucket", "http://[::1]:7070/bucket"},
		{"https://news.example/a b", "https://news.example/a%20b"},
		{"::not a url", redact.Unparsable},
		{"/relative/path", redact.Unparsable},
	} {
		if got := redact.URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestError(t *testing.T) {
	_, err := http.Get("http://user:pw@127.0.0.1:1/v1?key=tok")
	red := redact.Error(err, "https://a:b@configured.example/?sig=c")
	if msg := red.Error(); strings.Contains(msg, "user") || strings.Contains(msg, "tok") || !strings.Contains(msg, "connection refused") {
		t.Errorf("redacted error %q", msg)
	}
	var ue *url.Error
	if !errors.As(red, &ue) {
		t.Error("the redacted error does not unwrap to the *url.Error")
	}
	lib := errors.New(`endpoint https://a:b@configured.example/?sig=c is not valid`)
	if msg := redact.Error(lib, "https://a:b@configured.example/?sig=c").Error(); msg != "endpoint https://REDACTED@configured.example/?REDACTED is not valid" {
		t.Errorf("a configured URL quoted by a library: %q", msg)
	}
	if redact.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}
