package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/webhook"
)

// editorsEnv is the configuration of the editors' HTTP surface and of the
// outgoing webhooks, as the environment gives it.
type editorsEnv struct {
	API     api.Config
	Webhook webhook.Config
}

// loadEditorsEnv reads NARRATOR_API_TOKENS, NARRATOR_CMS_SECRET (each or
// its _FILE), NARRATOR_PRICES, NARRATOR_PLAYER_PATH, NARRATOR_SECURE_COOKIES,
// NARRATOR_WEBHOOK_URLS and NARRATOR_WEBHOOK_SECRET (or _FILE); submitted
// narrations get options. Every problem is reported at once.
func loadEditorsEnv(getenv func(string) string, options queue.Options) (editorsEnv, error) {
	var ed editorsEnv
	var errs []error
	ed.API.Options = options

	tokens, err := readSecretEnv(getenv, "NARRATOR_API_TOKENS")
	errs = append(errs, err)
	if ed.API.Tokens, err = api.ParseTokens(tokens); err != nil {
		errs = append(errs, fmt.Errorf("NARRATOR_API_TOKENS: %w", err))
	}
	ed.API.CMSSecret, err = readSecretEnv(getenv, "NARRATOR_CMS_SECRET")
	errs = append(errs, err)
	if p := getenv("NARRATOR_PRICES"); p != "" {
		if ed.API.Prices, err = api.ParsePrices(p); err != nil {
			errs = append(errs, fmt.Errorf("NARRATOR_PRICES: %w", err))
		}
	}
	ed.API.PlayerPath = getenv("NARRATOR_PLAYER_PATH")
	if v := getenv("NARRATOR_SECURE_COOKIES"); v != "" {
		if ed.API.SecureCookies, err = strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("NARRATOR_SECURE_COOKIES %q: want true or false", v))
		}
	}
	errs = append(errs, ed.API.Validate())

	ed.Webhook.URLs = webhook.SplitURLs(getenv("NARRATOR_WEBHOOK_URLS"))
	ed.Webhook.Secret, err = readSecretEnv(getenv, "NARRATOR_WEBHOOK_SECRET")
	errs = append(errs, err, ed.Webhook.Validate())
	return ed, errors.Join(errs...)
}

// readSecretEnv reads NAME, or the file NAME_FILE names (for container
// secrets), trimmed of surrounding space.
func readSecretEnv(getenv func(string) string, name string) (string, error) {
	f := getenv(name + "_FILE")
	if f == "" {
		return getenv(name), nil
	}
	if getenv(name) != "" {
		return "", fmt.Errorf("set %s or %s_FILE, not both", name, name)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}
