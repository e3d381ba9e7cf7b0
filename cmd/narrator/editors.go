package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

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
// the sessions', sign-ins', event streams' and CMS hook's limits,
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
		// The listening check's price is a minute's, not a million characters'.
		if v, ok := ed.API.Prices[queue.ListenBilling]; ok {
			ed.API.ListenPrice = v
			delete(ed.API.Prices, queue.ListenBilling)
		}
	}
	ed.API.PlayerPath = getenv("NARRATOR_PLAYER_PATH")
	if v := getenv("NARRATOR_SECURE_COOKIES"); v != "" {
		if ed.API.SecureCookies, err = strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("NARRATOR_SECURE_COOKIES %q: want true or false", v))
		}
	}
	if v := getenv("NARRATOR_SESSION_LIFETIME"); v != "" {
		if ed.API.SessionLifetime, err = time.ParseDuration(v); err != nil {
			errs = append(errs, fmt.Errorf("NARRATOR_SESSION_LIFETIME %q: want a duration such as 12h", v))
		}
	}
	switch v := getenv("NARRATOR_SIGNIN_LIMIT"); v {
	case "":
	case "off":
		ed.API.SignInLimit = -1
	default:
		if ed.API.SignInLimit, err = strconv.Atoi(v); err != nil || ed.API.SignInLimit < 1 {
			errs = append(errs, fmt.Errorf("NARRATOR_SIGNIN_LIMIT %q: want failed sign-ins per 15 minutes (at least 1), or off", v))
		}
	}
	ed.API.ClientIPHeader = getenv("NARRATOR_CLIENT_IP_HEADER")
	if v := getenv("NARRATOR_STREAMS_PER_TOKEN"); v != "" {
		if ed.API.StreamsPerToken, err = strconv.Atoi(v); err != nil || ed.API.StreamsPerToken < 1 {
			errs = append(errs, fmt.Errorf("NARRATOR_STREAMS_PER_TOKEN %q: want a number of event streams, at least 1", v))
		}
	}
	if v := getenv("NARRATOR_CMS_MAX_BODY"); v != "" {
		if ed.API.HookMaxBody, err = parseBytes(v); err != nil {
			errs = append(errs, fmt.Errorf("NARRATOR_CMS_MAX_BODY %q: %w", v, err))
		}
	}
	if v := getenv("NARRATOR_MAX_LISTENERS"); v != "" {
		if ed.API.MaxListeners, err = strconv.Atoi(v); err != nil || ed.API.MaxListeners < 1 {
			errs = append(errs, fmt.Errorf("NARRATOR_MAX_LISTENERS %q: want a positive number of live streams", v))
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
