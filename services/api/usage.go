package api

import (
	"context"
	"net/http"
	"time"
)

// usage is billed characters per provider, today and this month (UTC).
type usage struct {
	Day       string          `json:"day"`   // 2026-03-04
	Month     string          `json:"month"` // 2026-03
	Providers []providerUsage `json:"providers"`
}

type providerUsage struct {
	Provider   string   `json:"provider"`
	Today      int      `json:"today_chars"`
	Month      int      `json:"month_chars"`
	TodayUSD   *float64 `json:"today_usd,omitempty"`
	MonthUSD   *float64 `json:"month_usd,omitempty"`
	PerMillion *float64 `json:"usd_per_million_chars,omitempty"`
}

// usage sums the queue's billing records of this month, one record per
// request a provider billed.
func (s *Server) usage(ctx context.Context) (usage, error) {
	now := s.cfg.Now().UTC()
	u := usage{Day: now.Format(time.DateOnly), Month: now.Format("2006-01"), Providers: []providerUsage{}}
	for _, p := range s.cfg.Providers {
		pu := providerUsage{Provider: p}
		byDay, err := s.q.Jobs().Billed(ctx, p, now)
		if err != nil {
			return u, err
		}
		for _, n := range byDay {
			pu.Month += n
		}
		pu.Today = byDay[now.Day()]
		if price, ok := s.cfg.Prices[p]; ok {
			pu.TodayUSD, pu.MonthUSD, pu.PerMillion = ptr(usd(pu.Today, price)), ptr(usd(pu.Month, price)), ptr(price)
		}
		u.Providers = append(u.Providers, pu)
	}
	return u, nil
}

func (s *Server) getUsage(w http.ResponseWriter, r *http.Request, _ session) {
	u, err := s.usage(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
