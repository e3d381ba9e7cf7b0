package api_test

import (
	"strings"
	"testing"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
)

func TestParseTokens(t *testing.T) {
	hashed := api.HashToken("a-secret-kept-hashed-0001")
	for _, tc := range []struct {
		name, spec string
		names      []string
		err        string // in the error; "" for none
	}{
		{"empty", "", nil, ""},
		{"two", "newsdesk:editor:" + editorToken + ",stats:read:" + readerToken, []string{"newsdesk", "stats"}, ""},
		{"file with comments", "# tokens\nnewsdesk:editor:" + editorToken + "\n\n  stats:read:" + readerToken + "  \n", []string{"newsdesk", "stats"}, ""},
		{"hashed", "ci:read:" + hashed, []string{"ci"}, ""},
		{"short secret", "newsdesk:editor:short", nil, "at least 16"},
		{"unknown scope", "newsdesk:admin:" + editorToken, nil, "must be read or editor"},
		{"no scope", "newsdesk:" + editorToken, nil, "name:scope:secret"},
		{"secret and scope swapped", "newsdesk:" + editorToken + ":editor", nil, "must be read or editor"},
		{"bad name", "news desk:read:" + readerToken, nil, "name"},
		{"duplicate name", "a:read:" + readerToken + ",a:editor:" + editorToken, nil, "unique"},
		{"bad hash", "ci:read:sha256:abcd", nil, "64 hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := api.ParseTokens(tc.spec)
			if err != nil && (strings.Contains(err.Error(), editorToken) || strings.Contains(err.Error(), readerToken)) {
				t.Errorf("the error shows a secret: %v", err)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v, want one mentioning %q", err, tc.err)
				}
				if err != nil && (strings.Contains(err.Error(), editorToken) || strings.Contains(err.Error(), readerToken)) {
					t.Errorf("the error repeats a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tk := range toks {
				names = append(names, tk.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.names, ",") {
				t.Errorf("names %v, want %v", names, tc.names)
			}
		})
	}
}

// TestHashedTokenAuthenticates checks that a token configured by its hash
// opens the API with the secret it hashes.
func TestHashedTokenAuthenticates(t *testing.T) {
	const secret = "a-secret-kept-hashed-0001"
	e := start(t, func(c *api.Config) { c.Tokens = mustTokens(t, "ci:read:"+api.HashToken(secret)) })
	if status, body := e.do("GET", "/api/narrations", secret, nil); status != 200 {
		t.Errorf("%d %s", status, body)
	}
	if status, _ := e.do("GET", "/api/narrations", api.HashToken(secret), nil); status != 401 {
		t.Errorf("the hash itself was accepted as a token: %d", status)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  api.Config
		want string
	}{
		{"no provider", api.Config{}, "provider"},
		{"short CMS secret", api.Config{Options: queue.Options{Provider: "local"}, CMSSecret: "abc"}, "NARRATOR_CMS_SECRET"},
		{"negative price", api.Config{Options: queue.Options{Provider: "local"}, Prices: map[string]float64{"openai": -1}}, "negative"},
		{"player path", api.Config{Options: queue.Options{Provider: "local"}, PlayerPath: "player"}, "start and end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if p, err := api.ParsePrices("openai:15, polly:16"); err != nil || p["openai"] != 15 || p["polly"] != 16 {
		t.Errorf("ParsePrices = %v, %v", p, err)
	}
	if _, err := api.ParsePrices("openai:fifteen"); err == nil {
		t.Error("ParsePrices accepted a price that is not a number")
	}
}

// FuzzParseTokens checks that the parser never panics and never accepts
// a plain secret shorter than the minimum.
func FuzzParseTokens(f *testing.F) {
	f.Add("newsdesk:editor:" + editorToken + ",stats:read:" + readerToken)
	f.Add("a:read:sha256:" + strings.Repeat("0", 64))
	f.Add("::,\n#x")
	f.Fuzz(func(t *testing.T, spec string) {
		toks, err := api.ParseTokens(spec)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tk := range toks {
			if tk.Name == "" || seen[tk.Name] || (tk.Scope != api.ScopeRead && tk.Scope != api.ScopeEditor) {
				t.Errorf("accepted %+v from %q", tk, spec)
			}
			seen[tk.Name] = true
		}
	})
}
