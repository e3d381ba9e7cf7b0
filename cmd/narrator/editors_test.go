package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
)

func TestLoadEditorsEnv(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "tokens")
	os.WriteFile(tokenFile, []byte("# desk\nnewsdesk:editor:0123456789abcdef0123\nstats:read:fedcba9876543210fedc\n"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // in the error; "" for valid
	}{
		{"nothing set", map[string]string{}, ""},
		{"everything", map[string]string{
			"NARRATOR_API_TOKENS_FILE": tokenFile, "NARRATOR_CMS_SECRET": "cms-secret-0123456789",
			"NARRATOR_PRICES": "openai:15,listen:0.003", "NARRATOR_PLAYER_PATH": "/player/", "NARRATOR_SECURE_COOKIES": "true",
			"NARRATOR_WEBHOOK_URLS": "https://hooks.example/narrator", "NARRATOR_WEBHOOK_SECRET": "whsec-0123456789abcdef",
			"NARRATOR_SESSION_LIFETIME": "8h", "NARRATOR_SIGNIN_LIMIT": "5", "NARRATOR_CLIENT_IP_HEADER": "X-Forwarded-For",
			"NARRATOR_STREAMS_PER_TOKEN": "4", "NARRATOR_CMS_MAX_BODY": "512KiB",
		}, ""},
		{"sign-in limit off", map[string]string{"NARRATOR_SIGNIN_LIMIT": "off"}, ""},
		{"bad lifetime", map[string]string{"NARRATOR_SESSION_LIFETIME": "a day"}, "NARRATOR_SESSION_LIFETIME"},
		{"lifetime too long", map[string]string{"NARRATOR_SESSION_LIFETIME": "2000h"}, "NARRATOR_SESSION_LIFETIME"},
		{"bad sign-in limit", map[string]string{"NARRATOR_SIGNIN_LIMIT": "0"}, "NARRATOR_SIGNIN_LIMIT"},
		{"bad stream cap", map[string]string{"NARRATOR_STREAMS_PER_TOKEN": "many"}, "NARRATOR_STREAMS_PER_TOKEN"},
		{"bad hook body", map[string]string{"NARRATOR_CMS_MAX_BODY": "2 furlongs"}, "NARRATOR_CMS_MAX_BODY"},
		{"tiny hook body", map[string]string{"NARRATOR_CMS_MAX_BODY": "100"}, "NARRATOR_CMS_MAX_BODY"},
		{"huge hook body", map[string]string{"NARRATOR_CMS_MAX_BODY": "1GiB"}, "NARRATOR_CMS_MAX_BODY"},
		{"bad token", map[string]string{"NARRATOR_API_TOKENS": "newsdesk:admin:0123456789abcdef0123"}, "NARRATOR_API_TOKENS"},
		{"token and file", map[string]string{"NARRATOR_API_TOKENS": "x", "NARRATOR_API_TOKENS_FILE": tokenFile}, "not both"},
		{"missing file", map[string]string{"NARRATOR_CMS_SECRET_FILE": filepath.Join(dir, "nope")}, "NARRATOR_CMS_SECRET_FILE"},
		{"short CMS secret", map[string]string{"NARRATOR_CMS_SECRET": "short"}, "NARRATOR_CMS_SECRET"},
		{"webhook without secret", map[string]string{"NARRATOR_WEBHOOK_URLS": "https://hooks.example/n"}, "NARRATOR_WEBHOOK_SECRET"},
		{"bad price", map[string]string{"NARRATOR_PRICES": "openai"}, "NARRATOR_PRICES"},
		{"bad bool", map[string]string{"NARRATOR_SECURE_COOKIES": "yes please"}, "NARRATOR_SECURE_COOKIES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ed, err := loadEditorsEnv(func(k string) string { return tc.env[k] }, queue.Options{Provider: "local"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "everything" && (len(ed.API.Tokens) != 2 || ed.API.CMSSecret == "" || len(ed.Webhook.URLs) != 1 || !ed.API.SecureCookies ||
					ed.API.SessionLifetime != 8*time.Hour || ed.API.SignInLimit != 5 || ed.API.ClientIPHeader != "X-Forwarded-For" ||
					ed.API.StreamsPerToken != 4 || ed.API.HookMaxBody != 512<<10 ||
					ed.API.Prices["openai"] != 15 || len(ed.API.Prices) != 1 || ed.API.ListenPrice != 0.003) { // a minute's price, apart
					t.Errorf("read %+v", ed)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
