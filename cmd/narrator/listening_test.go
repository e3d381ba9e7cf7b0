package main

import (
	"testing"

	"github.com/narrator-project/narrator/services/synth"
)

// TestRecognitionSharesTheLimiterOfItsAccount: the listening check's
// requests take from the synthesis rate limiter only when they bill the
// same account: the openai engine, the same base URL and the same key.
func TestRecognitionSharesTheLimiterOfItsAccount(t *testing.T) {
	lim, err := synth.NewTokenBucket(synth.TokenBucketConfig{RPM: 60})
	if err != nil {
		t.Fatal(err)
	}
	const api = "http://127.0.0.1:9/v1"
	for _, tc := range []struct {
		name      string
		s         settings
		listenKey string
		shared    bool
	}{
		{"same account", settings{Engine: "openai", OpenAIURL: api}, "", true},
		{"same key named twice", settings{Engine: "openai", OpenAIURL: api}, "sk-synth", true},
		{"another server", settings{Engine: "openai", OpenAIURL: api, ListenURL: "http://127.0.0.1:10/v1"}, "", false},
		{"another key", settings{Engine: "openai", OpenAIURL: api}, "sk-other", false},
		{"another provider", settings{Engine: "polly", OpenAIURL: api}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", "sk-synth")
			t.Setenv("LISTEN_API_KEY", tc.listenKey)
			tc.s.Listen, tc.s.ListenModel = "check", "whisper-1"
			l, err := tc.s.listening(nil, lim)
			if err != nil {
				t.Fatal(err)
			}
			if l.Listener == nil || (l.Limiter != nil) != tc.shared {
				t.Errorf("listener %v, limiter %v; want shared %v", l.Listener, l.Limiter, tc.shared)
			}
		})
	}
}
